"""`decide`: which rules an event triggers, what they award, and which matching rules step aside."""
from __future__ import annotations

from dataclasses import fields
from datetime import date

from rulebuilders import fact, goodwill, months, points, rule, ruleset

from loyalty.engine.award_build import BELOW_THRESHOLD, NO_CONTRACT, NOTHING_TO_AWARD, Award
from loyalty.engine.decide import BEATEN_IN_GROUP, OUTSIDE_WINDOW, compile_ruleset, decide
from loyalty.engine.facts import EventSnapshot
from loyalty.engine.model import Then

TODAY = date(2026, 3, 15)
ANNIVERSARY = EventSnapshot(type="anniversary", id="anniv-c1-2026")
FACTS = {"tenure_months": 24, "segment": "sme", "tier": None, "event.amount": None,
         "event.outage_hours": None, "contract_value": 2_500_000}


def awarded(decision) -> list[str]:
    return [award.rule_id for award in decision.awards]


def test_only_rules_on_the_event_type_whose_conditions_hold_award():
    rules = ruleset(
        rule("second-anniversary", when=fact("tenure_months", "gte", 24), points=500),
        rule("third-anniversary", when=fact("tenure_months", "gte", 36), points=800),
        rule("welcome", on="contract.signed", points=100),
    )
    assert awarded(decide(rules, FACTS, ANNIVERSARY, TODAY)) == ["second-anniversary"]


def test_an_award_names_its_rule_programme_ruleset_event_and_amounts():
    rules = ruleset(rule("second-anniversary", points=500, expires_after=months(12),
                         reward="thank-you-hamper", programme="loyal-thanks", once_per="year"))
    [award] = decide(rules, FACTS, ANNIVERSARY, TODAY, main_contract_id="k-1").awards
    assert award == Award(
        rule_id="second-anniversary", programme_id="loyal-thanks", ruleset_version="test-v1",
        event_id="anniv-c1-2026", once_key="year:2026", points=500, status_points=0,
        expires_on=date(2027, 3, 15), vests_on=None, reward="thank-you-hamper", membership=None,
        tier=None, goodwill=None, needs_approval=False, contract_id="k-1",
    )


def test_a_rule_outside_its_validity_window_is_passed_over_with_the_window():
    rules = ruleset(
        rule("spring-bonus", points=100, start=date(2026, 3, 16), until=date(2026, 4, 30)),
        rule("last-year", points=100, until=date(2025, 12, 31)),
        rule("on-the-last-day", points=100, start=date(2026, 1, 1), until=TODAY),
    )
    decision = decide(rules, FACTS, ANNIVERSARY, TODAY)
    assert awarded(decision) == ["on-the-last-day"]
    reasons = {p.rule_id: p.reason for p in decision.passed_over}
    assert reasons["spring-bonus"] == f"{OUTSIDE_WINDOW}: from 2026-03-16 until 2026-04-30"
    assert reasons["last-year"] == f"{OUTSIDE_WINDOW}: until 2025-12-31"


def test_within_a_group_only_the_highest_priority_match_wins_and_the_others_say_who_beat_them():
    rules = ruleset(
        rule("hamper", group="anniversary-gift", priority=5, reward="hamper"),
        rule("big-hamper", group="anniversary-gift", priority=10, reward="big-hamper",
             when=fact("contract_value", "gte", 2_000_000)),
        rule("huge-hamper", group="anniversary-gift", priority=20, reward="huge-hamper",
             when=fact("contract_value", "gte", 10_000_000)),
        rule("points-too", points=50),
    )
    decision = decide(rules, FACTS, ANNIVERSARY, TODAY)
    assert awarded(decision) == ["big-hamper", "points-too"]
    [beaten] = decision.passed_over
    assert (beaten.rule_id, beaten.beaten_by) == ("hamper", "big-hamper")
    assert beaten.reason.startswith(BEATEN_IN_GROUP)


def test_equal_priorities_in_a_group_go_to_the_rule_earlier_in_the_file():
    rules = ruleset(
        rule("second", group="g", priority=1, order=2, points=10),
        rule("first", group="g", priority=1, order=1, points=10),
    )
    decision = decide(rules, FACTS, ANNIVERSARY, TODAY)
    assert awarded(decision) == ["first"]
    assert decision.passed_over[0].beaten_by == "first"


def test_rules_without_a_group_all_stack():
    rules = ruleset(rule("a", points=10), rule("b", points=20), rule("c", status_points=5))
    assert awarded(decide(rules, FACTS, ANNIVERSARY, TODAY)) == ["a", "b", "c"]


def test_an_out_of_window_rule_does_not_beat_its_group():
    rules = ruleset(
        rule("expired-best", group="g", priority=9, points=900, until=date(2026, 1, 1)),
        rule("current", group="g", priority=1, points=100),
    )
    decision = decide(rules, FACTS, ANNIVERSARY, TODAY)
    assert awarded(decision) == ["current"]
    assert decision.passed_over[0].reason.startswith(OUTSIDE_WINDOW)


