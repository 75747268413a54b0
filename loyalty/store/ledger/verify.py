"""The ledger's invariants, checked with set-based SQL so that a million entries take seconds.

Each check is one GROUP BY query returning the offending ids; an empty list means the ledger
agrees with itself: balanced transactions, balances equal to their entries and to their lots,
lots equal to their allocations, allocations matching the entries, nothing negative.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Select, and_, func, literal, select, union_all
from sqlalchemy.orm import Session

from loyalty.store.tables import (
    Customer, LedgerAccount, LedgerEntry, LedgerTransaction, Lot, LotAllocation,
)

SHOWN = 100
"""Offending ids listed per check; the count says how many there are in all."""


@dataclass(frozen=True)
class Problem:
    """One invariant that does not hold, and the ids (of the named table) that break it."""

    check: str
    table: str
    ids: tuple
    count: int

    def __str__(self) -> str:
        more = f" (first {len(self.ids)})" if self.count > len(self.ids) else ""
        shown = ", ".join(str(i) for i in self.ids)
        return f"{self.check}: {self.count} {self.table}{more}: {shown}"


def _unbalanced_transactions() -> Select:
    return (
        select(LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .group_by(LedgerEntry.transaction_id, LedgerAccount.currency)
        .having(func.sum(LedgerEntry.amount) != 0)
    )


def _transactions_with_too_few_entries() -> Select:
    return (
        select(LedgerTransaction.id)
        .outerjoin(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .group_by(LedgerTransaction.id).having(func.count(LedgerEntry.id) < 2)
    )


def _balances_not_their_entries() -> Select:
    sums = (
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount).label("total"))
        .group_by(LedgerEntry.account_id).subquery()
    )
    return (
        select(LedgerAccount.id).outerjoin(sums, sums.c.account_id == LedgerAccount.id)
        .where(LedgerAccount.balance != func.coalesce(sums.c.total, 0))
    )


def _negative_customer_balances() -> Select:
    return select(LedgerAccount.id).where(
        LedgerAccount.customer_id.is_not(None), LedgerAccount.balance < 0
    )


def _balances_not_their_lots() -> Select:
    held = (
        select(Lot.account_id, func.sum(Lot.remaining).label("held"))
        .group_by(Lot.account_id).subquery()
    )
    return (
        select(LedgerAccount.id).outerjoin(held, held.c.account_id == LedgerAccount.id)
        .where(LedgerAccount.customer_id.is_not(None),
               LedgerAccount.balance != func.coalesce(held.c.held, 0))
    )


def _lots_not_their_allocations() -> Select:
    moved = (
        select(LotAllocation.lot_id, func.sum(LotAllocation.amount).label("moved"))
        .group_by(LotAllocation.lot_id).subquery()
    )
    return (
        select(Lot.id).outerjoin(moved, moved.c.lot_id == Lot.id)
        .where((Lot.remaining != func.coalesce(moved.c.moved, 0))
               | (Lot.remaining < 0) | (Lot.remaining > Lot.amount))
    )


def _allocations_not_their_entries() -> Select:
    """Per transaction and customer account, the lots must move exactly what the entries say."""
    entries = (
        select(LedgerEntry.transaction_id.label("tx"), LedgerEntry.account_id.label("account"),
               LedgerEntry.amount.label("amount"))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.customer_id.is_not(None))
    )
    allocations = (
        select(LotAllocation.transaction_id, Lot.account_id, -LotAllocation.amount)
        .join(Lot, Lot.id == LotAllocation.lot_id)
    )
    both = union_all(entries, allocations).subquery()
    return (
        select(both.c.tx).group_by(both.c.tx, both.c.account)
        .having(func.sum(both.c.amount) != 0)
    )


def _status_points_not_mirrored() -> Select:
    return (
        select(Customer.id)
        .outerjoin(LedgerAccount, and_(LedgerAccount.customer_id == Customer.id,
                                       LedgerAccount.kind == literal("status")))
        .where(Customer.status_points != func.coalesce(LedgerAccount.balance, 0))
    )


CHECKS: tuple[tuple[str, str, Callable[[], Select]], ...] = (
    ("transactions whose entries do not sum to zero", "transactions", _unbalanced_transactions),
    ("transactions with fewer than two entries", "transactions", _transactions_with_too_few_entries),
    ("balances that differ from the sum of their entries", "accounts", _balances_not_their_entries),
    ("negative customer balances", "accounts", _negative_customer_balances),
    ("balances that differ from the points left in their lots", "accounts", _balances_not_their_lots),
    ("lots whose remaining differs from their allocations", "lots", _lots_not_their_allocations),
    ("transactions whose lot allocations differ from their entries", "transactions",
     _allocations_not_their_entries),
    ("customers whose status points differ from their status account", "customers",
     _status_points_not_mirrored),
)


def verify(session: Session) -> list[Problem]:
    """Every invariant that does not hold, with the offending ids; empty when the ledger is sound."""
    problems = []
    for check, table, build in CHECKS:
        offending = build().subquery()
        count = session.scalar(select(func.count()).select_from(offending)) or 0
        if count:
            column = offending.c[0]
            ids = session.scalars(select(column).distinct().order_by(column).limit(SHOWN)).all()
            problems.append(Problem(check, table, tuple(ids), count))
    return problems
