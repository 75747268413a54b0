"""Redemptions: a customer spent points on a reward; billing fulfils it on the next bill, or it is cancelled.

`UNIQUE(customer_id, idempotency_key)` is what makes a retried POST spend nothing twice: the row is
inserted first, with `INSERT ... ON CONFLICT DO NOTHING`, and whoever inserts it owns the request.
`request_hash` tells a retry (same body) from a different request reusing the key.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.store.base import Base, BigInt, UTCDateTime

PENDING, FULFILLED, CANCELLED = "pending", "fulfilled", "cancelled"
REDEMPTION_STATUSES = (PENDING, FULFILLED, CANCELLED)


class Redemption(Base):
    __tablename__ = "redemptions"
    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key"),
        CheckConstraint("status IN ('pending', 'fulfilled', 'cancelled')", name="status_known"),
        CheckConstraint("points >= 0", name="points_not_negative"),
        CheckConstraint("(status = 'pending') = (settled_at IS NULL)", name="settled_unless_pending"),
        Index("ix_redemptions_status_created", "status", "created_at", "id"),
        Index("ix_redemptions_customer_reward", "customer_id", "reward_id"),
        Index("ix_redemptions_customer_created", "customer_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    reward_id: Mapped[str] = mapped_column(ForeignKey("rewards.id"))
    points: Mapped[int] = mapped_column(BigInt)
    """What the reward cost when redeemed; a later price change does not touch it."""
    value: Mapped[int | None] = mapped_column(BigInt)
    """The face value in VND when redeemed (a bill credit's amount): what billing applies."""
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the request's canonical JSON."""
    spend_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    """The ledger spend; set in the same transaction that inserts the row, refunded on cancel."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_by: Mapped[str | None] = mapped_column(String(100))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
