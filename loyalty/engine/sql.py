"""Rule conditions compiled to SQLAlchemy Core expressions, for the batch over all customers.

The meaning is the Python predicate's (`loyalty.engine.predicate`), exactly: a comparison on a
fact without a value is false, and `not` inverts that definite answer. The compiler pushes every
`not` down to the comparisons (negation normal form), where a negated comparison becomes
`fact IS NULL OR <the opposite comparison>`. Above them only "all" and "any" remain, compiled as
`CASE WHEN part THEN ... ELSE false END`: CASE treats an unknown (NULL) comparison as not taken,
which is exactly "false", and it stops at the first part that decides, which SQLite's AND and OR
do not (a 50-rule scan is ten times faster for it).
Text is ordered by code point on both databases, as Python orders it. This module builds
expressions only; it never opens a connection, and the caller passes the column of every fact.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from sqlalchemy import ColumnElement, and_, case, false, not_, or_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import Case, False_, Null, True_
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

from loyalty.engine.facts import CATALOGUE, FactType
from loyalty.engine.model import AllOf, AnyOf, Comparison, Condition, Not, Rule

Columns = Mapping[str, ColumnElement[Any]]
AtLeast = Callable[[int], ColumnElement[bool]]
Thresholds = Mapping[str, AtLeast]
_Compiled = tuple[ColumnElement[bool], bool]
"""An expression, and whether it may be NULL (unknown) rather than a definite boolean."""

_ORDERING = {"gt", "gte", "lt", "lte", "between"}
_OPPOSITE = {"eq": "ne", "ne": "eq", "gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt",
             "in": "not_in", "not_in": "in"}


def compile_sql(
    condition: Condition | None, columns: Columns, thresholds: Thresholds | None = None
) -> ColumnElement[bool]:
    """A definite boolean SQL expression that holds exactly where `condition` holds.

    `thresholds` optionally gives, for integer facts that are never NULL, a cheaper test
    "fact >= k" than comparing the column's expression (tenure: one comparison on the start
    date instead of a CASE); every integer operator is then compiled from it.
    """
    if condition is None:
        return true()
    expression, may_be_null = _compile(condition, columns, thresholds or {}, negated=False)
    return _definite(expression) if may_be_null else expression


def batch_matches(rule: Rule, columns: Columns, thresholds: Thresholds | None = None) -> ColumnElement[bool]:
    """Whether a rule's condition holds, per customer row; a rule without `when` always does."""
    return compile_sql(rule.when, columns, thresholds)


def compile_sql_choice(
    condition: Condition | None, columns: Columns, then: Any, otherwise: Any,
    thresholds: Thresholds | None = None,
) -> ColumnElement[Any]:
    """`then` where `condition` holds, `otherwise` where it does not (never NULL, if neither is).

    The same as `CASE WHEN compile_sql(...) THEN then ELSE otherwise END`, one CASE fewer per row:
    each place where the compiled condition settles on true or false yields the value itself (the
    innermost test of an `all`, every branch of an `any`), so a rule's bit in a mask costs no more
    than its condition.
    """
    if condition is None:
        return then
    expression, _ = _compile(condition, columns, thresholds or {}, negated=False)
    return _choose(expression, then, otherwise)


def _choose(expression: ColumnElement[Any], then: Any, otherwise: Any) -> ColumnElement[Any]:
    """`expression` (true, false or NULL) mapped to `then` where true, else `otherwise`."""
    if isinstance(expression, True_):
        return then
    if isinstance(expression, False_):
        return otherwise
    if isinstance(expression, Case) and expression.value is None and isinstance(expression.else_, False_):
        whens = [(test, _choose(result, then, otherwise)) for test, result in expression.whens]
        return case(*whens, else_=otherwise)
    return case((expression, then), else_=otherwise)


def _compile(condition: Condition, columns: Columns, thresholds: Thresholds, negated: bool) -> _Compiled:
    if isinstance(condition, Comparison):
        if condition.fact in thresholds:
            return _by_threshold(thresholds[condition.fact], condition, negated), False
        return _comparison(condition, columns, negated)
    if isinstance(condition, Not):
        return _compile(condition.part, columns, thresholds, not negated)
    if isinstance(condition, (AllOf, AnyOf)):
        conjunction = isinstance(condition, AllOf) != negated  # De Morgan
        ordered = sorted(condition.parts, key=_cost)  # the cheap tests first: CASE stops early
        parts = [_compile(part, columns, thresholds, negated) for part in ordered]
        return _combine(parts, conjunction)
    raise TypeError(f"not a condition: {condition!r}")


def _cost(condition: Condition) -> int:
    """A rough per-row cost: one for a plain comparison, more for lists and nested parts."""
    if isinstance(condition, Comparison):
        return 2 if condition.op in ("in", "not_in", "between") else 1
    if isinstance(condition, Not):
        return _cost(condition.part)
    return 1 + sum(_cost(part) for part in condition.parts)