def test_invoice_points_follow_the_amount_and_a_refund_earns_nothing():
    rules = ruleset(rule("pay-on-time", on="invoice.paid",
                         points=points(per=10_000, of="event.amount", max=2000)))
    paid = EventSnapshot(type="invoice.paid", id="inv-1", amount=1_234_567)
    refund = EventSnapshot(type="invoice.paid", id="inv-2", amount=-50_000)
    assert decide(rules, {"event.amount": 1_234_567}, paid, TODAY).awards[0].points == 123
    decision = decide(rules, {"event.amount": -50_000}, refund, TODAY)
    assert decision.awards == ()
    assert decision.passed_over[0].reason == f"{NOTHING_TO_AWARD}: event.amount gives 0 points"


def test_once_per_contract_keys_on_the_events_contract_else_the_main_one():
    rules = ruleset(rule("renewal-thanks", on="contract.renewed", once_per="contract", points=300),
                    rule("anniv-per-contract", once_per="contract", points=10))
    renewed = EventSnapshot(type="contract.renewed", id="ev-9", contract_id="k-2")
    [award] = decide(rules, FACTS, renewed, TODAY, main_contract_id="k-1").awards
    assert (award.once_key, award.contract_id) == ("contract:k-2", "k-2")
    [award] = decide(rules, FACTS, ANNIVERSARY, TODAY, main_contract_id="k-1").awards
    assert (award.once_key, award.contract_id) == ("contract:k-1", "k-1")


def test_once_per_contract_without_any_contract_is_passed_over():
    rules = ruleset(rule("anniv-per-contract", once_per="contract", points=10))
    decision = decide(rules, FACTS, ANNIVERSARY, TODAY)
    assert decision.awards == ()
    assert decision.passed_over[0].reason == NO_CONTRACT


def test_once_keys_per_customer_year_and_event():
    rules = ruleset(rule("c", once_per="customer", points=1), rule("y", once_per="year", points=1),
                    rule("e", once_per="event", points=1))
    keys = [a.once_key for a in decide(rules, FACTS, ANNIVERSARY, TODAY).awards]
    assert keys == ["customer", "year:2026", "event:anniv-c1-2026"]


def test_goodwill_for_a_long_outage_waits_for_approval_above_its_threshold():
    rules = ruleset(rule("outage-credit", on="service.incident", then=Then(goodwill=goodwill(
        per_day=50_000, after_days=2, max=1_000_000, approve_above=500_000))))
    long_outage = EventSnapshot(type="service.incident", id="inc-1", outage_hours=24 * 14 - 3)
    [award] = decide(rules, {}, long_outage, TODAY).awards
    assert (award.goodwill, award.needs_approval, award.points) == (600_000, True, 0)
    short = EventSnapshot(type="service.incident", id="inc-2", outage_hours=30)
    decision = decide(rules, {}, short, TODAY)
    assert decision.awards == ()
    assert decision.passed_over[0].reason.startswith(BELOW_THRESHOLD)


def test_pending_points_carry_their_vesting_date():
    rules = ruleset(rule("welcome", on="contract.signed", points=200, pending_days=30))
    signed = EventSnapshot(type="contract.signed", id="ev-2", contract_id="k-5")
    [award] = decide(rules, {}, signed, TODAY).awards
    assert (award.points, award.vests_on) == (200, date(2026, 4, 14))


def test_memberships_and_tiers_are_awards_without_points():
    rules = ruleset(rule("sme-care", then=Then(programme="sme-care")),
                    rule("gold", then=Then(tier="gold")))
    decision = decide(rules, FACTS, ANNIVERSARY, TODAY)
    assert [(a.membership, a.tier, a.points) for a in decision.awards] == [
        ("sme-care", None, 0), (None, "gold", 0)]


def test_an_event_nobody_listens_to_decides_nothing():
    rules = ruleset(rule("a", points=1))
    decision = decide(rules, FACTS, EventSnapshot(type="daily", id="d"), TODAY)
    assert (decision.awards, decision.passed_over) == ((), ())


def test_a_ruleset_is_compiled_once_and_decides_the_same_compiled_or_not():
    rules = ruleset(rule("a", points=1, when=fact("segment", "eq", "sme")))
    assert compile_ruleset(rules) is compile_ruleset(rules)
    compiled = compile_ruleset(rules)
    assert decide(compiled, FACTS, ANNIVERSARY, TODAY) == decide(rules, FACTS, ANNIVERSARY, TODAY)
    assert compiled.matches("a", FACTS) is True


def test_every_award_field_is_set_on_a_decided_award():
    rules = ruleset(rule("a", points=1))
    [award] = decide(rules, FACTS, ANNIVERSARY, TODAY).awards
    assert set(vars(award)) == {field.name for field in fields(Award)}
