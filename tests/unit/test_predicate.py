"""The Python predicate: what each operator means, and that a missing fact is never a match."""
from __future__ import annotations

import pytest
from rulebuilders import all_of, any_of, fact, not_

from loyalty.engine.predicate import compile_predicate, holds


def matches(condition, **facts) -> bool:
    return compile_predicate(condition)({name.replace("__", "."): v for name, v in facts.items()})


@pytest.mark.parametrize(
    ("op", "expected", "value", "result"),
    [
        ("eq", 24, 24, True), ("eq", 24, 25, False),
        ("ne", 24, 25, True), ("ne", 24, 24, False),
        ("gt", 24, 25, True), ("gt", 24, 24, False),
        ("gte", 24, 24, True), ("gte", 24, 23, False),
        ("lt", 24, 23, True), ("lt", 24, 24, False),
        ("lte", 24, 24, True), ("lte", 24, 25, False),
        ("in", [12, 24], 24, True), ("in", [12, 24], 36, False),
        ("not_in", [12, 24], 36, True), ("not_in", [12, 24], 12, False),
        ("between", [12, 24], 12, True), ("between", [12, 24], 24, True),
        ("between", [12, 24], 11, False), ("between", [12, 24], 25, False),
    ],
)
def test_each_operator_compares_the_fact_with_the_written_value(op, expected, value, result):
    assert matches(fact("tenure_months", op, expected), tenure_months=value) is result


@pytest.mark.parametrize("op", ["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "between"])
def test_a_fact_without_a_value_matches_no_operator_not_even_ne_or_not_in(op):
    expected = {"in": ["gold"], "not_in": ["gold"], "between": ["a", "z"]}.get(op, "gold")
    assert matches(fact("tier", op, expected), tier=None) is False
    assert matches(fact("tier", op, expected)) is False


def test_not_inverts_the_definite_answer_so_a_customer_without_a_tier_is_not_gold():
    assert matches(not_(fact("tier", "eq", "gold")), tier=None) is True
    assert matches(not_(fact("tier", "eq", "gold")), tier="gold") is False


def test_vietnamese_region_names_compare_exactly():
    condition = fact("region", "in", ["Hà Nội", "Thừa Thiên Huế"])
    assert matches(condition, region="Hà Nội") is True
    assert matches(condition, region="Ha Noi") is False
    assert matches(fact("region", "eq", "Đà Nẵng"), region="Đà Nẵng") is True


def test_the_design_example_thanks_sme_customers_who_renewed_or_pay_a_lot():
    condition = all_of(
        fact("tenure_months", "gte", 24),
        fact("segment", "in", ["sme", "enterprise"]),
        any_of(fact("renewals", "gte", 1), fact("contract_value", "gte", 2_000_000)),
    )
    assert matches(condition, tenure_months=24, segment="sme", renewals=1, contract_value=0)
    assert matches(condition, tenure_months=30, segment="enterprise", renewals=None,
                   contract_value=2_000_000)
    assert not matches(condition, tenure_months=30, segment="home", renewals=3, contract_value=0)
    assert not matches(condition, tenure_months=23, segment="sme", renewals=3, contract_value=0)
    assert not matches(condition, tenure_months=30, segment="sme", renewals=None,
                       contract_value=None)


def test_an_empty_all_is_true_and_an_empty_any_is_false():
    assert matches(all_of(), tenure_months=1) is True
    assert matches(any_of(), tenure_months=1) is False
    assert matches(not_(any_of()), tenure_months=1) is True


def test_a_rule_without_conditions_always_matches():
    assert compile_predicate(None)({}) is True


@pytest.mark.parametrize("size", range(1, 11))
def test_any_of_many_and_all_of_many_look_at_every_part(size):
    assert matches(any_of(*[fact("tenure_months", "eq", n) for n in range(size)]), tenure_months=size - 1)
    assert not matches(any_of(*[fact("tenure_months", "eq", n) for n in range(size)]), tenure_months=size)
    at_least = all_of(*[fact("tenure_months", "gte", n) for n in range(size)])
    assert matches(at_least, tenure_months=size - 1)
    assert not matches(at_least, tenure_months=size - 2)


def test_event_facts_are_read_by_their_dotted_names():
    assert matches(fact("event.planned", "eq", True), event__planned=True) is True
    assert matches(not_(fact("event.planned", "eq", True)), event__planned=None) is True
    assert matches(fact("event.amount", "gte", 100_000), event__amount=99_999) is False


def test_holds_answers_for_one_comparison_and_one_value():
    assert holds(fact("segment", "eq", "sme"), "sme") is True
    assert holds(fact("segment", "eq", "sme"), None) is False


def test_an_unknown_operator_is_refused_when_compiling():
    with pytest.raises(ValueError, match="unknown operator 'like'"):
        compile_predicate(fact("segment", "like", "s%"))
