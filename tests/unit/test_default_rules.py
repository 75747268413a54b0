"""The programmes shipped in `rules/` load cleanly and say what marketing means them to say."""
from __future__ import annotations

from pathlib import Path

import pytest

from loyalty.engine.loader import load_ruleset
from loyalty.engine.model import EVENT_TYPES, Ruleset

RULES = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture(scope="module")
def shipped() -> Ruleset:
    return load_ruleset(RULES)


def test_the_shipped_rules_load_without_a_single_problem(shipped):
    assert len(shipped.programmes) >= 7
    assert len(shipped.rules) >= 15
    assert 5 <= len(shipped.rewards) <= 8


def test_every_programme_has_a_vietnamese_name(shipped):
    names = {programme.id: programme.name for programme in shipped.programmes}
    assert names["anniversary-thanks"] == "Tri ân khách hàng thân thiết"
    assert all(any(letter in name for letter in "ăâđêôơưàáảãạ") for name in names.values())


def test_every_rule_names_a_real_event_and_every_granted_reward_is_in_the_catalogue(shipped):
    catalogue = {reward.id for reward in shipped.rewards}
    assert all(rule.on in EVENT_TYPES for rule in shipped.rules)
    assert {rule.then.reward for rule in shipped.rules if rule.then.reward} <= catalogue


def test_the_welcome_waits_out_the_cooling_off_and_is_taken_back_on_cancellation(shipped):
    welcome = [rule for rule in shipped.rules if rule.on == "contract.signed"]
    assert welcome
    assert all(rule.then.pending_days == 30 and rule.clawback_on == "contract.cancelled" for rule in welcome)


def test_anniversary_thanks_are_one_group_once_a_year_with_a_hamper_at_five_years(shipped):
    anniversary = shipped.programme("anniversary-thanks").rules
    assert {rule.group for rule in anniversary} == {"anniversary-gift"}
    assert {rule.once_per for rule in anniversary} == {"year"}
    fifth = next(rule for rule in anniversary if rule.id == "fifth-anniversary")
    assert fifth.then.reward == "thank-you-hamper"
    assert shipped.reward("thank-you-hamper").names["vi"] == "Giỏ quà tri ân"


def test_business_invoice_points_are_per_10000_vnd_and_expire_after_twelve_months(shipped):
    (rule,) = shipped.rules_for("invoice.paid")
    assert (rule.then.points.per, rule.then.points.of) == (10000, "event.amount")
    assert rule.then.expires_after.months == 12


def test_tiers_are_one_group_so_the_highest_wins(shipped):
    tiers = shipped.rules_for("daily")
    ranked = sorted(tiers, key=lambda rule: -rule.priority)
    assert [rule.then.tier for rule in ranked] == ["kim-cuong", "vang", "bac"]
    assert len({rule.group for rule in tiers}) == 1


def test_goodwill_excludes_planned_works_and_waits_for_approval_above_a_threshold(shipped):
    for rule in shipped.rules_for("service.incident"):
        assert "event.planned" in repr(rule.when)
        assert rule.then.goodwill.approve_above is not None


def test_bill_credits_say_their_value_in_vnd(shipped):
    credits = {reward.id: reward.value for reward in shipped.rewards if reward.kind == "bill_credit"}
    assert credits == {"bill-credit-100k": 100000, "bill-credit-200k": 200000, "bill-credit-500k": 500000}
