"""What the ledger store tests share: customers for the foreign keys, times, and raw counts."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import func, select

from loyalty.store.tables import Customer, LedgerTransaction, Lot

T0 = datetime(2026, 1, 10, 3, 0, tzinfo=timezone.utc)


def add_customer(store, customer_id: str = "c1", name: str = "Công ty TNHH An Phát") -> None:
    """A customer row, since every ledger row names one."""
    with store.transaction() as session:
        session.add(Customer(id=customer_id, name=name, segment="sme", customer_since=date(2024, 1, 1)))


def remaining_by_reference(session, customer_id: str = "c1") -> dict[str, int]:
    """Points left per award reference, over every lot of the customer."""
    rows = session.execute(
        select(Lot.reference, func.sum(Lot.remaining)).where(Lot.customer_id == customer_id)
        .group_by(Lot.reference)
    )
    return {reference: int(total) for reference, total in rows}


def transaction_count(session) -> int:
    return session.scalar(select(func.count()).select_from(LedgerTransaction))


def status_points_on_customer(session, customer_id: str = "c1") -> int:
    return session.scalar(select(Customer.status_points).where(Customer.id == customer_id))
