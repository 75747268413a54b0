"""Reading one programme file: the programme's own keys, its limits and each of its rules."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from typing import Iterator

from loyalty.engine.model import EVENT_TYPES, ONCE_PER, Limit, Programme, Rule, SourceRef, Validity
from loyalty.engine.rule_awards import read_then
from loyalty.engine.rule_conditions import read_condition
from loyalty.engine.rule_fields import (
    Scope,
    as_list,
    as_map,
    check_keys,
    read_choice,
    read_field,
    read_date,
    read_id,
    read_int,
    read_text,
)
from loyalty.engine.yaml_source import MapNode, Node, ScalarNode

PROGRAMME_KEYS = ("programme", "name", "description", "budget", "cap", "rules")
RULE_KEYS = (
    "id", "description", "on", "when", "then", "once_per", "group", "priority", "valid", "clawback_on",
)
LIMIT_PERIODS = ("year", "month", "programme")


@dataclass(frozen=True)
class Mention:
    """An id met while reading, kept for the checks that span files (uniqueness, rewards)."""

    id: str
    source: SourceRef
    rule_id: str | None = None


@dataclass
class Seen:
    """Everything the cross-file checks need, gathered even from rules that have problems."""

    programme_ids: list[Mention] = field(default_factory=list)
    rule_ids: list[Mention] = field(default_factory=list)
    rewards_named: list[Mention] = field(default_factory=list)
    order: Iterator[int] = field(default_factory=count)


def read_programme(scope: Scope, root: Node, seen: Seen) -> Programme | None:
    """A whole programme file, or `None` when anything in it is wrong (all of it reported)."""
    mapping = as_map(scope, root, "a programme file")
    if mapping is None:
        return None
    before = len(scope.problems)
    check_keys(scope, mapping, "the programme", PROGRAMME_KEYS, ("programme", "name", "rules"))
    programme_id = read_field(scope, mapping, "programme", read_id)
    if programme_id is not None:
        seen.programme_ids.append(Mention(programme_id, _where(scope, mapping, "programme")))
    name = read_field(scope, mapping, "name", read_text)
    description = read_field(scope, mapping, "description", read_text) or ""
    budget = read_field(scope, mapping, "budget", read_limit)
    cap = read_field(scope, mapping, "cap", read_limit)
    rules = _read_rules(scope, mapping, programme_id or "", seen)
    if len(scope.problems) != before or programme_id is None or name is None:
        return None
    source = _where(scope, mapping, "programme")
    return Programme(programme_id, name, source, tuple(rules), description, budget, cap)


def _read_rules(scope: Scope, mapping: MapNode, programme_id: str, seen: Seen) -> list[Rule]:
    node = mapping.get("rules")
    items = as_list(scope, node, "'rules'") if node is not None else None
    if items is None:
        return []
    rules = [read_rule(scope, item, programme_id, seen) for item in items.items]
    return [rule for rule in rules if rule is not None]


def read_rule(scope: Scope, node: Node, programme_id: str, seen: Seen) -> Rule | None:
    """One rule of a programme; problems inside it are labelled with its id."""
    order = next(seen.order)
    mapping = as_map(scope, node, "a rule")
    if mapping is None:
        return None
    scope = scope.in_rule(_written_id(mapping))
    rule_id = _rule_id(scope, mapping, seen)
    before = len(scope.problems)
    check_keys(scope, mapping, "the rule", RULE_KEYS, ("id", "on", "then"))
    _note_reward(scope, mapping, seen)
    on = read_field(scope, mapping, "on", _read_event)
    then = read_field(scope, mapping, "then", lambda s, n, _: read_then(s, n, on))
    fields = dict(
        when=read_field(scope, mapping, "when", lambda s, n, _: read_condition(s, n)),
        description=read_field(scope, mapping, "description", read_text) or "",
        once_per=read_field(scope, mapping, "once_per", _read_once_per) or "event",
        group=read_field(scope, mapping, "group", read_text),
        priority=read_field(scope, mapping, "priority", read_int) or 0,
        valid=read_field(scope, mapping, "valid", read_validity) or Validity(),
        clawback_on=read_field(scope, mapping, "clawback_on", _read_event),
    )
    if len(scope.problems) != before or not (rule_id and on and then):
        return None
    source = SourceRef(scope.file, mapping.line)
    return Rule(rule_id, programme_id, on, then, source, order, **fields)


def _written_id(mapping: MapNode) -> str | None:
    """The rule's id as written, good or bad, to label its problems."""
    node = mapping.get("id")
    raw = node.value if isinstance(node, ScalarNode) else None
    return raw if isinstance(raw, str) else None


def _rule_id(scope: Scope, mapping: MapNode, seen: Seen) -> str | None:
    node = mapping.get("id")
    rule_id = read_id(scope, node, "the rule id") if node is not None else None
    if rule_id is not None:
        seen.rule_ids.append(Mention(rule_id, _where(scope, mapping, "id"), rule_id))
    return rule_id


def _note_reward(scope: Scope, mapping: MapNode, seen: Seen) -> None:
    then = mapping.get("then")
    reward = then.get("reward") if isinstance(then, MapNode) else None
    if isinstance(reward, ScalarNode) and isinstance(reward.value, str):
        seen.rewards_named.append(Mention(reward.value, SourceRef(scope.file, reward.line), scope.rule_id))


def _read_event(scope: Scope, node: Node, label: str) -> str | None:
    return read_choice(scope, node, label, EVENT_TYPES, "an event")


def _read_once_per(scope: Scope, node: Node, label: str) -> str | None:
    return read_choice(scope, node, label, ONCE_PER, "a period")


def read_limit(scope: Scope, node: Node, label: str) -> Limit | None:
    """A `budget` or `cap`: `{points: 5000000, per: year}`."""
    mapping = as_map(scope, node, label)
    if mapping is None:
        return None
    before = len(scope.problems)
    check_keys(scope, mapping, label, ("points", "per"), ("points",))
    points = read_field(scope, mapping, "points", lambda s, n, l: read_int(s, n, f"{l} in {label}", 1))
    per = read_field(
        scope, mapping, "per", lambda s, n, l: read_choice(s, n, f"{l} in {label}", LIMIT_PERIODS, "a period")
    )
    if len(scope.problems) != before or points is None:
        return None
    return Limit(points=points, per=per or "year")


def read_validity(scope: Scope, node: Node, label: str) -> Validity | None:
    """`{from: date, until: date}`, either end optional, never ending before it starts."""
    mapping = as_map(scope, node, label)
    if mapping is None:
        return None
    before = len(scope.problems)
    check_keys(scope, mapping, label, ("from", "until"))
    if not mapping.entries:
        scope.report(mapping.line, f"{label} should give 'from', 'until' or both")
    start = read_field(scope, mapping, "from", read_date)
    until = read_field(scope, mapping, "until", read_date)
    if start and until and until < start:
        scope.report(mapping.line, f"{label} ends on {until} before it starts on {start}")
    return Validity(start, until) if len(scope.problems) == before else None



def _where(scope: Scope, mapping: MapNode, key: str) -> SourceRef:
    return SourceRef(scope.file, mapping.key_line(key))
