"""Which customers tonight's daily rules must read: every one, or only those something moved for.

A night's daily phase leaves every customer with what the daily rules give on their facts of that
night. Tonight the same rules give a customer something new only if its facts moved since: a
stored fact changed (the triggers' epochs, `loyalty.store.fact_epochs`), or its tenure moved with
the calendar (`loyalty.engine.tenure_moves`). That holds only while the rules' answers depend on
nothing else: the same ruleset, the same rules in force on both nights, the same once-keys (one
calendar year, no `once_per: event`), and no budget, cap or reward stock that may have stopped an
award then and let it through now. Otherwise, or when asked, every customer is reviewed, as before (decision 29).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, or_

from loyalty.engine.decide import is_valid_on
from loyalty.engine.facts import EVENT_FACTS
from loyalty.engine.model import Ruleset
from loyalty.engine.tenure_moves import tenure_moves
from loyalty.store.daily_runs import PhaseProgress
from loyalty.store.fact_epochs import changed_since, started_in

TENURE_FACTS = {"tenure_months": "months", "tenure_years": "years"}
STANDING_FACTS = frozenset(("tier", "status_points"))
STORED_FACTS = frozenset(("segment", "region", "locale", "active_contracts", "total_monthly_value",
                          "contract_value", "term_months", "renewals"))
"""Facts read from the customer row's own columns, each stamped by the fact-change trigger."""
FOLLOWED_FACTS = STORED_FACTS | STANDING_FACTS | TENURE_FACTS.keys() | set(EVENT_FACTS)
"""Event facts are empty at night, so they never move."""


@dataclass(frozen=True)
class DailyReview:
    """The customers the daily phase reads tonight, and why."""

    where: ColumnElement[bool] | None
    """None: every customer."""
    since: date | None
    """The night whose review this one carries on from, when it reads only what moved since."""
    reason: str


def daily_review(previous: PhaseProgress | None, ruleset: Ruleset, day: date, *,
                 full_review: bool = False) -> DailyReview:
    """What the daily rules of `ruleset` must read on `day`, after `previous` (the last daily phase finished)."""
    why = "a full review was asked for" if full_review else _why_everyone(previous, ruleset, day)
    if why is not None:
        return DailyReview(None, None, f"all of them: {why}")
    read = set().union(*(rule.facts_read() for rule in ruleset.rules_for("daily")))
    terms = [changed_since(previous.facts_epoch, standing=bool(read & STANDING_FACTS))]
    units = {TENURE_FACTS[fact] for fact in read & TENURE_FACTS.keys()}
    if units:
        terms.append(started_in(tenure_moves(previous.day, day, "months" if "months" in units else "years")))
    moved = "facts or tenure" if units else "facts"
    return DailyReview(or_(*terms), previous.day, f"those whose {moved} moved since the night of {previous.day}")


def _why_everyone(previous: PhaseProgress | None, ruleset: Ruleset, day: date) -> str | None:
    if previous is None or previous.facts_epoch is None:
        return "no earlier night reviewed them under the change clock"
    if previous.ruleset_version != ruleset.version:
        return f"the rules changed since the night of {previous.day}"
    if previous.day.year != day.year:
        return "a new year, so once-a-year awards are due again"
    for rule in ruleset.rules_for("daily"):
        if rule.once_per == "event":
            return f"rule {rule.id} gives every night (once_per: event)"
        if is_valid_on(rule.valid, previous.day) != is_valid_on(rule.valid, day):
            return f"rule {rule.id} came into force or ended since the night of {previous.day}"
        programme = ruleset.programme(rule.programme)
        if programme.budget is not None or programme.cap is not None:
            return f"programme {programme.id} has a budget or a cap, and what it stopped may fit now"
        reward = ruleset.reward(rule.then.reward) if rule.then.reward else None
        if reward is not None and reward.stock is not None:
            return f"rule {rule.id} gives {reward.id}, whose stock may have come back (decision 33)"
        unfollowed = sorted(rule.facts_read() - FOLLOWED_FACTS)
        if unfollowed:
            return f"rule {rule.id} reads {', '.join(unfollowed)}, which the change clock does not follow"
    return None
