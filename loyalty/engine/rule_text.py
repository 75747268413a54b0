"""Rules rendered back as short one-line text, for `loyalty rules show` and explanations."""
from __future__ import annotations

from loyalty.engine.model import AllOf, Comparison, Condition, Limit, Not, PointsFormula, Then

_SYMBOLS = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def describe_condition(condition: Condition | None) -> str:
    """`tenure_months ≥ 24 and segment in [sme, enterprise]`; "always" when there is none."""
    if condition is None:
        return "always"
    return _condition(condition, top=True)


def _condition(condition: Condition, top: bool = False) -> str:
    if isinstance(condition, Comparison):
        return describe_comparison(condition)
    if isinstance(condition, Not):
        return f"not {_condition(condition.part)}"
    joiner = " and " if isinstance(condition, AllOf) else " or "
    text = joiner.join(_condition(part) for part in condition.parts)
    return text if top or len(condition.parts) == 1 else f"({text})"


def describe_comparison(comparison: Comparison) -> str:
    """`segment in [sme, enterprise]`, `contract_value between 1,000,000 and 2,000,000`."""
    fact, op, value = comparison.fact, comparison.op, comparison.value
    if op == "between":
        low, high = value  # type: ignore[misc]
        return f"{fact} between {_value(low)} and {_value(high)}"
    if op in ("in", "not_in"):
        values = ", ".join(_value(item) for item in value)  # type: ignore[union-attr]
        return f"{fact} {op.replace('_', ' ')} [{values}]"
    return f"{fact} {_SYMBOLS[op]} {_value(value)}"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def describe_formula(formula: PointsFormula) -> str:
    """`500` or `1 per 10,000 of event.amount, at most 2,000`."""
    if formula.fixed is not None:
        return f"{formula.fixed:,}"
    text = f"{formula.each:,} per {formula.per:,} of {formula.of}"
    return f"{text}, at most {formula.max:,}" if formula.max is not None else text


def describe_then(then: Then) -> str:
    """Every award of a rule, joined by semicolons."""
    parts: list[str] = []
    if then.points is not None:
        parts.append(f"{describe_formula(then.points)} points")
    if then.status_points is not None:
        parts.append(f"{describe_formula(then.status_points)} status points")
    if then.expires_after is not None:
        parts.append(f"expiring after {then.expires_after.text}")
    if then.pending_days is not None:
        parts.append(f"pending {then.pending_days} days")
    for label, value in (("reward", then.reward), ("programme", then.programme), ("tier", then.tier)):
        if value is not None:
            parts.append(f"{label} {value}")
    if then.goodwill is not None:
        parts.append(_goodwill(then))
    return "; ".join(parts)


def _goodwill(then: Then) -> str:
    goodwill = then.goodwill
    assert goodwill is not None
    text = f"goodwill {goodwill.per_day:,} VND a day"
    if goodwill.after_days == 1:
        text += " after the first day"
    elif goodwill.after_days:
        text += f" after the first {goodwill.after_days} days"
    if goodwill.max is not None:
        text += f", at most {goodwill.max:,}"
    if goodwill.approve_above is not None:
        text += f", approval above {goodwill.approve_above:,}"
    return text


def describe_limit(limit: Limit) -> str:
    """`5,000,000 points a year`."""
    period = {"year": "a year", "month": "a month", "programme": "in all"}[limit.per]
    return f"{limit.points:,} points {period}"
