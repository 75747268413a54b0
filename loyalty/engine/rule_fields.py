"""Reading typed fields out of located YAML nodes, collecting every problem instead of stopping.

Each reader returns the value, or `None` after reporting, in the reader's `Scope`, a sentence
that says what was expected and what was written, so that one pass finds every mistake.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Callable, Iterable, Sequence, TypeVar

from loyalty.engine.yaml_source import ListNode, MapNode, Node, ScalarNode
from loyalty.errors import RuleProblem

T = TypeVar("T")
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
ID_HINT = "lower-case letters, digits and hyphens, such as 'second-anniversary'"


@dataclass(frozen=True)
class Scope:
    """Where problems are being found: the file, the rule (if any), and the shared list."""

    file: str
    problems: list[RuleProblem]
    rule_id: str | None = None

    def report(self, line: int | None, message: str) -> None:
        """Record one problem at `line` of this scope's file and rule."""
        self.problems.append(RuleProblem(self.file, line, message, self.rule_id))

    def in_rule(self, rule_id: str | None) -> "Scope":
        """The same file and list, with problems labelled by `rule_id`."""
        return replace(self, rule_id=rule_id)


def suggestion(word: object, candidates: Iterable[str]) -> str:
    """"; did you mean 'x'?" for a close match of `word`, or nothing."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def describe(node: Node) -> str:
    """What a node holds, in words: "text 'abc'", "the number 5", "a list", ..."""
    if isinstance(node, MapNode):
        return "a mapping of keys"
    if isinstance(node, ListNode):
        return "a list"
    value = node.value
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (yes/no)"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the decimal number {value}"
    if isinstance(value, datetime):
        return f"the date and time {value.isoformat()}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    return f"text '{value}'"


def as_map(scope: Scope, node: Node, label: str) -> MapNode | None:
    """The node as a mapping, or `None` after saying what `label` should have been."""
    if isinstance(node, MapNode):
        return node
    scope.report(node.line, f"{label} should be a mapping of keys to values, got {describe(node)}")
    return None


def as_list(scope: Scope, node: Node, label: str) -> ListNode | None:
    """The node as a non-empty list, or `None` after reporting."""
    if not isinstance(node, ListNode):
        scope.report(node.line, f"{label} should be a list, got {describe(node)}")
        return None
    if not node.items:
        scope.report(node.line, f"{label} should not be an empty list")
        return None
    return node


def check_keys(
    scope: Scope, node: MapNode, what: str, allowed: Sequence[str], required: Sequence[str] = ()
) -> None:
    """Report every key of `node` not in `allowed` (with a close match) and every missing one."""
    for key, entry in node.entries.items():
        if key not in allowed:
            hint = suggestion(key, allowed) or f"; the keys allowed are {', '.join(allowed)}"
            scope.report(entry.key_line, f"unknown key '{key}' in {what}{hint}")
    for key in required:
        if key not in node.entries:
            scope.report(node.line, f"{what} is missing '{key}'")


def read_field(scope: Scope, mapping: MapNode, key: str, reader: Callable[[Scope, Node, str], T]) -> T | None:
    """`reader(scope, value, "'key'")` when `key` is present, else `None`."""
    node = mapping.get(key)
    return reader(scope, node, f"'{key}'") if node is not None else None


def read_int(scope: Scope, node: Node, label: str, minimum: int | None = None) -> int | None:
    """A whole number (never true/false) of at least `minimum`."""
    value = node.value if isinstance(node, ScalarNode) else None
    if not isinstance(value, int) or isinstance(value, bool):
        scope.report(node.line, f"{label} should be a whole number, got {describe(node)}")
        return None
    if minimum is not None and value < minimum:
        bound = "more than 0" if minimum == 1 else f"at least {minimum}"
        scope.report(node.line, f"{label} should be {bound}, got {value}")
        return None
    return value


def read_bool(scope: Scope, node: Node, label: str) -> bool | None:
    """`true` or `false`."""
    value = node.value if isinstance(node, ScalarNode) else None
    if not isinstance(value, bool):
        scope.report(node.line, f"{label} should be true or false, got {describe(node)}")
        return None
    return value


def read_text(scope: Scope, node: Node, label: str) -> str | None:
    """Non-empty text; a number or yes/no written where text belongs is refused with a hint."""
    value = node.value if isinstance(node, ScalarNode) else None
    if not isinstance(value, str):
        quotable = isinstance(node, ScalarNode) and node.value is not None
        hint = " (put it in quotes if it is meant as text)" if quotable else ""
        scope.report(node.line, f"{label} should be text, got {describe(node)}{hint}")
        return None
    if not value.strip():
        scope.report(node.line, f"{label} should not be empty")
        return None
    return value


def read_id(scope: Scope, node: Node, label: str) -> str | None:
    """An identifier: lower-case letters, digits and hyphens."""
    value = read_text(scope, node, label)
    if value is not None and not ID_PATTERN.fullmatch(value):
        scope.report(node.line, f"{label} '{value}' should use only {ID_HINT}")
        return None
    return value


def read_choice(
    scope: Scope, node: Node, label: str, choices: Sequence[str], noun: str = "a choice"
) -> str | None:
    """One of `choices`, with a close match suggested for a misspelling."""
    value = read_text(scope, node, label)
    if value is not None and value not in choices:
        hint = suggestion(value, choices) or f"; it should be one of {', '.join(choices)}"
        scope.report(node.line, f"{label}: '{value}' is not {noun}{hint}")
        return None
    return value


def read_date(scope: Scope, node: Node, label: str) -> date | None:
    """A calendar date written as YYYY-MM-DD."""
    value = node.value if isinstance(node, ScalarNode) else None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            scope.report(node.line, f"{label} '{value}' is not a date; write it as YYYY-MM-DD")
            return None
    if isinstance(value, datetime) or not isinstance(value, date):
        scope.report(node.line, f"{label} should be a date written as YYYY-MM-DD, got {describe(node)}")
        return None
    return value
