"""What awards give besides points: reward grants and bill credits for billing to apply,
programme memberships, goodwill waiting for marketing's approval, and the per-programme row
locked while a budget is checked.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.store.base import Base, BigInt, UTCDateTime


class RewardGrant(Base):
    """A catalogue item given free, or a goodwill bill credit; billing applies it on the next bill."""

    __tablename__ = "reward_grants"
    __table_args__ = (
        CheckConstraint("kind IN ('reward', 'bill_credit')", name="kind_known"),
        CheckConstraint("status IN ('pending', 'fulfilled', 'cancelled')", name="status_known"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount_not_negative"),
        Index("ix_reward_grants_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reward_id: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[int | None] = mapped_column(BigInt)
    """VND, for a bill credit."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Membership(Base):
    """A customer's membership of a programme (`then: programme: sme-care`), given once."""

    __tablename__ = "memberships"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    programme_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"))
    since: Mapped[date] = mapped_column(Date)


class Approval(Base):
    """A goodwill credit above its rule's `approve_above`, waiting for marketing to decide."""

    __tablename__ = "approvals"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        Index("ix_approvals_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="goodwill")
    amount: Mapped[int] = mapped_column(BigInt)
    """VND."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))


class ProgrammeBudgetLock(Base):
    """One row per programme, locked while its budget is checked so two awards cannot both fit."""

    __tablename__ = "programme_budget_locks"

    programme_id: Mapped[str] = mapped_column(String(100), primary_key=True)
