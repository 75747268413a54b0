"""The reward catalogue: kept in step with the ruleset, shown to customers in their language."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from loyalty.engine.model import RewardItem
from loyalty.store import Store
from loyalty.store.tables.rewards import Reward

DEFAULT_LOCALE = "vi"
SYNC_ATTEMPTS = 3


@dataclass(frozen=True)
class CatalogueChange:
    """What a sync did, by reward id."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()

    def __str__(self) -> str:
        """For the log: "added a, b; retired c", or "unchanged"."""
        parts = [f"{what} {', '.join(ids)}" for what, ids in
                 (("added", self.added), ("updated", self.updated), ("retired", self.retired)) if ids]
        return "; ".join(parts) or "unchanged"


@dataclass(frozen=True)
class RewardOffer:
    """One active reward as a customer sees it, named in one language."""

    id: str
    name: str
    kind: str
    points_cost: int
    stock_left: int | None
    per_customer_limit: int | None
    value: int | None


def sync_catalogue(store: Store, items: Iterable[RewardItem]) -> CatalogueChange:
    """Make the catalogue offer exactly `items`, in one transaction; retired rewards stay as rows.

    Several workers may start at once: the one that loses the race to insert a new reward
    runs again and then finds it there.
    """
    wanted = {item.id: item for item in items}
    for attempt in range(1, SYNC_ATTEMPTS + 1):
        try:
            return store.run(lambda session: _sync(session, wanted))
        except IntegrityError:
            if attempt == SYNC_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _sync(session, wanted: dict[str, RewardItem]) -> CatalogueChange:
    rows = {row.id: row for row in session.scalars(select(Reward).with_for_update())}
    added, updated, retired = [], [], []
    for reward_id, item in wanted.items():
        row = rows.get(reward_id)
        if row is None:
            session.add(Reward(id=reward_id, stock_taken=0, **_columns(item)))
            added.append(reward_id)
        elif _apply(row, item):
            updated.append(reward_id)
    for reward_id, row in rows.items():
        if reward_id not in wanted and row.active:
            row.active = False
            retired.append(reward_id)
    session.flush()
    return CatalogueChange(tuple(added), tuple(updated), tuple(retired))


def _columns(item: RewardItem) -> dict:
    return {"names": dict(item.names), "kind": item.kind, "points_cost": item.points_cost,
            "stock": item.stock, "per_customer_limit": item.per_customer_limit,
            "value": item.value, "active": True}


def _apply(row: Reward, item: RewardItem) -> bool:
    """Copy the item onto its row; True when anything changed."""
    changed = False
    for name, value in _columns(item).items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def list_rewards(store: Store, locale: str = DEFAULT_LOCALE) -> list[RewardOffer]:
    """The active rewards, cheapest first, named in `locale` (else Vietnamese, else any name)."""
    with store.reading() as session:
        rows = session.scalars(
            select(Reward).where(Reward.active.is_(True)).order_by(Reward.points_cost, Reward.id)
        )
        return [_offer(row, locale) for row in rows]


def _offer(row: Reward, locale: str) -> RewardOffer:
    return RewardOffer(row.id, name_in(row.names, locale), row.kind, row.points_cost,
                       row.stock_left, row.per_customer_limit, row.value)


def name_in(names: dict[str, str], locale: str) -> str:
    """The name in `locale`, falling back to Vietnamese, then to any name given."""
    return names.get(locale) or names.get(DEFAULT_LOCALE) or next(iter(names.values()), "")
