"""Reading a rule's `when`: combinators and fact comparisons, type-checked against the catalogue."""
from __future__ import annotations

from loyalty.engine.facts import CATALOGUE, Fact, FactType
from loyalty.engine.model import COMBINATORS, OPERATORS, AllOf, AnyOf, Comparison, Condition, Not
from loyalty.engine.model import Scalar, SourceRef
from loyalty.engine.rule_fields import Scope, as_list, as_map, describe, suggestion
from loyalty.engine.yaml_source import ListNode, Node, ScalarNode

ORDERING = ("gt", "gte", "lt", "lte")
LISTS = ("in", "not_in")


def read_condition(scope: Scope, node: Node) -> Condition | None:
    """One condition: `all`/`any` of a list, `not` of one, or `fact: {operator: value}`."""
    mapping = as_map(scope, node, "a condition")
    if mapping is None:
        return None
    if len(mapping.entries) != 1:
        keys = ", ".join(mapping.entries) or "none"
        scope.report(
            mapping.line,
            f"a condition has exactly one key (all, any, not or a fact), got {keys}; "
            "to require several conditions put them in a list under 'all'",
        )
        return None
    (key, entry), = mapping.entries.items()
    source = SourceRef(scope.file, entry.key_line)
    if key in ("all", "any"):
        return _read_combination(scope, key, entry.value, source)
    if key == "not":
        part = read_condition(scope, entry.value)
        return Not(part, source) if part is not None else None
    if key not in CATALOGUE:
        hint = suggestion(key, (*CATALOGUE, *COMBINATORS))
        scope.report(entry.key_line, f"unknown fact '{key}'{hint or _fact_list()}")
        return None
    return _read_comparison(scope, CATALOGUE[key], entry.value, source)


def _fact_list() -> str:
    return f"; the facts are {', '.join(CATALOGUE)}"


def _read_combination(scope: Scope, key: str, node: Node, source: SourceRef) -> Condition | None:
    items = as_list(scope, node, f"'{key}'")
    if items is None:
        return None
    parts = [read_condition(scope, item) for item in items.items]
    if any(part is None for part in parts):
        return None
    return (AllOf if key == "all" else AnyOf)(tuple(parts), source)


def _read_comparison(scope: Scope, fact: Fact, node: Node, source: SourceRef) -> Comparison | None:
    mapping = as_map(scope, node, f"the test of '{fact.name}' (such as {{gte: 24}})")
    if mapping is None:
        return None
    if len(mapping.entries) != 1:
        found = ", ".join(mapping.entries) or "none"
        scope.report(mapping.line, f"'{fact.name}' takes exactly one operator, got {found}")
        return None
    (op, entry), = mapping.entries.items()
    if op not in OPERATORS:
        hint = suggestion(op, OPERATORS) or f"; the operators are {', '.join(OPERATORS)}"
        scope.report(entry.key_line, f"unknown operator '{op}' for '{fact.name}'{hint}")
        return None
    if not _operator_fits(scope, fact, op, entry.key_line):
        return None
    value = _read_operand(scope, fact, op, entry.value)
    return Comparison(fact.name, op, value, source) if value is not None else None


def _operator_fits(scope: Scope, fact: Fact, op: str, line: int) -> bool:
    if fact.type is FactType.TEXT and (op in ORDERING or op == "between"):
        scope.report(
            line,
            f"'{op}' compares numbers, but '{fact.name}' is text; use eq, ne, in or not_in",
        )
        return False
    if fact.type is FactType.BOOL and op not in ("eq", "ne"):
        scope.report(line, f"'{fact.name}' is true or false, so it takes only eq or ne, not '{op}'")
        return False
    return True


def _read_operand(scope: Scope, fact: Fact, op: str, node: Node) -> Scalar | tuple[Scalar, ...] | None:
    label = f"the value of '{fact.name}: {op}'"
    if op in LISTS:
        return _read_values(scope, fact, node, label)
    if op == "between":
        return _read_range(scope, fact, node, label)
    return _read_value(scope, fact, node, label)


def _read_values(scope: Scope, fact: Fact, node: Node, label: str) -> tuple[Scalar, ...] | None:
    items = as_list(scope, node, label)
    if items is None:
        return None
    values = [_read_value(scope, fact, item, label) for item in items.items]
    if any(value is None for value in values):
        return None
    return tuple(values)


def _read_range(scope: Scope, fact: Fact, node: Node, label: str) -> tuple[int, int] | None:
    if not isinstance(node, ListNode) or len(node.items) != 2:
        scope.report(node.line, f"{label} should be [low, high], two whole numbers, got {describe(node)}")
        return None
    low, high = (_read_value(scope, fact, item, label) for item in node.items)
    if low is None or high is None:
        return None
    if low > high:
        scope.report(node.line, f"{label} runs from {low} down to {high}; write the lower number first")
        return None
    return (low, high)


def _read_value(scope: Scope, fact: Fact, node: Node, label: str) -> Scalar | None:
    value = node.value if isinstance(node, ScalarNode) else None
    if fact.type is FactType.INT:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        scope.report(node.line, f"{label} should be a whole number, got {describe(node)}")
        return None
    if fact.type is FactType.BOOL:
        if isinstance(value, bool):
            return value
        scope.report(node.line, f"{label} should be true or false, got {describe(node)}")
        return None
    return _read_text_value(scope, fact, node, label)


def _read_text_value(scope: Scope, fact: Fact, node: Node, label: str) -> str | None:
    value = node.value if isinstance(node, ScalarNode) else None
    if not isinstance(value, str):
        hint = " (put it in quotes if it is meant as text)" if isinstance(node, ScalarNode) else ""
        scope.report(node.line, f"{label} should be text, got {describe(node)}{hint}")
        return None
    if fact.choices is not None and value not in fact.choices:
        hint = suggestion(value, fact.choices) or f"; it should be one of {', '.join(fact.choices)}"
        scope.report(node.line, f"'{value}' is not a {fact.name}{hint}")
        return None
    return value
