"""Turn a directory of rule files into a validated `Ruleset`, or refuse it with every problem.

Each `*.yaml`/`*.yml` file is one programme, except `rewards.yaml`, the reward catalogue. Like
beancount's loader, one pass reports every problem of every file at once; a ruleset with any
problem is refused whole, so the ruleset in force stays in force.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Mapping

from loyalty.engine.model import Programme, RewardItem, Ruleset
from loyalty.engine.reward_catalogue import read_rewards
from loyalty.engine.rule_fields import Scope, suggestion
from loyalty.engine.rule_programmes import Mention, Seen, read_programme
from loyalty.engine.yaml_source import (
    MAX_BYTES,
    Node,
    UnreadableSource,
    read_yaml_bytes,
    too_big_message,
)
from loyalty.errors import RuleProblem, RulesetInvalid

SUFFIXES = (".yaml", ".yml")
CATALOGUE_FILES = ("rewards.yaml", "rewards.yml")


def load_ruleset(directory: Path) -> Ruleset:
    """Every rule file of `directory` (sorted by name, not recursive) as one checked ruleset."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RulesetInvalid([RuleProblem(str(directory), None, "there is no rules directory here")])
    files: dict[str, bytes] = {}
    oversized: list[RuleProblem] = []
    for path in sorted(directory.iterdir()):
        if not _is_rule_file(path.name) or not path.is_file():
            continue
        size = path.stat().st_size
        if size > MAX_BYTES:
            oversized.append(RuleProblem(path.name, None, too_big_message(size)))
        else:
            files[path.name] = path.read_bytes()
    return _load(files, oversized)


def load_ruleset_from_texts(texts: Mapping[str, str]) -> Ruleset:
    """The same as `load_ruleset` for files given as {name: text}; handy in tests and the API."""
    return _load({name: text.encode("utf-8") for name, text in texts.items()}, [])


def ruleset_version(files: Mapping[str, bytes]) -> str:
    """A SHA-256 of the files' names and contents in name order: the ruleset's version."""
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        digest.update(f"{name}\0{len(data)}\0".encode("utf-8"))
        digest.update(data)
    return digest.hexdigest()


def _is_rule_file(name: str) -> bool:
    return name.endswith(SUFFIXES) and not name.startswith(".")


def _load(files: Mapping[str, bytes], problems: list[RuleProblem]) -> Ruleset:
    files = {name: data for name, data in files.items() if _is_rule_file(name)}
    seen = Seen()
    programmes: list[Programme] = []
    catalogue: tuple[RewardItem, ...] | None = None
    catalogue_files = [name for name in sorted(files) if name in CATALOGUE_FILES]
    for name in sorted(files):
        scope = Scope(name, problems)
        root = _parse(scope, files[name])
        if root is None:
            continue
        if name in CATALOGUE_FILES:
            catalogue = read_rewards(scope, root)
        elif (programme := read_programme(scope, root, seen)) is not None:
            programmes.append(programme)
    if len(catalogue_files) > 1:
        problems.append(RuleProblem(catalogue_files[1], None, "keep one reward catalogue: "
                                    f"{' and '.join(catalogue_files)} both exist"))
    _check_unique(problems, seen.programme_ids, "programme id")
    _check_unique(problems, seen.rule_ids, "rule id")
    if catalogue is not None:
        _check_rewards_exist(problems, seen.rewards_named, catalogue)
    if problems:
        raise RulesetInvalid(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    return Ruleset(ruleset_version(files), tuple(programmes), catalogue or ())


def _parse(scope: Scope, data: bytes) -> Node | None:
    try:
        return read_yaml_bytes(data)
    except UnreadableSource as unreadable:
        for problem in unreadable.problems:
            scope.report(problem.line, problem.message)
        return None


def _check_unique(problems: list[RuleProblem], mentions: list[Mention], what: str) -> None:
    first: dict[str, Mention] = {}
    for mention in mentions:
        if mention.id in first:
            message = (f"the {what} '{mention.id}' is already used at {first[mention.id].source}; "
                       f"each {what} must be unique across all files")
            problems.append(RuleProblem(mention.source.file, mention.source.line, message, mention.rule_id))
        first.setdefault(mention.id, mention)


def _check_rewards_exist(
    problems: list[RuleProblem], mentions: list[Mention], catalogue: tuple[RewardItem, ...]
) -> None:
    known = [reward.id for reward in catalogue]
    for mention in mentions:
        if mention.id not in known:
            hint = suggestion(mention.id, known) or f"; the rewards are {', '.join(known)}"
            message = f"the reward '{mention.id}' is not in the reward catalogue{hint}"
            problems.append(RuleProblem(mention.source.file, mention.source.line, message, mention.rule_id))
