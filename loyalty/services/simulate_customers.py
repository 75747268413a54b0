"""A ruleset's time-event rules over the whole customer base, set-based: who would be thanked, at what cost.

`anniversary` rules are judged for the coming year: each customer on their next anniversary in the
365 days from `today` (today included), with tenure as it will be that day and every other fact as
it is now; a rule's validity window is judged on that anniversary. `daily` rules are judged for
tonight, on every customer, without consulting the awards already given (a `once_per` rule shows
who qualifies, not who has not had it yet). The database evaluates every rule's condition in one
scan and groups customers by the set of rules they match; the engine's own `build_award` and
`apply_precedence` then decide each group, so amounts and group precedence are exactly `decide`'s.
"""
from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Sequence

from sqlalchemy import BigInteger, ColumnElement, and_, case, func, literal, select, true
from sqlalchemy.orm import Session

from loyalty.engine.award_build import Award, build_award
from loyalty.engine.decide import apply_precedence, is_valid_on
from loyalty.engine.facts import EventSnapshot
from loyalty.engine.model import Rule, Ruleset, Validity
from loyalty.engine.sql import batch_matches
from loyalty.store.fact_columns import MASK_BITS, MONTHS_PER_YEAR, fact_columns, fact_thresholds
from loyalty.store.tables import Customer

TIME_EVENTS = ("anniversary", "daily")
DAY_KEY = 32
"""month * 32 + day orders the days of a year: a day of month is below 32."""


@dataclass
class RuleCount:
    """How many customers one rule would thank, and the reward points it would cost."""

    customers: int = 0
    points: int = 0


@dataclass
class TimeEventEffects:
    """Per rule id, under the draft and in force; and the customers whose points would change."""

    draft: dict[str, RuleCount] = field(default_factory=dict)
    in_force: dict[str, RuleCount] = field(default_factory=dict)
    gainers: int = 0
    losers: int = 0


def time_event_effects(session: Session, in_force: Ruleset, draft: Ruleset, today: date) -> TimeEventEffects:
    """Both rulesets' anniversary and daily rules in one scan per event type, customers grouped by what they match.

    Gainers and losers are counted per event type: a customer who gains on their anniversary and
    loses tonight counts once in each.
    """
    effects = TimeEventEffects(*({rule.id: RuleCount() for rule in ruleset.rules if rule.on in TIME_EVENTS}
                                 for ruleset in (draft, in_force)))
    for event_type in TIME_EVENTS:
        sides = [(ruleset, [rule for rule in ruleset.rules_for(event_type)
                            if event_type == "anniversary" or is_valid_on(rule.valid, today)],
                  counts) for ruleset, counts in ((draft, effects.draft), (in_force, effects.in_force))]
        if any(rules for _, rules, _ in sides):
            _scan(session, event_type, today, sides, effects)
    return effects


def _scan(session: Session, event_type: str, today: date, sides, effects: TimeEventEffects) -> None:
    if event_type == "anniversary":
        columns, where, day_key = _coming_anniversary(today)
        thresholds = None
    else:
        columns, where, day_key, thresholds = fact_columns(today), true(), None, fact_thresholds(today)
    rules = [rule for _, side_rules, _ in sides for rule in side_rules]
    matches = [and_(batch_matches(rule, columns, thresholds), _within(rule.valid, day_key))
               if day_key is not None else batch_matches(rule, columns, thresholds) for rule in rules]
    masks = _masks(matches)
    formula_facts = sorted({f.of for r in rules for f in (r.then.points, r.then.status_points) if f and f.of})
    extra = [columns[fact] for fact in formula_facts] + [Customer.main_contract_id.is_not(None)]
    # grouped through a subquery: PostgreSQL would not see a bound parameter in SELECT and GROUP BY as one
    inner = select(*(key.label(f"k{i}") for i, key in enumerate([*masks, *extra]))).where(where).subquery()
    event = EventSnapshot(type=event_type, id=f"simulation:{event_type}")
    for row in session.execute(select(*inner.c, func.count()).group_by(*inner.c)):
        bits, rest = row[:len(masks)], row[len(masks):]
        facts, contract = dict(zip(formula_facts, rest)), "main" if rest[len(formula_facts)] else None
        customers, first, points = rest[-1], 0, []
        for ruleset, side_rules, counts in sides:
            matched = [rule for i, rule in enumerate(side_rules, start=first)
                       if bits[i // MASK_BITS] >> (i % MASK_BITS) & 1]
            first += len(side_rules)
            won = _winners(ruleset.version, matched, facts, event, today, contract)
            for rule, award in won:
                counts[rule.id].customers += customers
                counts[rule.id].points += award.points * customers
            points.append(sum(award.points for _, award in won))
        effects.gainers += customers if points[0] > points[1] else 0
        effects.losers += customers if points[0] < points[1] else 0


def _winners(version: str, matched: list[Rule], facts: dict, event: EventSnapshot, today: date,
             contract: str | None) -> list[tuple[Rule, Award]]:
    """`decide`'s candidates and group precedence for rules whose conditions hold."""
    candidates = []
    for rule in matched:
        award = build_award(rule, version, facts, event, today, contract)
        if isinstance(award, Award):
            candidates.append((rule, award))
    return apply_precedence(candidates)[0]


def _coming_anniversary(today: date) -> tuple[dict[str, ColumnElement[Any]], ColumnElement[bool], ColumnElement[int]]:
    """Fact columns with tenure on each customer's next anniversary, who has one within a year, and its
    date as year * 10000 + month * 100 + day (a 29 February start keeps day 29 in other years)."""
    c = Customer.__table__.c
    not_passed_yet = c.since_month * DAY_KEY + c.since_day >= today.month * DAY_KEY + today.day
    year = case((not_passed_yet, today.year), else_=today.year + 1)
    years = year - c.since_month_index // MONTHS_PER_YEAR
    tenure = years * MONTHS_PER_YEAR
    columns = fact_columns(today) | {"tenure_months": tenure, "tenure_years": years}
    return columns, years >= 1, year * 10_000 + c.since_month * 100 + c.since_day


def _within(valid: Validity, day_key: ColumnElement[int]) -> ColumnElement[bool]:
    parts = []
    if valid.start:
        parts.append(day_key >= _key(valid.start))
    if valid.until:
        parts.append(day_key <= _key(valid.until))
    return and_(true(), *parts)


def _key(day: date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def _masks(matches: Sequence[ColumnElement[bool]]) -> list[ColumnElement[int]]:
    """Bit i of mask i // 62 is set where matches[i] holds."""
    masks = []
    for first in range(0, len(matches), MASK_BITS):
        terms = [case((match, literal(1 << bit, BigInteger)), else_=0)
                 for bit, match in enumerate(matches[first:first + MASK_BITS])]
        masks.append(functools.reduce(operator.add, terms, literal(0, BigInteger)))
    return masks
