"""Reading redemptions and grants: billing's work list, and a customer's rewards newest first.

Both lists page by keyset: a cursor is the last item's sort key as plain JSON values, which the
API wraps opaquely (api/pagination.py). Reward names are given in the customer's own language.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from loyalty.errors import FieldErrors, UnknownCustomer
from loyalty.services.catalogue import name_in
from loyalty.services.keyset import oldest_first, parse_cursor
from loyalty.store import Store
from loyalty.store.tables import Customer, Redemption, Reward, RewardGrant
from loyalty.store.tables.redemptions import PENDING, REDEMPTION_STATUSES

GRANT, REDEMPTION = "grant", "redemption"


@dataclass(frozen=True)
class RedemptionView:
    """A redemption as the customer and billing see it."""

    id: int
    customer_id: str
    reward_id: str
    reward_name: str
    reward_kind: str
    points: int
    value: int | None
    status: str
    created_at: datetime
    settled_at: datetime | None
    settled_by: str | None
    cancel_reason: str | None

    def cursor(self) -> list[Any]:
        """The sort key of billing's list, oldest first."""
        return [self.created_at.isoformat(), self.id]


@dataclass(frozen=True)
class CustomerReward:
    """One line of a customer's rewards: a free grant from a rule, or a redemption paid in points."""

    source: str
    """`grant` or `redemption`."""
    id: int
    reward_id: str | None
    name: str | None
    kind: str
    points: int
    value: int | None
    """VND: a bill credit's amount, a goodwill credit's amount."""
    status: str
    at: datetime
    settled_at: datetime | None

    def cursor(self) -> list[Any]:
        """The sort key of the customer's list, newest first."""
        return [self.at.isoformat(), self.source, self.id]


def view_of(row: Redemption, reward: Reward, locale: str) -> RedemptionView:
    """The redemption as it stands."""
    return RedemptionView(row.id, row.customer_id, row.reward_id, name_in(reward.names, locale),
                          reward.kind, row.points, row.value, row.status, row.created_at,
                          row.settled_at, row.settled_by, row.cancel_reason)


def redemptions_in_status(
    store: Store, status: str, cursor: Sequence[Any] | None, limit: int,
) -> list[RedemptionView]:
    """Redemptions in `status`, oldest first, `limit` of them after `cursor` (a previous `cursor()`)."""
    if status not in REDEMPTION_STATUSES:
        raise FieldErrors({"status": [f"One of {', '.join(REDEMPTION_STATUSES)}."]})
    query = (
        select(Redemption, Reward, Customer.locale)
        .join(Reward, Reward.id == Redemption.reward_id)
        .join(Customer, Customer.id == Redemption.customer_id)
        .where(Redemption.status == status).limit(limit)
    )
    query = oldest_first(query, Redemption.created_at, Redemption.id, cursor)
    with store.reading() as session:
        return [view_of(row, reward, locale) for row, reward, locale in session.execute(query)]


def pending_redemptions(store: Store, cursor: Sequence[Any] | None, limit: int) -> list[RedemptionView]:
    """What billing applies on the next bill: pending redemptions, oldest first."""
    return redemptions_in_status(store, PENDING, cursor, limit)


def customer_rewards(
    store: Store, customer_id: str, cursor: Sequence[Any] | None = None, limit: int = 50,
) -> list[CustomerReward]:
    """The customer's reward grants and redemptions, newest first, `limit` of them after `cursor`."""
    after = parse_cursor(cursor, (datetime, str, int)) if cursor is not None else None
    with store.reading() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise UnknownCustomer(customer_id)
        items = _grants(session, customer, after, limit) + _redemptions(session, customer, after, limit)
    items.sort(key=lambda item: (item.at, item.source, item.id), reverse=True)
    return items[:limit]


def _grants(session: Session, customer: Customer, after, limit: int) -> list[CustomerReward]:
    query = (
        select(RewardGrant, Reward).outerjoin(Reward, Reward.id == RewardGrant.reward_id)
        .where(RewardGrant.customer_id == customer.id)
        .order_by(RewardGrant.granted_at.desc(), RewardGrant.id.desc()).limit(limit)
    )
    if after is not None:
        query = query.where(_before(RewardGrant.granted_at, RewardGrant.id, GRANT, after))
    return [
        CustomerReward(GRANT, grant.id, grant.reward_id,
                       name_in(reward.names, customer.locale) if reward else None,
                       reward.kind if reward else grant.kind, 0,
                       grant.amount if grant.amount is not None else (reward.value if reward else None),
                       grant.status, grant.granted_at, grant.fulfilled_at)
        for grant, reward in session.execute(query)
    ]


def _redemptions(session: Session, customer: Customer, after, limit: int) -> list[CustomerReward]:
    query = (
        select(Redemption, Reward).join(Reward, Reward.id == Redemption.reward_id)
        .where(Redemption.customer_id == customer.id)
        .order_by(Redemption.created_at.desc(), Redemption.id.desc()).limit(limit)
    )
    if after is not None:
        query = query.where(_before(Redemption.created_at, Redemption.id, REDEMPTION, after))
    return [
        CustomerReward(REDEMPTION, row.id, row.reward_id, name_in(reward.names, customer.locale),
                       reward.kind, row.points, row.value, row.status, row.created_at, row.settled_at)
        for row, reward in session.execute(query)
    ]


def _before(at_column, id_column, source: str, after: tuple[datetime, str, int]):
    """Rows of one source that sort after the cursor, newest first by (at, source, id)."""
    at, last_source, last_id = after
    if source < last_source:
        return at_column <= at
    if source > last_source:
        return at_column < at
    return or_(at_column < at, and_(at_column == at, id_column < last_id))
