"""Writing a `loyalty.ledger.Plan`: the transaction, its entries, balances, lots, allocations, audit.

All in the caller's session, so that an award or a redemption and its postings commit together.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

from functools import lru_cache

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from loyalty.ledger import (
    AVAILABLE, PENDING, STATUS_POINTS, AccountRef, LotState, Plan,
)
from loyalty.store.audit import record_now
from loyalty.store.driver import DriverStatement
from loyalty.store.ledger.accounts import LockedAccount
from loyalty.store.ledger.posting_one import fits_one_statement, write_in_one_statement
from loyalty.store.tables import (
    Customer, LedgerAccount, LedgerEntry, LedgerTransaction, Lot, LotAllocation,
)


_TRANSACTIONS, _LOTS = LedgerTransaction.__table__, Lot.__table__
INSERT_TRANSACTION = DriverStatement(insert(_TRANSACTIONS).returning(_TRANSACTIONS.c.id))
INSERT_ENTRIES = DriverStatement(insert(LedgerEntry.__table__))
INSERT_LOT = DriverStatement(insert(_LOTS).returning(_LOTS.c.id))
INSERT_LOTS = insert(_LOTS).returning(_LOTS.c.id, sort_by_parameter_order=True)
INSERT_ALLOCATIONS = DriverStatement(insert(LotAllocation.__table__))
"""Built once, values passed as parameters: building a statement cost more than running it, and
running it through SQLAlchemy's execution path more than the database took (`DriverStatement`)."""

@dataclass(frozen=True)
class Posted:
    """What one ledger transaction did to the customer's three accounts."""

    transaction_id: int
    kind: str
    customer_id: str
    points: int
    """Net change to the spendable reward points."""
    pending_points: int
    status_points: int
    shortfall: int = 0
    lot_ids: tuple[int, ...] = ()
    """The lots this transaction created."""
    follow_ups: tuple["Posted", ...] = ()
    """Postings made at once because of this one (a refund into an expired lot expires it)."""


@dataclass(frozen=True)
class Why:
    """Who made a change, when and why: written on the transaction and in the audit log."""

    occurred_at: datetime
    actor: str
    reason: str | None = None
    ruleset_version: str | None = None


def write_plan(
    session: Session, plan: Plan, accounts: dict[AccountRef, LockedAccount], why: Why, *,
    effective_on: date | None = None, reverses_id: int | None = None, audited_as: dict | None = None,
) -> Posted:
    """Insert the plan's transaction and move every running total with it: on PostgreSQL in one
    statement where the plan allows (`posting_one`), else statement by statement.

    `audited_as`: `record_now`'s arguments for the audit row of the change the posting is part of (the
    award that earned the points), written instead of the posting's own `ledger.<kind>` row: the
    award's row says who, what, when, why and under which ruleset, and the transaction's reference
    names the award (decision 30)."""
    plan.check()
    transaction = dict(
        kind=plan.kind, customer_id=plan.customer_id, occurred_at=why.occurred_at,
        effective_on=effective_on, reference=plan.reference, reason=why.reason,
        actor=why.actor, ruleset_version=why.ruleset_version, reverses_id=reverses_id,
        shortfall=plan.shortfall,
    )
    if session.get_bind().dialect.name == "postgresql" and fits_one_statement(plan):
        account_ids = {ref: accounts[ref].id for ref in plan.entries}
        session.flush()  # as record_now does: pending audit rows keep ids before this one's
        transaction_id, lot_ids = write_in_one_statement(session, plan, account_ids, transaction,
                                                         audited_as or _audit_row(plan, why), audited_as is None)
        if plan.points(STATUS_POINTS):
            _expire_status_points(session, plan.customer_id)
    else:
        transaction_id = INSERT_TRANSACTION.execute(session, transaction)[0][0]
        _write_entries(session, transaction_id, plan, accounts)
        lot_ids = tuple(_write_lots(session, transaction_id, plan, accounts))
        revoke_lots(session, plan.revoke_lot_ids, why.occurred_at)
        _mirror_status_points(session, plan)
        if audited_as is None:
            record_now(session, **_audit_row(plan, why), subject_id=transaction_id)
        else:
            record_now(session, **audited_as)
    return Posted(
        transaction_id, plan.kind, plan.customer_id, plan.points(AVAILABLE), plan.points(PENDING),
        plan.points(STATUS_POINTS), plan.shortfall, lot_ids,
    )


def _write_entries(session: Session, transaction_id: int, plan: Plan, accounts) -> None:
    """One executemany for the entries, one UPDATE for every balance (the rows are already locked)."""
    moves = {accounts[ref].id: amount for ref, amount in plan.nonzero_entries()}
    INSERT_ENTRIES.execute_many(
        session, [dict(transaction_id=transaction_id, account_id=i, amount=n) for i, n in sorted(moves.items())],
    )
    _add_to(session, LedgerAccount.__table__, "balance", moves)


