"""The points ledger: accounts with their balance, append-only transactions and entries, lots, allocations.

Entries and allocations are only ever inserted. Account balances and lot `remaining` are running
totals kept in the same transaction as the entries that move them; `loyalty.store.ledger.verify`
proves them equal to the sums they summarise. See `loyalty.ledger` for the words.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.ledger import REFERENCED_ONCE
from loyalty.store.base import Base, BigInt, UTCDateTime

_ONCE = "kind IN ({})".format(", ".join(f"'{k}'" for k in REFERENCED_ONCE))


class LedgerAccount(Base):
    """A customer's account (available, pending, status) or one of the programme's accounts."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("customer_id IS NULL OR balance >= 0", name="customer_balance_not_negative"),
        CheckConstraint("currency IN ('reward', 'status')", name="currency_known"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(8))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    balance: Mapped[int] = mapped_column(BigInt, default=0)


class LedgerTransaction(Base):
    """One change to points: who, why, when; its entries sum to zero per currency."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (
        Index(
            "uq_ledger_transactions_once", "customer_id", "kind", "reference", unique=True,
            sqlite_where=text(_ONCE), postgresql_where=text(_ONCE),
        ),
        CheckConstraint("shortfall >= 0", name="shortfall_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    effective_on: Mapped[date | None] = mapped_column(Date)
    """The local day an expiry or vesting run was for."""
    reference: Mapped[str | None] = mapped_column(String(200))
    """What caused it: an award id, a redemption id, a contract id."""
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    ruleset_version: Mapped[str | None] = mapped_column(String(64))
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_transactions.id"), unique=True
    )
    """The transaction this one reverses or refunds; unique, so nothing is given back twice."""
    shortfall: Mapped[int] = mapped_column(BigInt, default=0)
    """For a void or clawback: points earned under the reference that were no longer held."""


class LedgerEntry(Base):
    """One side of a transaction: a signed amount on one account. Never updated, never deleted."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_ledger_entries_account_newest", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInt)


class Lot(Base):
    """Points earned together, held in one customer account until spent, expired or taken back."""

    __tablename__ = "ledger_lots"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
        Index("ix_ledger_lots_holding", "account_id", "remaining"),
        Index("ix_ledger_lots_reference", "customer_id", "reference"),
        Index("ix_ledger_lots_due", "expires_on", "remaining"),
        # only pending points vest: the other lots (nearly all) need no entry here
        Index("ix_ledger_lots_vesting", "vests_on", "remaining",
              sqlite_where=text("vests_on IS NOT NULL"), postgresql_where=text("vests_on IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInt)
    remaining: Mapped[int] = mapped_column(BigInt)
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_on: Mapped[date | None] = mapped_column(Date)
    """The first local day the points are gone."""
    vests_on: Mapped[date | None] = mapped_column(Date)
    """The first local day pending points can be spent."""
    programme: Mapped[str | None] = mapped_column(String(100))
    reference: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    origin_lot_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_lots.id"))
    """For a vested lot: the pending lot it came from."""
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Set by a void or clawback: points refunded into the lot later are taken back at once."""


class LotAllocation(Base):
    """How much one transaction changed one lot's `remaining` (negative: consumed)."""

    __tablename__ = "ledger_allocations"
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("ledger_lots.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInt)
