"""Customers and their contracts, as billing describes them.

The customer row also carries what the batch SQL path reads directly: the tenure columns derived
from `customer_since`, the contract summary (`loyalty.engine.facts.summarize_contracts`) and the
status points, all kept in the same transaction as the change that moves them.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Computed, Date, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from loyalty.engine.facts import ContractSummary
from loyalty.store.base import Base, BigInt, UTCDateTime

DEFAULT_TIME_ZONE = "Asia/Ho_Chi_Minh"
SINCE_KEY_DAYS = 32
"""A day of month is below 32, so month index * 32 + day orders start dates."""


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint("segment IN ('home', 'sme', 'enterprise')", name="segment_known"),
        # covering: the night finds, orders and counts its anniversaries from the index alone
        Index("ix_customers_anniversary", "since_month", "since_day", "id", "since_month_index"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    segment: Mapped[str] = mapped_column(String(16))
    customer_since: Mapped[date] = mapped_column(Date)
    region: Mapped[str | None] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    time_zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIME_ZONE)
    tier: Mapped[str | None] = mapped_column(String(32))
    status_points: Mapped[int] = mapped_column(BigInt, default=0)

    since_month_index: Mapped[int] = mapped_column(Integer)
    """year * 12 + month - 1 of `customer_since`: tenure is integer arithmetic in SQL."""
    since_month: Mapped[int] = mapped_column(Integer)
    since_day: Mapped[int] = mapped_column(Integer)
    active_contracts: Mapped[int] = mapped_column(Integer, default=0)
    total_monthly_value: Mapped[int] = mapped_column(BigInt, default=0)
    main_contract_id: Mapped[str | None] = mapped_column(String(64))
    main_contract_value: Mapped[int | None] = mapped_column(BigInt)
    main_term_months: Mapped[int | None] = mapped_column(Integer)
    main_renewals: Mapped[int | None] = mapped_column(Integer)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, server_default=func.now(), onupdate=func.now()
    )

    contracts: Mapped[list["Contract"]] = relationship(back_populates="customer")

    @validates("customer_since")
    def _derive_tenure_columns(self, _key: str, since: date) -> date:
        self.since_month_index = since.year * 12 + since.month - 1
        self.since_month = since.month
        self.since_day = since.day
        return since

    def apply_contract_summary(self, summary: ContractSummary) -> None:
        """Copy the contract figures the batch path reads; call after every contract change."""
        self.active_contracts = summary.active_contracts
        self.total_monthly_value = summary.total_monthly_value
        self.main_contract_id = summary.main_contract_id
        self.main_contract_value = summary.main_contract_value
        self.main_term_months = summary.main_term_months
        self.main_renewals = summary.main_renewals


Customer.__table__.append_column(Column(
    "since_key", Integer, Computed(f"since_month_index * {SINCE_KEY_DAYS} + since_day", persisted=True),
    nullable=False))
"""since_month_index * 32 + since_day, stored by the database from the two columns (no writer can let
it drift): "tenure >= k months" is one comparison on it (`loyalty.store.fact_columns`). Only the batch
SQL reads it (`Customer.__table__.c.since_key`); added to the table after the class is mapped, so the
ORM neither loads it with a customer nor fetches it back after a write."""

# `facts_clock`'s epoch when the row's facts (or its standing) last changed, stamped by the database's
# triggers (migration b8c9d0e1f2a3, which lists the columns each follows) on every insert and every
# change, whoever writes it. Unmapped, as `since_key` is: only the night's scope reads them
# (`loyalty.store.fact_epochs`).
Customer.__table__.append_column(Column("facts_epoch", BigInt, server_default="0", nullable=False))
Customer.__table__.append_column(Column("standing_epoch", BigInt, server_default="0", nullable=False))
# the night finds the few customers whose facts moved from this index, beside the anniversary one
Index("ix_customers_facts_epoch", Customer.__table__.c.facts_epoch)


class Contract(Base):
    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'cancelled', 'ended')", name="status_known"),
        CheckConstraint("monthly_value >= 0", name="monthly_value_not_negative"),
        CheckConstraint("term_months > 0", name="term_positive"),
        # the night's contracts phase: the few active contracts whose end has come, with their customer
        Index("ix_contracts_active_end", "end", "customer_id",
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    monthly_value: Mapped[int] = mapped_column(BigInt)
    term_months: Mapped[int] = mapped_column(Integer)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    cancelled_on: Mapped[date | None] = mapped_column(Date)

    customer: Mapped[Customer] = relationship(back_populates="contracts")