def _add_to(session: Session, table: Table, column: str, changes: dict[int, int]) -> None:
    """`column += change` for each row id, in id order: one prebuilt statement, executed for many rows."""
    rows = [{"row_id": i, "change": n} for i, n in sorted(changes.items()) if n]
    if rows:
        _add_statement(table, column).execute_many(session, rows)


@lru_cache(maxsize=None)
def _add_statement(table: Table, column: str) -> DriverStatement:
    target = table.c[column]
    return DriverStatement(
        update(table).where(table.c.id == bindparam("row_id")).values({column: target + bindparam("change")}))


def _write_lots(session: Session, transaction_id: int, plan: Plan, accounts) -> list[int]:
    created: list[int] = []
    if plan.new_lots:
        rows = [
            dict(customer_id=plan.customer_id, account_id=accounts[new.account].id,
                 amount=new.amount, remaining=new.amount, earned_at=new.earned_at,
                 expires_on=new.expires_on, vests_on=new.vests_on, programme=new.programme,
                 reference=new.reference, created_by_id=transaction_id,
                 origin_lot_id=new.origin_lot_id)
            for new in plan.new_lots
        ]
        if len(rows) == 1:  # an earning: one lot
            created = [INSERT_LOT.execute(session, rows[0])[0][0]]
        else:
            created = list(session.scalars(INSERT_LOTS, rows))
    _add_to(session, Lot.__table__, "remaining", plan.lot_changes())
    moves = list(zip(created, (new.amount for new in plan.new_lots)))
    moves += [(lot_id, delta) for lot_id, _kind, delta in plan.allocations if delta]
    INSERT_ALLOCATIONS.execute_many(
        session, [dict(transaction_id=transaction_id, lot_id=lot_id, amount=delta) for lot_id, delta in moves],
    )
    return created


def revoke_lots(session: Session, lot_ids: list[int], when: datetime) -> None:
    """Mark lots as taken back: points refunded into them later leave again at once."""
    if lot_ids:
        session.execute(
            update(Lot).where(Lot.id.in_(lot_ids), Lot.revoked_at.is_(None)).values(revoked_at=when)
            .execution_options(synchronize_session=False)
        )


def _mirror_status_points(session: Session, plan: Plan) -> None:
    """Customer.status_points is what the batch rule path reads; it moves with the status account."""
    change = plan.points(STATUS_POINTS)
    if change:
        session.execute(
            update(Customer).where(Customer.id == plan.customer_id)
            .values(status_points=Customer.status_points + change)
            .execution_options(synchronize_session=False)
        )
        _expire_status_points(session, plan.customer_id)


def _expire_status_points(session: Session, customer_id: str) -> None:
    """A customer row this session holds must not show the old figure."""
    loaded = session.identity_map.get(session.identity_key(Customer, customer_id))
    if loaded is not None:
        session.expire(loaded, ["status_points"])


def _audit_row(plan: Plan, why: Why) -> dict:
    """The audit row of a posting, but its subject: the transaction's id, not known yet."""
    details = {"points": plan.points(AVAILABLE), "pending_points": plan.points(PENDING),
               "status_points": plan.points(STATUS_POINTS), "reference": plan.reference}
    if plan.shortfall:
        details["shortfall"] = plan.shortfall
    return dict(actor=why.actor, action=f"ledger.{plan.kind}", subject_type="ledger_transaction",
                occurred_at=why.occurred_at, customer_id=plan.customer_id, reason=why.reason,
                ruleset_version=why.ruleset_version, details=details)


def load_lots(
    session: Session, customer_id: str, *, kinds: Iterable[str] | None = None,
    references: Iterable[str] | None = None, held_only: bool = True, ids: Iterable[int] | None = None,
) -> list[LotState]:
    """The customer's lots as plain values; read after the accounts are locked."""
    query = (
        select(Lot, LedgerAccount.kind).join(LedgerAccount, LedgerAccount.id == Lot.account_id)
        .where(Lot.customer_id == customer_id).order_by(Lot.id)
        .execution_options(populate_existing=True)
    )
    if kinds is not None:
        query = query.where(LedgerAccount.kind.in_(list(kinds)))
    if references is not None:
        query = query.where(Lot.reference.in_(list(references)))
    if ids is not None:
        query = query.where(Lot.id.in_(list(ids)))
    if held_only:
        query = query.where(Lot.remaining > 0)
    return [_state(lot, kind) for lot, kind in session.execute(query)]


def _state(lot: Lot, kind: str) -> LotState:
    return LotState(
        id=lot.id, account=kind, amount=lot.amount, remaining=lot.remaining,
        earned_at=lot.earned_at, expires_on=lot.expires_on, vests_on=lot.vests_on,
        reference=lot.reference, programme=lot.programme, origin_lot_id=lot.origin_lot_id,
        revoked=lot.revoked_at is not None,
    )
