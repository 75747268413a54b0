"""`then`: points formulas, durations, goodwill and the other awards, and what is refused."""
from __future__ import annotations

import pytest
from ruletexts import only_problem, problems, rule_file, the_rule

from loyalty.engine.model import Duration, Goodwill, PointsFormula, Then


def then_file(then: str, on: str = "invoice.paid") -> str:
    """A rule whose `then:` is on line 6 and whose first award is on line 7."""
    body = "\n".join("  " + line for line in then.strip("\n").splitlines())
    return rule_file(f"on: {on}\nthen:\n{body}")


def test_fixed_points_with_expiry_and_cooling_off_are_loaded():
    rule = the_rule(then_file("points: 500\nexpires_after: P12M\npending_days: 30"))
    assert rule.then == Then(
        points=PointsFormula(fixed=500), expires_after=Duration(months=12, text="P12M"), pending_days=30
    )


def test_a_points_formula_is_loaded_with_its_defaults():
    rule = the_rule(then_file("points: {per: 10000, of: event.amount, max: 2000}"))
    assert rule.then.points == PointsFormula(per=10000, of="event.amount", each=1, max=2000)


def test_status_points_take_the_same_forms_as_points():
    rule = the_rule(then_file("status_points: {per: 100000, of: contract_value, each: 5}"))
    assert rule.then.status_points == PointsFormula(per=100000, of="contract_value", each=5)


def test_zero_fixed_points_are_allowed_but_negative_points_are_not():
    assert the_rule(then_file("points: 0\ntier: bac")).then.points == PointsFormula(fixed=0)
    problem = only_problem(then_file("points: -100"))
    assert (problem.line, problem.message) == (7, "'points' should be at least 0, got -100")


@pytest.mark.parametrize(
    ("formula", "line", "message"),
    [
        ("{per: 0, of: event.amount}", 7, "'per' in 'points' should be more than 0, got 0"),
        ("{per: 10000, of: segment}", 7, "points are counted per a number fact, but 'segment' is not a number"),
        ("{per: 10000, of: event.amont}", 7, "unknown fact 'event.amont' in 'of'; did you mean 'event.amount'?"),
        ("{per: 10000}", 7, "'points' is missing 'of'"),
        ("{per: 10000, of: event.amount, upto: 5}", 7, "unknown key 'upto' in 'points'; the keys allowed are per, of, max, each"),
        ("{per: 10000, of: event.amount, max: 0}", 7, "'max' in 'points' should be more than 0, got 0"),
        ("ten", 7, "'points' should be a whole number, got text 'ten'"),
        ("[1, 2]", 7, "'points' should be a mapping of keys to values, got a list"),
    ],
)
def test_a_wrong_points_formula_is_refused(formula, line, message):
    problem = only_problem(then_file(f"points: {formula}"))
    assert (problem.line, problem.rule_id, problem.message) == (line, "r1", message)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P12M", Duration(months=12, text="P12M")),
        ("P1Y", Duration(years=1, text="P1Y")),
        ("P90D", Duration(days=90, text="P90D")),
        ("P1Y6M", Duration(years=1, months=6, text="P1Y6M")),
        ("P2Y3M10D", Duration(years=2, months=3, days=10, text="P2Y3M10D")),
    ],
)
def test_an_iso_duration_of_years_months_and_days_is_loaded(text, expected):
    assert the_rule(then_file(f"points: 1\nexpires_after: {text}")).then.expires_after == expected


@pytest.mark.parametrize("text", ["P", "12M", "P1W", "PT12H", "P1.5Y", "p12m", "P12M ", "1 year"])
def test_a_duration_that_is_not_years_months_and_days_is_refused(text):
    problem = only_problem(then_file(f"points: 1\nexpires_after: '{text}'"))
    assert problem.line == 8
    assert problem.message == (
        f"'expires_after' '{text}' is not a duration; write years, months or days as P1Y, P12M, P90D or P1Y6M"
    )


def test_a_duration_of_nothing_is_refused():
    problem = only_problem(then_file("points: 1\nexpires_after: P0M"))
    assert problem.message == "'expires_after' 'P0M' is no time at all; points would expire at once"


def test_goodwill_on_a_service_incident_is_loaded_with_its_defaults():
    rule = the_rule(then_file("goodwill: {per_day: 50000, max: 1000000}", on="service.incident"))
    assert rule.then.goodwill == Goodwill(per_day=50000, after_days=0, max=1000000, approve_above=None)


def test_goodwill_on_any_other_event_is_refused():
    problem = only_problem(then_file("goodwill: {per_day: 50000}", on="anniversary"))
    assert (problem.line, problem.message) == (
        7, "'goodwill' compensates a service incident, so it needs 'on: service.incident', not 'anniversary'"
    )


@pytest.mark.parametrize(
    ("goodwill", "message"),
    [
        ("{after_days: 2}", "'goodwill' is missing 'per_day'"),
        ("{per_day: 0}", "'per_day' in 'goodwill' should be more than 0, got 0"),
        ("{per_day: 1, after_days: -1}", "'after_days' in 'goodwill' should be at least 0, got -1"),
        ("{per_day: 1, approve_above: 0}", "'approve_above' in 'goodwill' should be more than 0, got 0"),
        ("{per_day: 1, after_day: 5}", "unknown key 'after_day' in 'goodwill'; did you mean 'after_days'?"),
    ],
)
def test_a_wrong_goodwill_is_refused(goodwill, message):
    problem = only_problem(then_file(f"goodwill: {goodwill}", on="service.incident"))
    assert problem.message == message


def test_reward_membership_and_tier_are_loaded():
    rule = the_rule(then_file("reward: thank-you-hamper\nprogramme: sme-care\ntier: kim-cuong"))
    assert rule.then == Then(reward="thank-you-hamper", programme="sme-care", tier="kim-cuong")


def test_a_then_that_gives_nothing_is_refused():
    problem = only_problem(then_file("pending_days: 30").replace("pending_days: 30", "{}"))
    assert problem.message.startswith("'then' gives nothing; give at least one of points, status_points")


def test_expiry_and_cooling_off_without_points_are_refused_at_their_lines():
    found = problems(then_file("tier: vang\nexpires_after: P1Y\npending_days: 30"))
    assert [(p.line, p.message) for p in found] == [
        (8, "'expires_after' applies to points, but this rule gives no points"),
        (9, "'pending_days' applies to points, but this rule gives no points"),
    ]


def test_a_misspelt_award_is_suggested():
    problem = only_problem(then_file("points: 10\nexpire_after: P12M"))
    assert (problem.line, problem.message) == (
        8, "unknown key 'expire_after' in 'then'; did you mean 'expires_after'?"
    )


def test_a_tier_must_be_an_identifier():
    problem = only_problem(then_file("tier: Kim Cương"))
    assert problem.message == (
        "'tier' 'Kim Cương' should use only lower-case letters, digits and hyphens, such as 'second-anniversary'"
    )
