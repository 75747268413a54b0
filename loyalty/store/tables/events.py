"""Billing's events, recorded once each, and the awards the rules gave for them.

The event id is the primary key: a second delivery of the same event finds the first one's row
(and its stored result) instead of being applied again. `UNIQUE(customer_id, rule_id, once_key)`
on awards makes `once_per` a database guarantee rather than a read-then-write check.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.store.base import Base, BigInt, UTCDateTime

AWARD_STATUSES = ("granted", "pending_approval", "rejected", "clawed_back")


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("customer_id", "subject"),)

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    """Billing's own id for the event: the idempotency key."""
    type: Mapped[str] = mapped_column(String(32))
    body_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the event's canonical JSON: tells a resend from a different event reusing an id."""
    customer_id: Mapped[str] = mapped_column(String(64))  # UNIQUE(customer_id, subject) indexes it
    subject: Mapped[str | None] = mapped_column(String(200))
    """What the event is about when billing reports it once only (`invoice.paid:INV-1`): a second
    event under another id about the same invoice, incident or referral is refused."""
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What the first delivery answered, returned as is to every resend."""
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What the rules read of the event (its contract, amount, outage hours, planned), kept so that
    `loyalty.services.simulate` can decide it again under a draft ruleset."""


class Award(Base):
    __tablename__ = "awards"
    __table_args__ = (
        UniqueConstraint("customer_id", "rule_id", "once_key"),
        CheckConstraint(
            "status IN ('granted', 'pending_approval', 'rejected', 'clawed_back')", name="status_known"
        ),
        CheckConstraint("points >= 0 AND status_points >= 0", name="points_not_negative"),
        # budgets and caps sum points by programme (and customer) and period: from the index alone
        Index("ix_awards_programme_period", "programme_id", "awarded_on", "status", "points"),
        Index("ix_awards_customer_programme_period", "customer_id", "programme_id", "awarded_on", "status", "points"),
        # No index by contract or by event: every reader of those asks about one customer's awards, which
        # the indexes above already lead with, and each index more was another write for every award.
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    rule_id: Mapped[str] = mapped_column(String(100))
    programme_id: Mapped[str] = mapped_column(String(100))
    ruleset_version: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"))
    contract_id: Mapped[str | None] = mapped_column(String(64))
    once_key: Mapped[str] = mapped_column(String(200))
    awarded_on: Mapped[date] = mapped_column(Date)
    """The customer's local date of the event: the day budgets, caps and expiry count from."""
    points: Mapped[int] = mapped_column(BigInt, default=0)
    status_points: Mapped[int] = mapped_column(BigInt, default=0)
    expires_on: Mapped[date | None] = mapped_column(Date)
    vests_on: Mapped[date | None] = mapped_column(Date)
    reward: Mapped[str | None] = mapped_column(String(64))
    membership: Mapped[str | None] = mapped_column(String(100))
    tier: Mapped[str | None] = mapped_column(String(32))
    goodwill: Mapped[int | None] = mapped_column(BigInt)
    """A bill credit in VND for a service incident."""
    clawback_on: Mapped[str | None] = mapped_column(String(32))
    """The event type that takes this award's unspent points back, as the rule said when it gave them."""
    status: Mapped[str] = mapped_column(String(20), default="granted")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
