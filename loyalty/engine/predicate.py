"""Rule conditions compiled to Python predicates over one customer's facts.

A predicate is a tree of closures built from operator functions; nothing from a rule file is
ever evaluated as code. A comparison whose fact has no value (`None`) is false for every
operator, `ne` and `not_in` included; `not` inverts that definite answer, so
`not: {tier: {eq: gold}}` holds for a customer without a tier. `between` is inclusive; an empty
`all` is true and an empty `any` false. The SQL compiler (`loyalty.engine.sql`) mirrors these
semantics exactly, and the equivalence test proves it.
"""
from __future__ import annotations

from typing import Callable, Hashable, Mapping

from loyalty.engine.model import AllOf, AnyOf, Comparison, Condition, Not, Scalar

Facts = Mapping[str, Scalar | None]
Predicate = Callable[[Facts], bool]


def compile_predicate(condition: Condition | None) -> Predicate:
    """A function telling whether `condition` holds for a customer's facts; no condition: always."""
    if condition is None:
        return _always
    return _compile(condition)


def _compile(condition: Condition) -> Predicate:
    if isinstance(condition, Comparison):
        return _comparison(condition)
    if isinstance(condition, AllOf):
        return _every(tuple(_compile(part) for part in _cheapest_first(_flat(condition, AllOf))))
    if isinstance(condition, AnyOf):
        return _some(tuple(_compile(part) for part in _cheapest_first(_flat(condition, AnyOf))))
    if isinstance(condition, Not):
        if isinstance(condition.part, Not):
            return _compile(condition.part.part)
        return _negation(_compile(condition.part))
    raise TypeError(f"not a condition: {condition!r}")


def guarded(condition: Condition | None) -> tuple[Hashable | None, Predicate, Predicate]:
    """(key, guard, rest): the condition holds exactly when both `guard` and `rest` hold.

    The guard is the test an `all` makes first (or the condition's only comparison) and `key`
    names it, so that many rules on one event that start with the same test make it once
    (`loyalty.engine.decide`); a condition that does not start with a comparison has no key and
    an always-true guard.
    """
    if isinstance(condition, Comparison):
        return _key(condition), _comparison(condition), _always
    if isinstance(condition, AllOf):
        parts = _cheapest_first(_flat(condition, AllOf))
        if parts and isinstance(parts[0], Comparison):
            return _key(parts[0]), _comparison(parts[0]), _every(tuple(_compile(part) for part in parts[1:]))
    return None, _always, compile_predicate(condition)


def _key(comparison: Comparison) -> Hashable:
    value = comparison.value
    if comparison.op in ("in", "not_in"):
        value = frozenset(value)
    return comparison.fact, comparison.op, value


def _flat(condition: AllOf | AnyOf, kind: type) -> list[Condition]:
    """The parts of an all (any), with the parts of every all (any) directly inside it in its place."""
    parts: list[Condition] = []
    for part in condition.parts:
        parts.extend(_flat(part, kind) if isinstance(part, kind) else (part,))
    return parts


def _cheapest_first(parts: list[Condition]) -> list[Condition]:
    """The tests most likely to decide first, nested parts last (stable): all/any stop at the first
    part that decides, and every part is a pure test, so the order changes the cost, never the
    answer. Equality usually singles out few customers, a range more, `ne`/`not_in` nearly all."""
    return sorted(parts, key=_cost)


_LIKELY_FALSE = {"eq": 0, "between": 1, "in": 2, "gt": 2, "gte": 2, "lt": 2, "lte": 2, "ne": 3, "not_in": 3}


def _cost(condition: Condition) -> int:
    if isinstance(condition, Comparison):
        return _LIKELY_FALSE.get(condition.op, 3)
    if isinstance(condition, Not):
        return 4 + _cost(condition.part)
    return 4 + sum(_cost(part) for part in condition.parts)


def _always(_facts: Facts) -> bool:
    return True


def _never(_facts: Facts) -> bool:
    return False


