"""A reward that a rule gives free takes an item of the catalogue's stock, while stocks last.

Marketing sets a reward's `stock` for what it has to give: 500 thank-you hampers are 500, whether
customers redeem them with points or a rule gives them on a fifth anniversary. So a rule's grant
counts into `rewards.stock_taken` as a redemption does, and neither can promise an item the other
has taken. When none is left, the award still gives everything else it carries (points, status
points, a membership, a tier) and its result says the reward was out of stock; an award that
carries nothing but the reward is not given. Points are never held back for a gift that ran out:
the customer is thanked either way (decision 33).

Only rewards the ruleset gives a stock are counted: an unlimited reward has nothing to run out of,
and counting it would make every event that gives it wait on one row. Stock is taken under the
reward row's lock, after the budgets' locks and before the ledger's, the order every writer takes
them in (a redemption: customer, reward, accounts), and counted in the order awards are given
(customer-id order at night). A cancelled grant gives its item back (`loyalty.services.grants`).
A reward the database's catalogue does not hold yet (not synced) is given as before.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Iterable, Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loyalty.engine.award_build import Award as Decided
from loyalty.engine.decide import CompiledRuleset
from loyalty.engine.model import Ruleset
from loyalty.services.ingest_result import Stopped
from loyalty.store.tables import Reward

CODE = "stock"


class StockLeft:
    """Items left of each limited reward, its row locked for the rest of the transaction.

    `fit` each award in the order they are given, then `write` once: one UPDATE per reward."""

    def __init__(self, session: Session, ruleset: Ruleset, reward_ids: Iterable[str | None]):
        self._session = session
        self._left: dict[str, int] = {}
        self._stock: dict[str, int] = {}
        self._taken: Counter[str] = Counter()
        for reward_id, stock, taken in lock_stock(session, ruleset, reward_ids):
            if stock is not None:
                self._stock[reward_id], self._left[reward_id] = stock, max(stock - taken, 0)

    def fit(self, award: Decided) -> tuple[Decided | None, Stopped | None]:
        """The award as it can be given (None: not at all) and, if its reward was out of stock, why.
        An item is counted as taken here: call only for an award about to be given."""
        reward_id = award.reward
        if reward_id is None or reward_id not in self._left:
            return award, None
        if self._left[reward_id] > 0:
            self._left[reward_id] -= 1
            self._taken[reward_id] += 1
            return award, None
        rest = replace(award, reward=None)
        given_without = _gives_anything(rest)
        detail = (f"reward {reward_id} is out of stock (all {self._stock[reward_id]:,} given); "
                  + ("the award gave the rest" if given_without else "the award gives nothing else"))
        return (rest if given_without else None), Stopped(award.rule_id, CODE, detail)

    def give_back(self, award: Decided) -> None:
        """An item `fit` counted for an award that was not given after all (its once_per key was taken)."""
        if award.reward in self._left and self._taken[award.reward] > 0:
            self._left[award.reward] += 1
            self._taken[award.reward] -= 1

    def write(self) -> None:
        """Count the items taken into `stock_taken`, one statement per reward."""
        _take_stock(self._session, self._taken)
        self._taken.clear()


def lock_stock(session: Session, ruleset: Ruleset, reward_ids: Iterable[str | None]) -> list[tuple]:
    """Lock the catalogue rows of the rewards with a stock among these, in id order; their
    (id, stock, stock_taken)."""
    limited = sorted({r for r in reward_ids if r and (item := ruleset.reward(r)) and item.stock is not None})
    if not limited:
        return []
    session.flush()
    return list(session.execute(select(Reward.id, Reward.stock, Reward.stock_taken)
                                .where(Reward.id.in_(limited)).order_by(Reward.id).with_for_update()))


def rewards_on(compiled: CompiledRuleset, event_types: Iterable[str]) -> list[str]:
    """The rewards the rules on these event types give: what a batch of them may take stock of."""
    return sorted({entry[1].then.reward for t in set(event_types) for entry in compiled.entries_for(t)
                   if entry[1].then.reward})


def _take_stock(session: Session, taken: Mapping[str, int]) -> None:
    for reward_id, count in sorted(taken.items()):
        if count:
            session.execute(update(Reward).where(Reward.id == reward_id)
                            .values(stock_taken=Reward.stock_taken + count)
                            .execution_options(synchronize_session=False))


def give_back_stock(session: Session, reward_id: str) -> None:
    """A cancelled grant's item, back in stock. Only a reward with a stock counted it, and one given
    before its reward had a stock was never counted: that never takes `stock_taken` below zero."""
    session.execute(update(Reward).where(Reward.id == reward_id, Reward.stock.is_not(None), Reward.stock_taken > 0)
                    .values(stock_taken=Reward.stock_taken - 1).execution_options(synchronize_session=False))


def _gives_anything(award: Decided) -> bool:
    return bool(award.points or award.status_points or award.reward or award.membership or award.tier
                or award.goodwill)
