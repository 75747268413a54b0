"""Terse builders of rule-model values for tests: `rule("r1", when=fact("tenure_months", "gte", 24))`."""
from __future__ import annotations

import itertools
from datetime import date

from loyalty.engine.model import (
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    Duration,
    Goodwill,
    Not,
    PointsFormula,
    Programme,
    Rule,
    Ruleset,
    SourceRef,
    Then,
    Validity,
)

_lines = itertools.count(1)
_orders = itertools.count(1)


def here(file: str = "test.yaml") -> SourceRef:
    """A fresh source line, so every node of a test ruleset can be told apart."""
    return SourceRef(file, next(_lines))


def fact(name: str, op: str, value) -> Comparison:
    """`name: {op: value}`; lists become tuples as the loader makes them."""
    if isinstance(value, list):
        value = tuple(value)
    return Comparison(name, op, value, here())


def all_of(*parts: Condition) -> AllOf:
    return AllOf(tuple(parts), here())


def any_of(*parts: Condition) -> AnyOf:
    return AnyOf(tuple(parts), here())


def not_(part: Condition) -> Not:
    return Not(part, here())


def points(fixed: int | None = None, *, per: int | None = None, of: str | None = None,
           each: int = 1, max: int | None = None) -> PointsFormula:
    return PointsFormula(fixed=fixed, per=per, of=of, each=each, max=max)


def months(n: int) -> Duration:
    return Duration(months=n, text=f"P{n}M")


def goodwill(per_day: int, after_days: int = 0, max: int | None = None,
             approve_above: int | None = None) -> Goodwill:
    return Goodwill(per_day=per_day, after_days=after_days, max=max, approve_above=approve_above)


def rule(rule_id: str, *, on: str = "anniversary", when: Condition | None = None,
         then: Then | None = None, programme: str = "loyal-thanks", once_per: str = "event",
         group: str | None = None, priority: int = 0, start: date | None = None,
         until: date | None = None, order: int | None = None, description: str = "",
         **then_fields) -> Rule:
    """A rule; `then_fields` (points=100, reward="hamper", ...) build its `then` when not given."""
    if then is None:
        if isinstance(then_fields.get("points"), int):
            then_fields["points"] = points(then_fields["points"])
        if isinstance(then_fields.get("status_points"), int):
            then_fields["status_points"] = points(then_fields["status_points"])
        then = Then(**then_fields) if then_fields else Then(points=points(100))
    return Rule(
        id=rule_id, programme=programme, on=on, then=then, source=here(), when=when,
        description=description,
        order=next(_orders) if order is None else order, once_per=once_per, group=group,
        priority=priority, valid=Validity(start, until),
    )


def ruleset(*rules: Rule, version: str = "test-v1") -> Ruleset:
    """A ruleset holding the rules, one programme per distinct `rule.programme`, in given order."""
    programmes: dict[str, list[Rule]] = {}
    for r in rules:
        programmes.setdefault(r.programme, []).append(r)
    return Ruleset(version, tuple(
        Programme(id=pid, name=pid, source=here(), rules=tuple(rs)) for pid, rs in programmes.items()
    ))