def _every(parts: tuple[Predicate, ...]) -> Predicate:
    """All parts, stopping at the first that fails; short lists unrolled (a loop costs more)."""
    if len(parts) > 4:
        return _every((_every(parts[:4]), *parts[4:])) if len(parts) <= 7 else _every_loop(parts)
    if len(parts) == 4:
        a, b, c, d = parts
        return lambda facts: a(facts) and b(facts) and c(facts) and d(facts)
    if len(parts) == 3:
        a, b, c = parts
        return lambda facts: a(facts) and b(facts) and c(facts)
    if len(parts) == 2:
        a, b = parts
        return lambda facts: a(facts) and b(facts)
    return parts[0] if parts else _always


def _every_loop(parts: tuple[Predicate, ...]) -> Predicate:
    def every(facts: Facts) -> bool:
        for part in parts:
            if not part(facts):
                return False
        return True

    return every


def _some(parts: tuple[Predicate, ...]) -> Predicate:
    """Any part, stopping at the first that holds; short lists unrolled like `_every`."""
    if len(parts) > 4:
        return _some((_some(parts[:4]), *parts[4:])) if len(parts) <= 7 else _some_loop(parts)
    if len(parts) == 4:
        a, b, c, d = parts
        return lambda facts: a(facts) or b(facts) or c(facts) or d(facts)
    if len(parts) == 3:
        a, b, c = parts
        return lambda facts: a(facts) or b(facts) or c(facts)
    if len(parts) == 2:
        a, b = parts
        return lambda facts: a(facts) or b(facts)
    return parts[0] if parts else _never


def _some_loop(parts: tuple[Predicate, ...]) -> Predicate:
    def some(facts: Facts) -> bool:
        for part in parts:
            if part(facts):
                return True
        return False

    return some


def _negation(part: Predicate) -> Predicate:
    return lambda facts: not part(facts)


def _comparison(comparison: Comparison) -> Predicate:
    """One closure per operator, specialised so an event costs a dict lookup and one compare."""
    try:
        factory = _OPERATORS[comparison.op]
    except KeyError:
        raise ValueError(f"unknown operator {comparison.op!r} at {comparison.source}") from None
    return factory(comparison.fact, comparison.value)


def _eq(name: str, expected) -> Predicate:
    if expected is None:
        return _never
    return lambda facts: facts.get(name) == expected  # no value (None) equals no expected value


def _ne(name: str, expected) -> Predicate:
    return lambda facts: (value := facts.get(name)) is not None and value != expected


def _gt(name: str, expected) -> Predicate:
    return lambda facts: (value := facts.get(name)) is not None and value > expected


def _gte(name: str, expected) -> Predicate:
    return lambda facts: (value := facts.get(name)) is not None and value >= expected


def _lt(name: str, expected) -> Predicate:
    return lambda facts: (value := facts.get(name)) is not None and value < expected


def _lte(name: str, expected) -> Predicate:
    return lambda facts: (value := facts.get(name)) is not None and value <= expected


def _in(name: str, expected) -> Predicate:
    choices = frozenset(expected)
    if None in choices:
        return lambda facts: (value := facts.get(name)) is not None and value in choices
    return lambda facts: facts.get(name) in choices


def _not_in(name: str, expected) -> Predicate:
    choices = frozenset(expected)
    return lambda facts: (value := facts.get(name)) is not None and value not in choices


def _between(name: str, expected) -> Predicate:
    low, high = expected
    return lambda facts: (value := facts.get(name)) is not None and low <= value <= high


_OPERATORS: dict[str, Callable[[str, object], Predicate]] = {
    "eq": _eq,
    "ne": _ne,
    "gt": _gt,
    "gte": _gte,
    "lt": _lt,
    "lte": _lte,
    "in": _in,
    "not_in": _not_in,
    "between": _between,
}


def holds(comparison: Comparison, value: Scalar | None) -> bool:
    """Whether one comparison holds for a fact's value; `explain` uses it to show each leaf."""
    return _comparison(comparison)({comparison.fact: value})
