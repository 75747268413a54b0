"""Reading a rule's `then`: points formulas, durations, goodwill and the other awards."""
from __future__ import annotations

import re

from loyalty.engine.facts import CATALOGUE, FactType
from loyalty.engine.model import Duration, Goodwill, PointsFormula, Then
from loyalty.engine.rule_fields import (
    Scope,
    as_map,
    check_keys,
    read_field,
    read_id,
    read_int,
    read_text,
    suggestion,
)
from loyalty.engine.yaml_source import MapNode, Node, ScalarNode

AWARDS = ("points", "status_points", "reward", "programme", "tier", "goodwill")
THEN_KEYS = (*AWARDS, "expires_after", "pending_days")
FORMULA_KEYS = ("per", "of", "max", "each")
GOODWILL_KEYS = ("per_day", "after_days", "max", "approve_above")
GOODWILL_EVENT = "service.incident"
NUMBER_FACTS = tuple(name for name, fact in CATALOGUE.items() if fact.type is FactType.INT)
_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?")


def read_then(scope: Scope, node: Node, on: str | None) -> Then | None:
    """What a rule gives; `on` is the rule's event, which decides whether goodwill is allowed."""
    mapping = as_map(scope, node, "'then'")
    if mapping is None:
        return None
    before = len(scope.problems)
    check_keys(scope, mapping, "'then'", THEN_KEYS)
    then = Then(
        points=read_field(scope, mapping, "points", read_formula),
        status_points=read_field(scope, mapping, "status_points", read_formula),
        expires_after=read_field(scope, mapping, "expires_after", read_duration),
        pending_days=read_field(scope, mapping, "pending_days", lambda s, n, l: read_int(s, n, l, 1)),
        reward=read_field(scope, mapping, "reward", read_id),
        programme=read_field(scope, mapping, "programme", read_id),
        tier=read_field(scope, mapping, "tier", read_id),
        goodwill=read_field(scope, mapping, "goodwill", read_goodwill),
    )
    _check_coherent(scope, mapping, on)
    return then if len(scope.problems) == before else None



def _check_coherent(scope: Scope, mapping: MapNode, on: str | None) -> None:
    if not any(key in mapping.entries for key in AWARDS):
        scope.report(
            mapping.line, f"'then' gives nothing; give at least one of {', '.join(AWARDS)}"
        )
    for key in ("expires_after", "pending_days"):
        if key in mapping.entries and "points" not in mapping.entries:
            scope.report(mapping.key_line(key), f"'{key}' applies to points, but this rule gives no points")
    if "goodwill" in mapping.entries and on is not None and on != GOODWILL_EVENT:
        scope.report(
            mapping.key_line("goodwill"),
            f"'goodwill' compensates a service incident, so it needs 'on: {GOODWILL_EVENT}', not '{on}'",
        )


def read_formula(scope: Scope, node: Node, label: str) -> PointsFormula | None:
    """A fixed amount (`500`) or `{per: 10000, of: event.amount, each: 1, max: 2000}`."""
    if isinstance(node, ScalarNode):
        fixed = read_int(scope, node, label, 0)
        return PointsFormula(fixed=fixed) if fixed is not None else None
    mapping = as_map(scope, node, label)
    if mapping is None:
        return None
    before = len(scope.problems)
    check_keys(scope, mapping, label, FORMULA_KEYS, ("per", "of"))
    per, of, each, most = (mapping.get(key) for key in ("per", "of", "each", "max"))
    formula = PointsFormula(
        per=read_int(scope, per, f"'per' in {label}", 1) if per is not None else None,
        of=_read_number_fact(scope, of, label) if of is not None else None,
        each=read_int(scope, each, f"'each' in {label}", 1) if each is not None else 1,
        max=read_int(scope, most, f"'max' in {label}", 1) if most is not None else None,
    )
    return formula if len(scope.problems) == before else None


def _read_number_fact(scope: Scope, node: Node, label: str) -> str | None:
    name = read_text(scope, node, f"'of' in {label}")
    if name is None:
        return None
    if name not in CATALOGUE:
        hint = suggestion(name, NUMBER_FACTS) or f"; the number facts are {', '.join(NUMBER_FACTS)}"
        scope.report(node.line, f"unknown fact '{name}' in 'of'{hint}")
        return None
    if name not in NUMBER_FACTS:
        scope.report(node.line, f"points are counted per a number fact, but '{name}' is not a number")
        return None
    return name


def read_duration(scope: Scope, node: Node, label: str) -> Duration | None:
    """An ISO 8601 duration of years, months and days only: P12M, P1Y, P90D, P1Y6M."""
    text = read_text(scope, node, label)
    if text is None:
        return None
    match = _DURATION.fullmatch(text)
    if match is None or text == "P":
        scope.report(
            node.line,
            f"{label} '{text}' is not a duration; write years, months or days as P1Y, P12M, P90D or P1Y6M",
        )
        return None
    years, months, days = (int(part or 0) for part in match.groups())
    if years == months == days == 0:
        scope.report(node.line, f"{label} '{text}' is no time at all; points would expire at once")
        return None
    return Duration(years=years, months=months, days=days, text=text)


def read_goodwill(scope: Scope, node: Node, label: str) -> Goodwill | None:
    """`{per_day, after_days, max, approve_above}`: a VND bill credit for outage days."""
    mapping = as_map(scope, node, label)
    if mapping is None:
        return None
    before = len(scope.problems)
    check_keys(scope, mapping, label, GOODWILL_KEYS, ("per_day",))
    values = {
        key: read_int(scope, mapping.get(key), f"'{key}' in {label}", 0 if key == "after_days" else 1)
        for key in GOODWILL_KEYS
        if mapping.get(key) is not None
    }
    if len(scope.problems) != before or "per_day" not in values:
        return None
    return Goodwill(**values)
