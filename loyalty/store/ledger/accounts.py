"""Finding, creating and locking ledger accounts, in a fixed order so that writers never deadlock.

Every ledger operation locks the customer row first, then every account it touches in one
statement ordered by id (`FOR NO KEY UPDATE` on PostgreSQL, which leaves foreign-key checks
unblocked). SQLite ignores row locks; its write transactions already begin IMMEDIATE.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from loyalty.errors import UnknownCustomer
from loyalty.ledger import CUSTOMER_ACCOUNTS, AccountRef, customer_account
from loyalty.store.driver import DriverStatement
from loyalty.store.tables import Customer, LedgerAccount

ACCOUNTS = LedgerAccount.__table__
LOCK_CUSTOMER = (
    select(Customer).where(Customer.id == bindparam("customer_id"))
    .with_for_update(key_share=True).execution_options(populate_existing=True)
)
LOCK_CUSTOMER_ROW = (
    select(Customer.__table__.c.id).where(Customer.__table__.c.id == bindparam("customer_id"))
    .with_for_update(key_share=True)
)
INSERT_MISSING = {
    dialect: DriverStatement(insert(ACCOUNTS).on_conflict_do_nothing(index_elements=["code"]))
    for dialect, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}
"""Statements built once: building one cost more than running it, and every posting runs these (a
customer's first posting creates its accounts: at driver level, 0.03 ms less on SQLite)."""


class LockedAccount(NamedTuple):
    """An account's row as locked: its balance is the one the posting starts from."""

    id: int
    code: str
    kind: str
    currency: str
    customer_id: str | None
    balance: int


@lru_cache(maxsize=16)
def _select_locked_statement(codes: int) -> DriverStatement:
    """The accounts of `codes` codes, locked in id order: one statement per number of codes, at driver
    level (SQLAlchemy's execution path cost a posting's lookup about 0.1 ms more)."""
    return DriverStatement(
        select(*(ACCOUNTS.c[name] for name in LockedAccount._fields))
        .where(ACCOUNTS.c.code.in_([bindparam(f"code{i}", type_=ACCOUNTS.c.code.type) for i in range(codes)]))
        .order_by(ACCOUNTS.c.id).with_for_update(key_share=True)
    )


def lock_customer(session: Session, customer_id: str) -> Customer:
    """The customer row, locked: the per-customer mutex every ledger change takes first."""
    customer = session.scalars(LOCK_CUSTOMER, {"customer_id": customer_id}).one_or_none()
    if customer is None:
        raise UnknownCustomer(customer_id)
    return customer


def lock_customer_row(session: Session, customer_id: str) -> None:
    """`lock_customer` for a caller that needs the lock, not the row: no ORM object is loaded."""
    if session.execute(LOCK_CUSTOMER_ROW, {"customer_id": customer_id}).first() is None:
        raise UnknownCustomer(customer_id)


def customer_accounts(customer_id: str) -> list[AccountRef]:
    """The customer's available, pending and status accounts."""
    return [customer_account(customer_id, kind) for kind in CUSTOMER_ACCOUNTS]


def lock_accounts(session: Session, refs: Iterable[AccountRef]) -> dict[AccountRef, LockedAccount]:
    """The accounts named (id, code, kind, currency, customer_id, balance as locked), created if missing
    (race-safely) and locked in id order."""
    wanted = {ref.code: ref for ref in refs}
    rows = _select_locked(session, wanted)
    missing = [wanted[code] for code in wanted if code not in rows]
    if missing:
        _insert_missing(session, missing)
        rows = _select_locked(session, wanted)
    return {ref: rows[code] for code, ref in wanted.items()}


def _select_locked(session: Session, wanted: dict[str, AccountRef]) -> dict[str, LockedAccount]:
    session.flush()  # the statement goes past the ORM: rows it has not sent yet (the customer) first
    statement = _select_locked_statement(len(wanted))
    rows = statement.execute(session, {f"code{i}": code for i, code in enumerate(wanted)})
    return {row[1]: LockedAccount(*row) for row in rows}


def _insert_missing(session: Session, refs: list[AccountRef]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: a concurrent creator of the same account is not an error."""
    values = [
        dict(code=ref.code, kind=ref.kind, currency=ref.currency,
             customer_id=ref.customer_id, balance=0)
        for ref in refs
    ]
    INSERT_MISSING[session.get_bind().dialect.name].execute_many(session, values)
