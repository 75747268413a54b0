"""Reading `rewards.yaml`: the catalogue of items customers spend points on or rules grant."""
from __future__ import annotations

import re

from loyalty.engine.model import RewardItem, SourceRef
from loyalty.engine.rule_fields import (
    Scope,
    as_list,
    as_map,
    check_keys,
    read_choice,
    read_field,
    read_id,
    read_int,
    read_text,
)
from loyalty.engine.yaml_source import Node

REWARD_KEYS = ("id", "name", "kind", "points_cost", "stock", "per_customer_limit", "value")
KINDS = ("bill_credit", "speed_upgrade", "gift")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_COUNTS = {"points_cost": 1, "stock": 0, "per_customer_limit": 1, "value": 1}


def read_rewards(scope: Scope, root: Node) -> tuple[RewardItem, ...] | None:
    """The whole catalogue, or `None` when anything in it is wrong (all of it reported)."""
    mapping = as_map(scope, root, "the reward catalogue")
    if mapping is None:
        return None
    before = len(scope.problems)
    check_keys(scope, mapping, "the reward catalogue", ("rewards",), ("rewards",))
    node = mapping.get("rewards")
    items = as_list(scope, node, "'rewards'") if node is not None else None
    rewards = [read_reward(scope, item) for item in items.items] if items else []
    _check_unique(scope, [reward for reward in rewards if reward is not None])
    if len(scope.problems) != before:
        return None
    return tuple(reward for reward in rewards if reward is not None)


def read_reward(scope: Scope, node: Node) -> RewardItem | None:
    """One catalogue item; a bill credit must say its value in VND."""
    mapping = as_map(scope, node, "a reward")
    if mapping is None:
        return None
    before = len(scope.problems)
    check_keys(scope, mapping, "the reward", REWARD_KEYS, ("id", "name", "kind", "points_cost"))
    reward_id = read_field(scope, mapping, "id", read_id)
    names = read_field(scope, mapping, "name", _read_names)
    kind = read_field(scope, mapping, "kind", lambda s, n, l: read_choice(s, n, l, KINDS, "a kind of reward"))
    counts = {
        key: read_int(scope, mapping.get(key), f"'{key}'", minimum)
        for key, minimum in _COUNTS.items()
        if mapping.get(key) is not None
    }
    if kind == "bill_credit" and "value" not in mapping.entries:
        scope.report(mapping.line, "a bill_credit reward needs 'value': the amount in VND taken off the bill")
    if len(scope.problems) != before or not (reward_id and names and kind):
        return None
    return RewardItem(reward_id, names, kind, source=SourceRef(scope.file, mapping.line), **counts)


def _read_names(scope: Scope, node: Node, label: str) -> dict[str, str] | None:
    mapping = as_map(scope, node, f"{label} (such as {{vi: ..., en: ...}})")
    if mapping is None:
        return None
    before = len(scope.problems)
    names: dict[str, str] = {}
    for language, entry in mapping.entries.items():
        if not _LANGUAGE.fullmatch(language):
            scope.report(entry.key_line, f"'{language}' in {label} is not a language code such as vi or en")
            continue
        text = read_text(scope, entry.value, f"the {language} name")
        if text is not None:
            names[language] = text
    if "vi" not in mapping.entries:
        scope.report(mapping.line, f"{label} needs a Vietnamese name under 'vi'")
    return names if len(scope.problems) == before else None


def _check_unique(scope: Scope, rewards: list[RewardItem]) -> None:
    first: dict[str, RewardItem] = {}
    for reward in rewards:
        if reward.id in first:
            scope.report(
                reward.source.line,
                f"the reward id '{reward.id}' is already used at {first[reward.id].source}",
            )
        first.setdefault(reward.id, reward)

