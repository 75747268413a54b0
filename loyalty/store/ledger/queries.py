"""Reading points for the customer view: balance, points expiring soon, and history by cursor."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from loyalty.errors import UnknownCustomer
from loyalty.ledger import (
    AVAILABLE, PENDING, STATUS_POINTS, LotState, customer_account, expiring_soon as soonest, spendable,
)
from loyalty.store.ledger.posting import load_lots
from loyalty.store.prepared import PreparedRead
from loyalty.store.tables import (
    Customer, LedgerAccount, LedgerEntry, LedgerTransaction, Lot,
)


@dataclass(frozen=True)
class Balance:
    """What the customer sees: spendable, pending and status points, and what expires soon."""

    customer_id: str
    reward_points: int
    """Spendable now: available lots not yet expired on `today`."""
    pending_points: int
    status_points: int
    expiring_soon: list[tuple[date, int]]
    vesting: list[tuple[date, int]]
    """Pending points per day they become spendable, soonest first."""


@dataclass(frozen=True)
class HistoryEntry:
    """One entry on one of the customer's accounts, with what caused it."""

    entry_id: int
    transaction_id: int
    occurred_at: datetime
    account: str
    currency: str
    points: int
    kind: str
    reference: str | None
    reason: str | None
    actor: str


@dataclass(frozen=True)
class HistoryPage:
    """Entries newest first; pass `next_before_id` back as `before_id` for the next page."""

    entries: list[HistoryEntry]
    next_before_id: int | None


def balance(session: Session, customer_id: str, today: date, within_days: int = 30) -> Balance:
    """The customer's points as of the local day `today`."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise UnknownCustomer(customer_id)
    lots = load_lots(session, customer_id, kinds=[AVAILABLE, PENDING])
    return summarise(customer_id, lots, _status_points(session, customer_id), today, within_days)


def summarise(customer_id: str, lots: list[LotState], status_points: int, today: date,
              within_days: int = 30) -> Balance:
    """The balance from the customer's held available and pending lots, on the local day `today`."""
    pending = [lot for lot in lots if lot.account == PENDING and not lot.is_due_to_expire(today)]
    vesting: dict[date, int] = {}
    for lot in pending:
        vesting[lot.vests_on] = vesting.get(lot.vests_on, 0) + lot.remaining
    return Balance(
        customer_id=customer_id,
        reward_points=sum(lot.remaining for lot in spendable(lots, today)),
        pending_points=sum(lot.remaining for lot in pending),
        status_points=status_points,
        expiring_soon=soonest(lots, today, within_days),
        vesting=sorted(vesting.items()),
    )


@dataclass(frozen=True)
class HeldPoints:
    """A customer as the balance shows them: their zone and tier, status points, held lots."""

    time_zone: str | None
    tier: str | None
    status_points: int
    lots: list[LotState]
    """Available and pending lots with points left, in id order."""


def _held_points_statement():
    customers, lots, accounts = Customer.__table__, Lot.__table__, LedgerAccount.__table__
    status = accounts.alias("status_account")
    status_points = select(status.c.balance).where(status.c.code == bindparam("status_code")).scalar_subquery()
    # customer -> its available and pending accounts -> their held lots: each step an index lookup
    held = (
        customers
        .outerjoin(accounts, and_(accounts.c.customer_id == customers.c.id,
                                  or_(accounts.c.kind == AVAILABLE, accounts.c.kind == PENDING)))
        .outerjoin(lots, and_(lots.c.account_id == accounts.c.id, lots.c.remaining > 0))
    )
    return (
        select(customers.c.time_zone, customers.c.tier, status_points, lots.c.id, accounts.c.kind,
               lots.c.amount, lots.c.remaining, lots.c.earned_at, lots.c.expires_on, lots.c.vests_on)
        .select_from(held)
        .where(customers.c.id == bindparam("customer_id"))
        .order_by(lots.c.id)
    )


_HELD_POINTS = PreparedRead(_held_points_statement())
"""Built once: building a statement costs more than running this one."""


def held_points(engine: Engine, customer_id: str) -> HeldPoints:
    """The customer's zone, tier, status points and held lots in one statement, one snapshot."""
    rows = _HELD_POINTS.rows(engine, {
        "customer_id": customer_id, "status_code": customer_account(customer_id, STATUS_POINTS).code,
    })
    if not rows:
        raise UnknownCustomer(customer_id)
    time_zone, tier, status_points = rows[0][:3]
    lots = [LotState(id=row[3], account=row[4], amount=row[5], remaining=row[6], earned_at=row[7],
                     expires_on=row[8], vests_on=row[9]) for row in rows if row[3] is not None]
    return HeldPoints(time_zone, tier, status_points or 0, lots)


def expiring_soon(
    session: Session, customer_id: str, today: date, within_days: int = 30,
) -> list[tuple[date, int]]:
    """Spendable points that will be gone within `within_days`, per expiry day, soonest first."""
    return soonest(load_lots(session, customer_id, kinds=[AVAILABLE]), today, within_days)


def _status_points(session: Session, customer_id: str) -> int:
    code = f"customer:{customer_id}:status"
    return session.scalar(select(LedgerAccount.balance).where(LedgerAccount.code == code)) or 0


def history(
    session: Session, customer_id: str, limit: int = 50, before_id: int | None = None,
) -> HistoryPage:
    """The customer's ledger entries newest first, `limit` at a time, by keyset on the entry id."""
    query = (
        select(LedgerEntry.id, LedgerEntry.transaction_id, LedgerTransaction.occurred_at,
               LedgerAccount.kind, LedgerAccount.currency, LedgerEntry.amount,
               LedgerTransaction.kind, LedgerTransaction.reference, LedgerTransaction.reason,
               LedgerTransaction.actor)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerAccount.customer_id == customer_id)
        .order_by(LedgerEntry.id.desc()).limit(limit + 1)
    )
    if before_id is not None:
        query = query.where(LedgerEntry.id < before_id)
    rows = [HistoryEntry(*row) for row in session.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return HistoryPage(rows, rows[-1].entry_id if more and rows else None)


@dataclass(frozen=True)
class Summary:
    """How big the ledger is, for `loyalty ledger verify`."""

    transactions: int
    entries: int
    accounts: int
    lots: int


def summary(session: Session) -> Summary:
    """Counts of transactions, entries, accounts and lots."""
    count = lambda table: session.scalar(select(func.count()).select_from(table)) or 0  # noqa: E731
    return Summary(count(LedgerTransaction), count(LedgerEntry), count(LedgerAccount), count(Lot))
