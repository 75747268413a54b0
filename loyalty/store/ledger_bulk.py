"""`earn` for many customers at once: the nightly run's awards, written in a few statements.

It writes exactly the rows `loyalty.store.ledger.earn` would write for each award, one after the
other: the customer accounts it credits and the issuance accounts (created on demand), one `earn`
transaction per award, its entries in account-id order, the balances, one lot per currency with
its first allocation and the mirrored status points; as `earn` for an award, no `ledger.earn` audit
row (the caller writes the award's, which stands for it: decision 30). The plans come
from `loyalty.ledger.plan_earn` and are checked as `write_plan` checks them, once per kind of
earning (`_Shape`); a test compares the two paths row for row. Customers are locked in id order before any account, as `earn` does.

Ids are reserved up front only for rows that others name (transactions, new accounts, lots); entries
and allocations take the table's next ids in the order written, as `earn`'s own inserts do.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.ledger import (
    CUSTOMER_ACCOUNTS, ISSUANCE, REWARD, STATUS, STATUS_POINTS, AccountRef, customer_account,
    plan_earn, system_account,
)
from loyalty.store.bulk import insert_rows
from loyalty.store.bulk_rows import one_of, reserve_ids, stored_date, stored_time, update_rows
from loyalty.store.ledger.accounts import lock_accounts
from loyalty.store.ledger.operations import earning_accounts
from loyalty.store.tables import (
    Customer, LedgerAccount, LedgerEntry, LedgerTransaction, Lot, LotAllocation,
)

BATCH = 5_000
"""Host parameters per IN list: well under SQLite's limit."""


@dataclass(frozen=True)
class Earning:
    """One award's points, as `earn` takes them."""

    customer_id: str
    reference: str
    points: int = 0
    status_points: int = 0
    programme: str | None = None
    expires_on: date | None = None
    vests_on: date | None = None
    reason: str | None = None
    ruleset_version: str | None = None


def earn_many(session: Session, earnings: Sequence[Earning], *, occurred_at: datetime, actor: str) -> int:
    """Post every earning as its own `earn` transaction; returns how many were posted."""
    if not earnings:
        return 0
    shapes: dict[tuple, _Shape] = {}
    shaped = [(e, shapes.get(_shape_key(e)) or shapes.setdefault(_shape_key(e), _Shape.of(e, occurred_at)))
              for e in earnings]
    lock_customers(session, sorted({e.customer_id for e in earnings}))
    accounts, missing = _accounts(session, shaped)
    ids = reserve_ids(session, LedgerTransaction.__table__, len(earnings))
    at = stored_time(session, occurred_at)
    insert_rows(session, LedgerTransaction.__table__,
                ("id", "kind", "customer_id", "occurred_at", "reference", "reason", "actor", "ruleset_version",
                 "shortfall"),
                [(i, "earn", e.customer_id, at, e.reference, e.reason, actor, e.ruleset_version, 0)
                 for i, e in zip(ids, earnings)])
    _insert_entries(session, shaped, ids, accounts, missing)
    _insert_lots(session, shaped, ids, accounts, at)
    _mirror_status_points(session, shaped)
    return len(earnings)


def _shape_key(e: Earning) -> tuple:
    return e.points, e.status_points, e.expires_on, e.vests_on


@dataclass(frozen=True)
class _Shape:
    """What `plan_earn` plans for one kind of earning, whoever earns it: a night gives a few kinds to
    many customers, so each kind is planned and checked once, and only the names change per customer.

    `entries` are (customer account kind or None, system account code or None, amount), `lots` are
    (customer account kind, amount, expires_on, vests_on), `credited` the kinds of the customer
    accounts `earn` locks for it, created if missing (`earning_accounts`).
    """

    entries: tuple[tuple[str | None, str | None, int], ...]
    lots: tuple[tuple[str, int, date | None, date | None], ...]
    status_points: int
    credited: tuple[str, ...]

    @classmethod
    def of(cls, earning: Earning, occurred_at: datetime) -> _Shape:
        anyone = "\x00"  # a customer id no customer has: the plan's accounts name it only
        plan = plan_earn(anyone, points=earning.points, status_points=earning.status_points,
                         earned_at=occurred_at, expires_on=earning.expires_on, vests_on=earning.vests_on)
        plan.check()
        entries = tuple((ref.kind if ref.customer_id is not None else None,
                         ref.code if ref.customer_id is None else None, amount)
                        for ref, amount in plan.nonzero_entries())
        lots = tuple((lot.account.kind, lot.amount, lot.expires_on, lot.vests_on) for lot in plan.new_lots)
        credited = tuple(ref.kind for ref in earning_accounts(plan) if ref.customer_id is not None)
        return cls(entries, lots, plan.points(STATUS_POINTS), credited)


