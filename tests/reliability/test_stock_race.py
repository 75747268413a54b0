"""The last hampers, raced for by ten customers' events and a redemption at once: never more given
than the catalogue holds, on a file SQLite database and on PostgreSQL (decision 33)."""
from __future__ import annotations

import textwrap

import pytest
from ingest_support import RECEIVED, contract_signed, customer_upserted, ledger_problems
from sqlalchemy import func, select

from loyalty.engine.loader import load_ruleset_from_texts
from loyalty.errors import OutOfStock
from loyalty.services.catalogue import list_rewards, sync_catalogue
from loyalty.services.ingest import ingest
from loyalty.services.ledger_ops import adjust_points
from loyalty.services.redemptions import RedemptionResult, redeem
from loyalty.store.tables import Redemption, RewardGrant
from tests.reliability.test_concurrent_ingest import THREADS, all_at_once

REDEEMER = f"C{THREADS - 1:03}"
"""A customer with points already, who redeems a hamper while the others sign."""
RULES = load_ruleset_from_texts({
    "gifts.yaml": textwrap.dedent("""\
        programme: welcome-gifts
        name: "Quà chào mừng"
        rules:
          - id: hamper-on-signing
            on: contract.signed
            then: {points: 500, reward: hamper}
            once_per: customer
        """),
    "rewards.yaml": textwrap.dedent("""\
        rewards:
          - id: hamper
            name: {vi: "Giỏ quà tri ân", en: "Thank-you hamper"}
            kind: gift
            points_cost: 100
            stock: 4
        """),
})


@pytest.fixture
def customers(store):
    sync_catalogue(store, RULES.rewards)
    for n in range(THREADS):
        ingest(store, RULES, customer_upserted(f"u-{n}", f"C{n:03}"), RECEIVED)
    adjust_points(store, REDEEMER, 1_000, actor="marketing", reason="điểm thưởng khai trương", occurred_at=RECEIVED)
    return store


def test_signings_and_a_redemption_racing_for_four_hampers_take_exactly_four(customers):
    def work(i: int):
        if i == THREADS - 1:
            return redeem(customers, REDEEMER, "hamper", "race", "customer", RECEIVED)
        return ingest(customers, RULES, contract_signed(f"s-{i}", f"K{i:03}", 1_000_000, customer_id=f"C{i:03}"),
                      RECEIVED)

    results = all_at_once(work)

    signings = results[:-1]
    assert all(not isinstance(r, Exception) for r in signings), signings
    assert all(len(r.awards) == 1 and r.awards[0].points == 500 for r in signings)  # everyone thanked
    with customers.reading() as session:
        granted = session.scalar(select(func.count()).select_from(RewardGrant))
        redeemed = session.scalar(select(func.count()).select_from(Redemption))
    without = [r for r in signings if r.awards[0].reward is None]
    assert granted == len(signings) - len(without) and [s.reason for r in without for s in r.stopped] == \
        ["stock"] * len(without)
    assert granted + redeemed == 4
    assert (redeemed, type(results[-1])) in ((1, RedemptionResult), (0, OutOfStock))
    assert next(o.stock_left for o in list_rewards(customers) if o.id == "hamper") == 0
    assert ledger_problems(customers) == []
