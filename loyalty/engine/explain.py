"""Why a customer did or did not get a reward: every rule, every condition, every fact's value.

An explanation mirrors the rule's condition tree, each node with its outcome and source line, so
marketing can point at the exact line that failed. It also says what stopped a matching rule:
its validity window, or another rule of its group with precedence. Plain values, rendered as text
for the CLI (`render_text`) and as JSON-ready dicts for the API (`as_dict`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

from loyalty.engine.decide import (
    BEATEN_IN_GROUP,
    OUTSIDE_WINDOW,
    CompiledRuleset,
    compile_ruleset,
    decide,
    describe_window,
    is_valid_on,
    outranks,
)
from loyalty.engine.facts import EventSnapshot
from loyalty.engine.model import AllOf, AnyOf, Comparison, Condition, Not, Rule, Ruleset, Scalar, SourceRef
from loyalty.engine.predicate import holds

YES, NO = "✓", "✗"
_WORDS = {"all": "all of", "any": "any of", "not": "not"}


@dataclass(frozen=True)
class ConditionExplanation:
    """One node of a condition: a comparison with the fact's value, or all/any/not of parts."""

    kind: str
    """`fact`, `all`, `any` or `not`."""
    holds: bool
    source: SourceRef
    fact: str | None = None
    op: str | None = None
    expected: Scalar | tuple[Scalar, ...] | None = None
    actual: Scalar | None = None
    parts: tuple["ConditionExplanation", ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: lists for tuples, `file:line` for the source."""
        if self.kind == "fact":
            return {"kind": "fact", "holds": self.holds, "source": str(self.source),
                    "fact": self.fact, "op": self.op, "expected": _jsonable(self.expected),
                    "actual": self.actual}
        return {"kind": self.kind, "holds": self.holds, "source": str(self.source),
                "parts": [part.as_dict() for part in self.parts]}

    def lines(self, depth: int = 0) -> list[str]:
        """Indented lines, one per node, each with its outcome and source line."""
        mark = YES if self.holds else NO
        if self.kind == "fact":
            value = f"= {_show(self.actual)}" if self.actual is not None else "has no value"
            text = f"{self.fact} {value}, needs {self.op} {_show(self.expected)}"
        else:
            text = _WORDS[self.kind]
        head = f"{'  ' * depth}{mark} {text}  ({self.source})"
        return [head, *(line for part in self.parts for line in part.lines(depth + 1))]


@dataclass(frozen=True)
class RuleExplanation:
    """One rule for one customer: whether its condition holds and whether it would award."""

    rule_id: str
    programme_id: str
    on: str
    description: str
    source: SourceRef
    matched: bool
    condition: ConditionExplanation | None
    window: str
    stopped_by: str | None = None
    """Why a matching rule does not award (its window, its group); `None` when it awards."""
    beaten_by: str | None = None

    @property
    def awards(self) -> bool:
        return self.matched and self.stopped_by is None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for `GET /customers/{id}/explain`."""
        return {"rule_id": self.rule_id, "programme_id": self.programme_id, "on": self.on,
                "description": self.description, "source": str(self.source),
                "matched": self.matched, "awards": self.awards, "window": self.window,
                "stopped_by": self.stopped_by, "beaten_by": self.beaten_by,
                "condition": self.condition.as_dict() if self.condition else None}

    def render_text(self) -> str:
        """A readable multi-line explanation for the terminal."""
        mark = YES if self.awards else NO
        verdict = "awards" if self.awards else (
            f"matches, but {self.stopped_by}" if self.matched else "does not match")
        about = f" — {self.description}" if self.description else ""
        lines = [f"{mark} {self.rule_id}{about}",
                 f"    programme {self.programme_id}, on {self.on}, {self.source}: {verdict}"]
        if self.condition is None:
            lines.append("    (no conditions: every customer matches)")
        else:
            lines.extend(self.condition.lines(depth=2))
        return "\n".join(lines)


def explain(
    ruleset: Ruleset | CompiledRuleset,
    facts: Mapping[str, Scalar | None],
    today: date,
    event_type: str | None = None,
    event: EventSnapshot | None = None,
    main_contract_id: str | None = None,
) -> list[RuleExplanation]:
    """Every rule (or those `on` event_type), in file order: matched or not, and why.

    Without an event, precedence is judged among the rules of the same `on` whose conditions
    hold and whose windows contain `today`. With an event (its type is then the filter), the
    reasons are exactly `decide`'s, including amounts that come to nothing.
    """
    compiled = compile_ruleset(ruleset)
    event_type = event.type if event is not None else event_type
    rules = [r for r in compiled.ruleset.rules if event_type is None or r.on == event_type]
    trees = {r.id: explain_condition(r.when, facts) if r.when is not None else None for r in rules}
    matched = {r.id: trees[r.id].holds if trees[r.id] else True for r in rules}
    if event is not None:
        decision = decide(compiled, facts, event, today, main_contract_id)
        stops = {p.rule_id: (p.reason, p.beaten_by) for p in decision.passed_over}
    else:
        stops = _stops_without_event([r for r in rules if matched[r.id]], today)
    return [
        RuleExplanation(
            rule_id=r.id, programme_id=r.programme, on=r.on, description=r.description,
            source=r.source, matched=matched[r.id], condition=trees[r.id],
            window=describe_window(r.valid), stopped_by=stops.get(r.id, (None, None))[0],
            beaten_by=stops.get(r.id, (None, None))[1],
        )
        for r in rules
    ]


def render_text(explanations: list[RuleExplanation]) -> str:
    """All explanations, one block per rule, for `loyalty explain CUSTOMER_ID`."""
    return "\n\n".join(e.render_text() for e in explanations) or "No rules apply."


def explain_condition(condition: Condition, facts: Mapping[str, Scalar | None]) -> ConditionExplanation:
    """The condition tree with every node's outcome; comparisons show the fact's value."""
    if isinstance(condition, Comparison):
        actual = facts.get(condition.fact)
        return ConditionExplanation("fact", holds(condition, actual), condition.source,
                                    condition.fact, condition.op, condition.value, actual)
    if isinstance(condition, Not):
        part = explain_condition(condition.part, facts)
        return ConditionExplanation("not", not part.holds, condition.source, parts=(part,))
    if isinstance(condition, (AllOf, AnyOf)):
        parts = tuple(explain_condition(p, facts) for p in condition.parts)
        outcomes = [p.holds for p in parts]
        kind, outcome = ("all", all(outcomes)) if isinstance(condition, AllOf) else ("any", any(outcomes))
        return ConditionExplanation(kind, outcome, condition.source, parts=parts)
    raise TypeError(f"not a condition: {condition!r}")


def _stops_without_event(matching: list[Rule], today: date) -> dict[str, tuple[str, str | None]]:
    stops: dict[str, tuple[str, str | None]] = {}
    best: dict[tuple[str, str], Rule] = {}
    for rule in matching:
        if not is_valid_on(rule.valid, today):
            stops[rule.id] = (f"{OUTSIDE_WINDOW}: {describe_window(rule.valid)}", None)
        elif rule.group is not None:
            key = (rule.on, rule.group)
            if key not in best or outranks(rule, best[key]):
                best[key] = rule
    for rule in matching:
        winner = best.get((rule.on, rule.group)) if rule.group is not None else None
        if rule.id not in stops and winner is not None and winner is not rule:
            stops[rule.id] = (f"{BEATEN_IN_GROUP}: group {rule.group} is won by {winner.id}", winner.id)
    return stops


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
