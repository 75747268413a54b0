"""Finding, creating and locking ledger accounts, in a fixed order so that writers never deadlock.

Every ledger operation locks the customer row first, then every account it touches in one
statement ordered by id (`FOR NO KEY UPDATE` on PostgreSQL, which leaves foreign-key checks
unblocked). SQLite ignores row locks; its write transactions already begin IMMEDIATE.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from loyalty.errors import UnknownCustomer
from loyalty.ledger import CUSTOMER_ACCOUNTS, AccountRef, customer_account
from loyalty.store.tables import Customer, LedgerAccount


def lock_customer(session: Session, customer_id: str) -> Customer:
    """The customer row, locked: the per-customer mutex every ledger change takes first."""
    query = (
        select(Customer).where(Customer.id == customer_id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    )
    customer = session.scalars(query).one_or_none()
    if customer is None:
        raise UnknownCustomer(customer_id)
    return customer


def customer_accounts(customer_id: str) -> list[AccountRef]:
    """The customer's available, pending and status accounts."""
    return [customer_account(customer_id, kind) for kind in CUSTOMER_ACCOUNTS]


def lock_accounts(session: Session, refs: Iterable[AccountRef]) -> dict[AccountRef, LedgerAccount]:
    """The accounts named, created if missing (race-safely) and locked in id order."""
    wanted = {ref.code: ref for ref in refs}
    rows = _select_locked(session, wanted)
    missing = [wanted[code] for code in wanted if code not in rows]
    if missing:
        _insert_missing(session, missing)
        rows = _select_locked(session, wanted)
    return {ref: rows[code] for code, ref in wanted.items()}


def _select_locked(session: Session, wanted: dict[str, AccountRef]) -> dict[str, LedgerAccount]:
    query = (
        select(LedgerAccount).where(LedgerAccount.code.in_(wanted)).order_by(LedgerAccount.id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    )
    return {row.code: row for row in session.scalars(query)}


def _insert_missing(session: Session, refs: list[AccountRef]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: a concurrent creator of the same account is not an error."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = [
        dict(code=ref.code, kind=ref.kind, currency=ref.currency,
             customer_id=ref.customer_id, balance=0)
        for ref in refs
    ]
    session.execute(insert(LedgerAccount).values(values).on_conflict_do_nothing(index_elements=["code"]))
