"""The reward catalogue, kept in step with the `rewards` of the ruleset in force.

`stock` is what the ruleset offers; `stock_taken` counts pending and fulfilled redemptions and the
grants rules give free (decision 33), so a sync never resets what customers have already taken and
a redemption can take one item with a single guarded UPDATE (`stock IS NULL OR stock_taken < stock`).
"""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.store.base import Base, BigInt


class Reward(Base):
    __tablename__ = "rewards"
    __table_args__ = (
        CheckConstraint("points_cost >= 0", name="points_cost_not_negative"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        CheckConstraint("stock_taken >= 0", name="stock_taken_not_negative"),
        CheckConstraint("per_customer_limit IS NULL OR per_customer_limit > 0", name="limit_positive"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    """The reward's name per language: {"vi": ..., "en": ...}."""
    kind: Mapped[str] = mapped_column(String(32))
    points_cost: Mapped[int] = mapped_column(BigInt)
    stock: Mapped[int | None] = mapped_column(Integer)
    """How many the ruleset offers in all; None is unlimited."""
    stock_taken: Mapped[int] = mapped_column(Integer, default=0)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[int | None] = mapped_column(BigInt)
    """Face value in VND (a bill credit's amount), when it has one."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    """False once the ruleset no longer offers it; rows stay, redemptions point at them."""

    @property
    def stock_left(self) -> int | None:
        """How many can still be redeemed; None when the stock is unlimited."""
        return None if self.stock is None else max(self.stock - self.stock_taken, 0)
