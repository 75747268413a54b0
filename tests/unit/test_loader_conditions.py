"""`when`: every operator on every type of fact, accepted or refused with a sentence and a line."""
from __future__ import annotations

import pytest
from ruletexts import only_problem, problems, the_rule, when_file

from loyalty.engine.model import AllOf, AnyOf, Comparison, Not, SourceRef

ACCEPTED = [
    ("tenure_months: {eq: 24}", "tenure_months", "eq", 24),
    ("tenure_months: {ne: 0}", "tenure_months", "ne", 0),
    ("renewals: {gt: 1}", "renewals", "gt", 1),
    ("contract_value: {gte: 2_000_000}", "contract_value", "gte", 2_000_000),
    ("term_months: {lt: 12}", "term_months", "lt", 12),
    ("event.amount: {lte: -5}", "event.amount", "lte", -5),
    ("tenure_years: {in: [1, 2, 5]}", "tenure_years", "in", (1, 2, 5)),
    ("active_contracts: {not_in: [0]}", "active_contracts", "not_in", (0,)),
    ("contract_value: {between: [1000000, 2000000]}", "contract_value", "between", (1000000, 2000000)),
    ("tenure_years: {between: [3, 3]}", "tenure_years", "between", (3, 3)),
    ("segment: {eq: sme}", "segment", "eq", "sme"),
    ("segment: {ne: home}", "segment", "ne", "home"),
    ("segment: {in: [sme, enterprise]}", "segment", "in", ("sme", "enterprise")),
    ("region: {not_in: [Hà Nội, 'Hồ Chí Minh']}", "region", "not_in", ("Hà Nội", "Hồ Chí Minh")),
    ("tier: {eq: vang}", "tier", "eq", "vang"),
    ("event.planned: {eq: false}", "event.planned", "eq", False),
    ("event.planned: {ne: true}", "event.planned", "ne", True),
]