def _by_threshold(at_least: AtLeast, comparison: Comparison, negated: bool) -> ColumnElement[bool]:
    """Every integer operator from "fact >= k" alone; the fact is never NULL, so `not` is plain."""
    op, value = comparison.op, comparison.value

    def equals(v: int) -> ColumnElement[bool]:
        return and_(at_least(v), not_(at_least(v + 1)))

    if op in ("in", "not_in"):
        test = or_(false(), *(equals(v) for v in value))
        test = not_(test) if op == "not_in" else test
    elif op == "between":
        test = and_(at_least(value[0]), not_(at_least(value[1] + 1)))
    else:
        test = {"gte": lambda: at_least(value), "gt": lambda: at_least(value + 1),
                "lt": lambda: not_(at_least(value)), "lte": lambda: not_(at_least(value + 1)),
                "eq": lambda: equals(value), "ne": lambda: not_(equals(value))}[op]()
    return not_(test) if negated else test


def _combine(parts: list[_Compiled], conjunction: bool) -> _Compiled:
    """All (nested CASE, innermost last) or any (one CASE) of parts, stopping at the first decider."""
    neutral, decisive = (True_, False_) if conjunction else (False_, True_)
    if any(isinstance(expression, decisive) for expression, _ in parts):
        return (false() if conjunction else true()), False
    parts = [part for part in parts if not isinstance(part[0], neutral)]
    if not parts:
        return (true() if conjunction else false()), False
    if len(parts) == 1:
        return parts[0]
    if not conjunction:
        return case(*((expression, true()) for expression, _ in parts), else_=false()), False
    last, last_may_be_null = parts[-1]
    combined = _definite(last) if last_may_be_null else last
    for expression, _ in reversed(parts[:-1]):
        combined = case((expression, combined), else_=false())
    return combined, False


def _definite(expression: ColumnElement[bool]) -> ColumnElement[bool]:
    """true where `expression` is true; false where it is false or unknown (NULL)."""
    return case((expression, true()), else_=false())


def _comparison(comparison: Comparison, columns: Columns, negated: bool) -> _Compiled:
    try:
        column = columns[comparison.fact]
    except KeyError:
        raise ValueError(f"no SQL column for fact {comparison.fact!r} at {comparison.source}") from None
    if isinstance(column, Null):  # a fact that never has a value here, e.g. event facts in a batch
        return (true() if negated else false()), False
    nullable = _may_be_null(column)
    if comparison.op in _ORDERING and _is_text(comparison.fact, column):
        column = codepoint_order(column)
    if not negated:
        return _positive(column, comparison.op, comparison.value), nullable
    opposite = _negative(column, comparison.op, comparison.value)
    return (or_(column.is_(None), opposite) if nullable else opposite), False


def _positive(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    """The comparison itself; NULL where the fact has no value, which CASE treats as not taken."""
    if op == "in":
        return column.in_(value) if value else false()
    if op == "not_in":
        return column.not_in(value) if value else column.is_not(None)
    if op == "between":
        low, high = value
        return column.between(low, high)
    return _BINARY[op](column, value)


def _negative(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    """The opposite comparison, for facts that have a value (the caller adds `IS NULL OR`)."""
    if op == "between":
        low, high = value
        return or_(column < low, column > high)
    if op == "in":
        return column.not_in(value) if value else true()
    if op == "not_in":
        return column.in_(value) if value else false()
    return _BINARY[_OPPOSITE[op]](column, value)


_BINARY = {
    "eq": lambda column, value: column == value,
    "ne": lambda column, value: column != value,
    "gt": lambda column, value: column > value,
    "gte": lambda column, value: column >= value,
    "lt": lambda column, value: column < value,
    "lte": lambda column, value: column <= value,
}


def _may_be_null(column: ColumnElement[Any]) -> bool:
    """Only a table column declared NOT NULL is known never to be NULL."""
    return getattr(column, "nullable", True) is not False


def _is_text(fact: str, column: ColumnElement[Any]) -> bool:
    known = CATALOGUE.get(fact)
    return known.type is FactType.TEXT if known else isinstance(column.type, String)


class codepoint_order(FunctionElement[str]):
    """A text column compared by Unicode code point, as Python compares `str`.

    SQLite's default BINARY collation already does (UTF-8 byte order is code point order);
    PostgreSQL needs `COLLATE "C"`, whatever the database's own collation.
    """

    type = String()
    inherit_cache = True


@compiles(codepoint_order)
def _codepoint_order_default(element: codepoint_order, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(codepoint_order, "postgresql")
def _codepoint_order_postgresql(element: codepoint_order, compiler, **kw) -> str:
    return f'({compiler.process(element.clauses, **kw)} COLLATE "C")'