def lock_customers(session: Session, customer_ids: list[str]) -> None:
    """Lock the customers' rows in id order: the per-customer mutex every ledger change takes first.

    SQLite has no row locks (it would ignore FOR UPDATE): its writer already holds the whole
    database (BEGIN IMMEDIATE), so there is nothing to take and the reads are skipped.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    for start in range(0, len(customer_ids), BATCH):
        batch = customer_ids[start:start + BATCH]
        session.execute(select(Customer.id).where(one_of(session, Customer.id, batch)).order_by(Customer.id)
                        .with_for_update(key_share=True)).all()


def _accounts(session: Session, shaped: list[tuple[Earning, _Shape]]) -> tuple[dict[str, int], list[AccountRef]]:
    """Account code -> id for every account `earn` locks: the customer accounts each earning credits
    (`_Shape.credited`) and both issuance accounts; and the customer accounts still to be created,
    whose ids are reserved here. They are inserted with the entries (`_insert_entries`), already
    holding their first balance: inserting them empty and updating them at once wrote each row twice
    (on PostgreSQL, a second version and its index entries)."""
    system = lock_accounts(session, [system_account(ISSUANCE, REWARD), system_account(ISSUANCE, STATUS)])
    ids = {ref.code: row.id for ref, row in system.items()}
    credited: dict[str, set[str]] = defaultdict(set)
    for earning, shape in shaped:
        credited[earning.customer_id].update(shape.credited)
    customer_ids = sorted(credited)
    found = _ids_by_customer(session, customer_ids)
    missing = [ref for c in customer_ids for kind in CUSTOMER_ACCOUNTS if kind in credited[c]
               if (ref := customer_account(c, kind)).code not in found]
    found.update({r.code: i for i, r in zip(reserve_ids(session, LedgerAccount.__table__, len(missing)), missing)})
    ids.update(found)
    return ids, missing


def _ids_by_customer(session: Session, customer_ids: list[str]) -> dict[str, int]:
    """Code -> id of every account these customers have (by customer: a third of the keys of by code)."""
    found: dict[str, int] = {}
    for start in range(0, len(customer_ids), BATCH):
        batch = customer_ids[start:start + BATCH]
        query = select(LedgerAccount.code, LedgerAccount.id).where(one_of(session, LedgerAccount.customer_id, batch))
        found.update(dict(session.execute(query).all()))
    return found


def _insert_entries(session, shaped: list[tuple[Earning, _Shape]], ids: list[int], accounts: dict[str, int],
                    new_accounts: list[AccountRef]) -> None:
    """The entries, and the balances they move: new accounts are inserted holding theirs."""
    rows, moves = [], defaultdict(int)
    for (earning, shape), transaction_id in zip(shaped, ids):
        lines = sorted((accounts[_code(earning.customer_id, kind) if kind else system], amount)
                       for kind, system, amount in shape.entries)
        for account_id, amount in lines:
            rows.append((transaction_id, account_id, amount))
            moves[account_id] += amount
    if new_accounts:
        insert_rows(session, LedgerAccount.__table__, ("id", "code", "kind", "currency", "customer_id", "balance"),
                    [(accounts[r.code], r.code, r.kind, r.currency, r.customer_id, moves.pop(accounts[r.code], 0))
                     for r in new_accounts])
    insert_rows(session, LedgerEntry.__table__, ("transaction_id", "account_id", "amount"), rows)
    update_rows(session, LedgerAccount.__table__, "balance", sorted(moves.items()), add=True)


def _code(customer_id: str, kind: str) -> str:
    """`customer_account(customer_id, kind).code`, without building the reference."""
    return f"customer:{customer_id}:{kind}"


def _insert_lots(session, shaped: list[tuple[Earning, _Shape]], ids: list[int], accounts: dict[str, int],
                 at: str) -> None:
    """Each earning's new lots, and the first allocation of each (its whole amount)."""
    new = [(transaction_id, earning, lot) for (earning, shape), transaction_id in zip(shaped, ids)
           for lot in shape.lots]
    lot_ids = reserve_ids(session, Lot.__table__, len(new))
    insert_rows(session, Lot.__table__,
                ("id", "customer_id", "account_id", "amount", "remaining", "earned_at", "expires_on", "vests_on",
                 "programme", "reference", "created_by_id"),
                [(i, e.customer_id, accounts[_code(e.customer_id, kind)], amount, amount, at, stored_date(expires_on),
                  stored_date(vests_on), e.programme, e.reference, transaction_id)
                 for i, (transaction_id, e, (kind, amount, expires_on, vests_on)) in zip(lot_ids, new)])
    insert_rows(session, LotAllocation.__table__, ("transaction_id", "lot_id", "amount"),
                [(transaction_id, i, lot[1]) for i, (transaction_id, _e, lot) in zip(lot_ids, new)])


def _mirror_status_points(session, shaped: list[tuple[Earning, _Shape]]) -> None:
    changes: dict[str, int] = defaultdict(int)
    for earning, shape in shaped:
        if shape.status_points:
            changes[earning.customer_id] += shape.status_points
    update_rows(session, Customer.__table__, "status_points", sorted(changes.items()), add=True)
