"""API keys: who may call the HTTP API, in which role, and for which customer.

The key itself is never stored: only its SHA-256 and a short public prefix used to find the row.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.store.base import Base, UTCDateTime

ROLES: tuple[str, ...] = ("marketing", "billing", "customer", "admin")


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IN ('marketing', 'billing', 'customer', 'admin')", name="role_known"),
        CheckConstraint(
            "(role = 'customer') = (customer_id IS NOT NULL)", name="customer_key_names_customer"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    """The public part of the key, written in it, so authentication is one indexed lookup."""
    hash: Mapped[str] = mapped_column(String(64))
    """Hex SHA-256 of the whole key."""
    role: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """Not a foreign key: a customer's key may be issued before billing first posts the customer."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
