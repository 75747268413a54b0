"""`explain`: marketing asks why a customer did or did not get a reward, and sees every condition."""
from __future__ import annotations

import json
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from rulebuilders import all_of, any_of, fact, not_, rule, ruleset

from loyalty.engine.explain import explain, explain_condition, render_text
from loyalty.engine.facts import EventSnapshot
from loyalty.engine.model import AllOf, AnyOf, Comparison, Not, SourceRef
from loyalty.engine.predicate import compile_predicate

TODAY = date(2026, 3, 15)
FACTS = {"tenure_months": 25, "segment": "home", "region": "Hà Nội", "tier": None,
         "renewals": 1, "contract_value": 900_000}
SECOND_ANNIVERSARY = rule(
    "second-anniversary-sme", description="Tri ân khách hàng doanh nghiệp",
    when=all_of(fact("tenure_months", "gte", 24), fact("segment", "in", ["sme", "enterprise"]),
                any_of(fact("renewals", "gte", 1), fact("contract_value", "gte", 2_000_000))),
    points=500)


def test_a_failing_condition_is_shown_with_the_facts_value_and_its_line():
    [explanation] = explain(ruleset(SECOND_ANNIVERSARY), FACTS, TODAY)
    assert not explanation.matched and not explanation.awards
    tenure, segment, either = explanation.condition.parts
    assert (tenure.holds, tenure.actual, tenure.op, tenure.expected) == (True, 25, "gte", 24)
    assert (segment.holds, segment.actual, segment.expected) == (False, "home", ("sme", "enterprise"))
    assert either.holds and [p.holds for p in either.parts] == [True, False]
    assert segment.source == SECOND_ANNIVERSARY.when.parts[1].source


def test_the_text_explanation_reads_line_by_line_with_marks_and_sources():
    text = render_text(explain(ruleset(SECOND_ANNIVERSARY), FACTS, TODAY))
    lines = text.splitlines()
    assert lines[0] == "✗ second-anniversary-sme — Tri ân khách hàng doanh nghiệp"
    assert lines[1].endswith(": does not match")
    assert "    ✓ tenure_months = 25, needs gte 24  (test.yaml:" in text
    assert "    ✗ segment = 'home', needs in ['sme', 'enterprise']  (test.yaml:" in text
    assert "      ✗ contract_value = 900000, needs gte 2000000" in text


def test_a_missing_fact_says_it_has_no_value_and_not_turns_it_into_a_match():
    not_gold = rule("not-gold-yet", when=not_(fact("tier", "eq", "gold")), reward="welcome-kit")
    [explanation] = explain(ruleset(not_gold), FACTS, TODAY)
    assert explanation.awards
    assert "✗ tier has no value, needs eq 'gold'" in explanation.render_text()


def test_a_matching_rule_beaten_in_its_group_names_the_winner():
    rules = ruleset(rule("hamper", group="gift", priority=1, reward="hamper"),
                    rule("big-hamper", group="gift", priority=5, reward="big-hamper"),
                    rule("other-event", on="invoice.paid", group="gift", priority=9, points=1))
    explained = {e.rule_id: e for e in explain(rules, FACTS, TODAY)}
    assert explained["big-hamper"].awards
    assert (explained["hamper"].matched, explained["hamper"].beaten_by) == (True, "big-hamper")
    assert "group gift is won by big-hamper" in explained["hamper"].render_text()
    assert explained["other-event"].awards


def test_a_rule_outside_its_window_says_so_and_does_not_beat_its_group():
    rules = ruleset(rule("spring", group="g", priority=9, start=date(2026, 4, 1), points=1),
                    rule("always", group="g", priority=1, points=1))
    explained = {e.rule_id: e for e in explain(rules, FACTS, TODAY)}
    assert explained["spring"].stopped_by == "outside validity window: from 2026-04-01"
    assert explained["always"].awards


def test_explanations_can_be_limited_to_one_event_type():
    rules = ruleset(rule("a", on="anniversary"), rule("b", on="invoice.paid"))
    assert [e.rule_id for e in explain(rules, FACTS, TODAY, event_type="invoice.paid")] == ["b"]


def test_with_an_event_the_reasons_are_those_of_decide():
    rules = ruleset(rule("per-contract", once_per="contract", points=10))
    [explanation] = explain(rules, FACTS, TODAY, event=EventSnapshot("anniversary", "ev-1"))
    assert explanation.matched and explanation.stopped_by.startswith("once per contract")


def test_explanations_dump_to_json_with_vietnamese_text_intact():
    [explanation] = explain(ruleset(SECOND_ANNIVERSARY), FACTS, TODAY)
    dumped = json.loads(json.dumps(explanation.as_dict(), ensure_ascii=False))
    assert dumped["description"] == "Tri ân khách hàng doanh nghiệp"
    assert dumped["condition"]["parts"][1] == {
        "kind": "fact", "holds": False, "source": str(SECOND_ANNIVERSARY.when.parts[1].source),
        "fact": "segment", "op": "in", "expected": ["sme", "enterprise"], "actual": "home"}
    assert dumped["matched"] is False and dumped["window"] == "always"


HERE = SourceRef("generated.yaml", 1)
leaves = st.builds(lambda name, op, v: Comparison(name, op, v, HERE),
                   st.sampled_from(["tenure_months", "renewals"]),
                   st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]), st.integers(-1, 3))
trees = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3).map(lambda p: AllOf(tuple(p), HERE)),
    st.lists(inner, max_size=3).map(lambda p: AnyOf(tuple(p), HERE)),
    inner.map(lambda p: Not(p, HERE))), max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(condition=trees, tenure=st.one_of(st.none(), st.integers(-1, 3)),
       renewals=st.one_of(st.none(), st.integers(-1, 3)))
def test_the_explanation_agrees_with_the_predicate_on_every_condition(condition, tenure, renewals):
    facts = {"tenure_months": tenure, "renewals": renewals}
    assert explain_condition(condition, facts).holds == compile_predicate(condition)(facts)
