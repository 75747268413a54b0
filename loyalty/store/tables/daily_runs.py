"""How far the nightly run for one local date has got, phase by phase: what makes it resumable.

Each chunk of work commits together with its progress row, so a run killed at any moment resumes
after the last committed chunk and never does a chunk twice.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.store.base import Base, BigInt, UTCDateTime


class DailyRunPhase(Base):
    """One phase of the nightly run for one date: the last customer done, counts so far, when it ended."""

    __tablename__ = "daily_run_phases"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    phase: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_customer_id: Mapped[str | None] = mapped_column(String(64))
    """Customers are processed in id order; everything up to this id is committed."""
    customers: Mapped[int] = mapped_column(BigInt, default=0)
    awards: Mapped[int] = mapped_column(BigInt, default=0)
    points: Mapped[int] = mapped_column(BigInt, default=0)
    moved: Mapped[int] = mapped_column(BigInt, default=0)
    """Phase-specific: contracts ended, points vested or expired, tiers changed."""
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
