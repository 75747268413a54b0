"""How far the nightly run for one local date has got, phase by phase: what makes it resumable.

Each chunk of work commits together with its progress row, so a run killed at any moment resumes
after the last committed chunk and never does a chunk twice.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Integer, String
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
    ruleset_version: Mapped[str | None] = mapped_column(String(64))
    """The daily phase's ruleset version, the one all its chunks used (NULL if a resumed run changed it)."""
    facts_epoch: Mapped[int | None] = mapped_column(BigInt)
    """The daily phase's epoch of `FactsClock`: customers whose facts changed later have an epoch this high."""


class FactsClock(Base):
    """One row: the epoch the customers' fact-change triggers stamp on a changed row.

    Each daily phase advances it once, after every write in flight has committed, and records the
    epoch it started under: the next night reviews only the customers stamped with that epoch or a
    later one, and those whose tenure moved in between (docs/decisions.md, 29).
    """

    __tablename__ = "facts_clock"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInt)