@pytest.mark.parametrize(("text", "fact", "op", "value"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_a_comparison_that_fits_its_fact_is_loaded_as_written(text, fact, op, value):
    rule = the_rule(when_file(text))
    assert rule.when == Comparison(fact, op, value, SourceRef("a.yaml", 8))


REFUSED = [
    ("tenure_months: {gte: '24'}", "the value of 'tenure_months: gte' should be a whole number, got text '24'"),
    ("tenure_months: {gte: 2.5}", "the value of 'tenure_months: gte' should be a whole number, got the decimal number 2.5"),
    ("renewals: {eq: true}", "the value of 'renewals: eq' should be a whole number, got true (yes/no)"),
    ("renewals: {gte: [1]}", "the value of 'renewals: gte' should be a whole number, got a list"),
    ("tenure_years: {in: []}", "the value of 'tenure_years: in' should not be an empty list"),
    ("tenure_years: {in: 5}", "the value of 'tenure_years: in' should be a list, got the number 5"),
    ("tenure_years: {in: [1, two]}", "the value of 'tenure_years: in' should be a whole number, got text 'two'"),
    ("tenure_years: {between: [5, 1]}", "the value of 'tenure_years: between' runs from 5 down to 1; write the lower number first"),
    ("tenure_years: {between: [1, 2, 3]}", "the value of 'tenure_years: between' should be [low, high], two whole numbers, got a list"),
    ("tenure_years: {between: 3}", "the value of 'tenure_years: between' should be [low, high], two whole numbers, got the number 3"),
    ("segment: {gte: sme}", "'gte' compares numbers, but 'segment' is text; use eq, ne, in or not_in"),
    ("region: {between: [a, b]}", "'between' compares numbers, but 'region' is text; use eq, ne, in or not_in"),
    ("segment: {eq: smb}", "'smb' is not a segment; did you mean 'sme'?"),
    ("segment: {in: [home, business]}", "'business' is not a segment; it should be one of home, sme, enterprise"),
    ("locale: {eq: 5}", "the value of 'locale: eq' should be text, got the number 5 (put it in quotes if it is meant as text)"),
    ("event.planned: {gt: false}", "'event.planned' is true or false, so it takes only eq or ne, not 'gt'"),
    ("event.planned: {in: [true]}", "'event.planned' is true or false, so it takes only eq or ne, not 'in'"),
    ("event.planned: {eq: 0}", "the value of 'event.planned: eq' should be true or false, got the number 0"),
    ("tenure_months: {gtee: 24}", "unknown operator 'gtee' for 'tenure_months'; did you mean 'gte'?"),
    ("tenure_months: {over: 24}", "unknown operator 'over' for 'tenure_months'; the operators are eq, ne, gt, gte, lt, lte, in, not_in, between"),
    ("tenure_months: {gte: 24, lte: 36}", "'tenure_months' takes exactly one operator, got gte, lte"),
    ("tenure_months: 24", "the test of 'tenure_months' (such as {gte: 24}) should be a mapping of keys to values, got the number 24"),
    ("tenur_months: {gte: 24}", "unknown fact 'tenur_months'; did you mean 'tenure_months'?"),
    ("amount: {gte: 1}", "unknown fact 'amount'; did you mean 'event.amount'?"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_comparison_that_does_not_fit_is_refused_with_a_sentence_at_its_line(text, message):
    problem = only_problem(when_file(text))
    assert (problem.file, problem.line, problem.rule_id, problem.message) == ("a.yaml", 8, "r1", message)


def test_all_any_and_not_nest_and_keep_their_lines():
    rule = the_rule(when_file("""
        all:
          - tenure_months: {gte: 24}
          - any:
              - renewals: {gte: 1}
              - not:
                  segment: {eq: home}
    """))
    assert rule.when == AllOf(
        (
            Comparison("tenure_months", "gte", 24, SourceRef("a.yaml", 9)),
            AnyOf(
                (
                    Comparison("renewals", "gte", 1, SourceRef("a.yaml", 11)),
                    Not(Comparison("segment", "eq", "home", SourceRef("a.yaml", 13)), SourceRef("a.yaml", 12)),
                ),
                SourceRef("a.yaml", 10),
            ),
        ),
        SourceRef("a.yaml", 8),
    )


def test_a_rule_without_when_always_matches_its_event():
    text = when_file("tenure_months: {gte: 0}").replace("    when:\n      tenure_months: {gte: 0}\n", "")
    assert the_rule(text).when is None


def test_two_facts_side_by_side_are_refused_with_a_pointer_to_all():
    problem = only_problem(when_file("tenure_months: {gte: 24}\nsegment: {eq: sme}"))
    assert problem.line == 8
    assert problem.message == (
        "a condition has exactly one key (all, any, not or a fact), got tenure_months, segment; "
        "to require several conditions put them in a list under 'all'"
    )


def test_a_misspelt_combinator_is_suggested():
    problem = only_problem(when_file("alll:\n  - tenure_months: {gte: 24}"))
    assert problem.message == "unknown fact 'alll'; did you mean 'all'?"


def test_an_empty_any_is_refused():
    problem = only_problem(when_file("any: []"))
    assert (problem.line, problem.message) == (8, "'any' should not be an empty list")


def test_not_takes_a_condition_not_a_list():
    problem = only_problem(when_file("not: [segment: {eq: home}]"))
    assert problem.message == "a condition should be a mapping of keys to values, got a list"


def test_every_wrong_comparison_inside_a_combination_is_reported():
    found = [
        (p.line, p.message.split(";")[0])
        for p in problems(when_file("""
            any:
              - tenure_month: {gte: 24}
              - segment: {eq: smee}
              - renewals: {gte: one}
        """))
    ]
    assert found == [
        (9, "unknown fact 'tenure_month'"),
        (10, "'smee' is not a segment"),
        (11, "the value of 'renewals: gte' should be a whole number, got text 'one'"),
    ]
