"""When a night must read every customer for its daily rules, and says why."""
from __future__ import annotations

from datetime import date

import pytest

from loyalty.engine.loader import load_ruleset_from_texts
from loyalty.services.daily_scope import daily_review
from loyalty.store.daily_runs import PhaseProgress

YESTERDAY, TODAY = date(2027, 6, 9), date(2027, 6, 10)
RULE = """\
programme: p
name: "Tri ân"
{programme_extra}
rules:
  - id: r
    on: daily
    when:
      segment: {{eq: sme}}
    then: {{status_points: 10}}
    once_per: {once_per}
{rule_extra}
"""


def _rules(once_per="year", programme_extra="", rule_extra=""):
    return load_ruleset_from_texts({"p.yaml": RULE.format(once_per=once_per, programme_extra=programme_extra,
                                                          rule_extra=rule_extra)})


def _night(ruleset, day=YESTERDAY, epoch=7):
    return PhaseProgress(day, "tiers", finished=True, ruleset_version=ruleset.version, facts_epoch=epoch)


def test_the_night_after_a_night_under_the_same_rules_reads_only_what_moved():
    rules = _rules()
    review = daily_review(_night(rules), rules, TODAY)
    assert review.where is not None and review.since == YESTERDAY
    assert review.reason == f"those whose facts moved since the night of {YESTERDAY}"


@pytest.mark.parametrize("rules, previous, why", [
    (_rules(), None, "no earlier night reviewed them under the change clock"),
    (_rules(), "no epoch", "no earlier night reviewed them under the change clock"),
    (_rules(), "other rules", f"the rules changed since the night of {YESTERDAY}"),
    (_rules(), "last year", "a new year, so once-a-year awards are due again"),
    (_rules(once_per="event"), "same", "rule r gives every night (once_per: event)"),
    (_rules(rule_extra="    valid: {from: 2027-06-10}"), "same",
     f"rule r came into force or ended since the night of {YESTERDAY}"),
    (_rules(programme_extra="cap: {points: 100, per: year}"), "same",
     "programme p has a budget or a cap, and what it stopped may fit now"),
], ids=["first night", "before the clock", "rules changed", "new year", "every night", "validity", "cap"])
def test_a_night_reads_every_customer_when_what_it_gave_before_may_not_hold(rules, previous, why):
    night = {None: None, "same": _night(rules), "no epoch": _night(rules, epoch=None),
             "other rules": _night(_rules(once_per="customer")),
             "last year": _night(rules, day=date(2026, 12, 31))}[previous]
    review = daily_review(night, rules, TODAY)
    assert (review.where, review.since, review.reason) == (None, None, f"all of them: {why}")


def test_a_full_review_can_be_asked_for():
    rules = _rules()
    assert daily_review(_night(rules), rules, TODAY, full_review=True).reason == \
        "all of them: a full review was asked for"


def test_a_night_reads_every_customer_when_a_daily_rule_gives_a_reward_whose_stock_may_come_back():
    text = RULE.format(once_per="year", programme_extra="", rule_extra="").replace(
        "then: {status_points: 10}", "then: {reward: hamper}")
    catalogue = ("rewards:\n  - id: hamper\n    name: {vi: \"Giỏ quà\", en: \"Hamper\"}\n"
                 "    kind: gift\n    points_cost: 100\n    stock: {stock}\n")
    limited = load_ruleset_from_texts({"p.yaml": text, "rewards.yaml": catalogue.replace("{stock}", "5")})
    unlimited = load_ruleset_from_texts({"p.yaml": text, "rewards.yaml": catalogue.replace("    stock: {stock}\n", "")})

    assert daily_review(_night(limited), limited, TODAY).reason == (
        "all of them: rule r gives hamper, whose stock may have come back (decision 33)")
    assert daily_review(_night(unlimited), unlimited, TODAY).where is not None
