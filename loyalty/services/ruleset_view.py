"""The ruleset in force as marketing reads it: programmes, limits, and each rule on one line."""
from __future__ import annotations

from typing import Any

from loyalty.engine.model import Limit, Programme, Rule, Ruleset
from loyalty.engine.rule_text import describe_condition, describe_then


def describe_ruleset(ruleset: Ruleset) -> dict[str, Any]:
    """Version, every programme with its budget, cap and rules, and the reward catalogue's ids."""
    return {"version": ruleset.version, "programmes": [_programme(p) for p in ruleset.programmes],
            "rewards": [reward.id for reward in ruleset.rewards]}


def _programme(programme: Programme) -> dict[str, Any]:
    return {"id": programme.id, "name": programme.name, "description": programme.description,
            "budget": _limit(programme.budget), "cap": _limit(programme.cap),
            "rules": [_rule(rule) for rule in programme.rules]}


def _limit(limit: Limit | None) -> dict[str, Any] | None:
    return None if limit is None else {"points": limit.points, "per": limit.per}


def _rule(rule: Rule) -> dict[str, Any]:
    return {"id": rule.id, "description": rule.description, "on": rule.on, "once_per": rule.once_per,
            "group": rule.group, "priority": rule.priority,
            "valid": {"start": rule.valid.start, "until": rule.valid.until},
            "condition": describe_condition(rule.when), "awards": describe_then(rule.then),
            "clawback_on": rule.clawback_on, "source": str(rule.source)}
