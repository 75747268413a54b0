"""Read one rule file's YAML safely into a small tree of nodes that remember their lines.

Rule files are written by people and read by a server, so this reader refuses what could hurt
it: files over 1 MB (never parsed), aliases (the "billion laughs" bomb), any tag but the plain
YAML ones (`!!python/object` and friends), and nesting deeper than 32 levels. Keys are taken as
written, so YAML 1.1's `on:` stays the word "on" and never turns into `true`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import yaml

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32

_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)


@dataclass(frozen=True)
class ScalarNode:
    """A single value: text, a whole number, true/false, a date, or nothing (`None`)."""

    value: object
    line: int


@dataclass(frozen=True)
class ListNode:
    items: tuple["Node", ...]
    line: int


@dataclass(frozen=True)
class Entry:
    """One `key: value` of a mapping; `key_line` is where the key was written."""

    key_line: int
    value: "Node"


@dataclass(frozen=True)
class MapNode:
    entries: dict[str, Entry]
    line: int

    def get(self, key: str) -> "Node | None":
        entry = self.entries.get(key)
        return entry.value if entry else None

    def key_line(self, key: str) -> int:
        entry = self.entries.get(key)
        return entry.key_line if entry else self.line


Node = Union[ScalarNode, ListNode, MapNode]


@dataclass(frozen=True)
class SourceProblem:
    line: int | None
    message: str


class UnreadableSource(Exception):
    """The text is not YAML this engine will read; `problems` say where and why."""

    def __init__(self, problems: list[SourceProblem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class _Refused(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


class _GuardedLoader(yaml.SafeLoader):
    """The safe loader, refusing aliases outright and bounding the depth of nesting."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(
                event.start_mark.line + 1,
                f"uses the YAML alias '*{event.anchor}'; aliases and anchors are not allowed in "
                "rule files (they can multiply a small file into a huge one), so write the value out",
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(
                    mark.line + 1, f"is nested more than {MAX_DEPTH} levels deep, which is not allowed"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_yaml_bytes(data: bytes) -> Node:
    """Decode and read a file's bytes, refusing files over 1 MB before parsing them."""
    _refuse_if_too_big(len(data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        message = f"the file is not UTF-8 text (bad byte at position {error.start})"
        raise UnreadableSource([SourceProblem(None, message)]) from None
    return read_yaml(text)


def read_yaml(text: str) -> Node:
    """Parse one YAML document into nodes with lines, or raise `UnreadableSource`."""
    _refuse_if_too_big(len(text.encode("utf-8")))
    loader = _GuardedLoader(text)
    try:
        root = loader.get_single_node()
    except _Refused as refused:
        raise UnreadableSource([SourceProblem(refused.line, f"the file {refused.message}")]) from None
    except yaml.MarkedYAMLError as error:
        raise UnreadableSource([_syntax_problem(error)]) from None
    finally:
        loader.dispose()
    if root is None:
        raise UnreadableSource([SourceProblem(None, "the file is empty")])
    problems: list[SourceProblem] = []
    tree = _convert(loader, root, problems)
    if problems:
        raise UnreadableSource(problems)
    return tree


def too_big_message(size: int) -> str:
    """Why a file of `size` bytes is refused unread."""
    return f"the file is {size:,} bytes; rule files may be at most 1 MB, so it was not read"


def _refuse_if_too_big(size: int) -> None:
    if size > MAX_BYTES:
        raise UnreadableSource([SourceProblem(None, too_big_message(size))])


def _syntax_problem(error: yaml.MarkedYAMLError) -> SourceProblem:
    mark = error.problem_mark or error.context_mark
    what = error.problem or error.context or "unreadable"
    if what.startswith("but ") and error.context:
        what = f"{error.context}, {what}"
    line = mark.line + 1 if mark else None
    return SourceProblem(line, f"the YAML is not well-formed: {what}")


def _convert(loader: yaml.SafeLoader, node: yaml.Node, problems: list[SourceProblem]) -> Node:
    line = node.start_mark.line + 1
    if node.tag not in _PLAIN_TAGS:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        problems.append(
            SourceProblem(line, f"the file uses the YAML tag '{tag}'; rule files may hold only plain "
                                "values, lists and mappings, never tags that build objects")
        )
        return ScalarNode(None, line)
    if isinstance(node, yaml.MappingNode):
        return _convert_mapping(loader, node, problems)
    if isinstance(node, yaml.SequenceNode):
        return ListNode(tuple(_convert(loader, item, problems) for item in node.value), line)
    return ScalarNode(_construct_scalar(loader, node), line)


def _construct_scalar(loader: yaml.SafeLoader, node: yaml.Node) -> object:
    """The scalar's value; a date-like word that is no real date (2026-02-30) stays text."""
    try:
        return loader.construct_object(node)
    except (ValueError, yaml.YAMLError):
        return node.value


def _convert_mapping(
    loader: yaml.SafeLoader, node: yaml.MappingNode, problems: list[SourceProblem]
) -> MapNode:
    entries: dict[str, Entry] = {}
    for key_node, value_node in node.value:
        key_line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(SourceProblem(key_line, "a key must be a plain word, not a list or mapping"))
            continue
        key = key_node.value
        if key in entries:
            first = entries[key].key_line
            problems.append(SourceProblem(key_line, f"the key '{key}' is written twice (also line {first})"))
            continue
        entries[key] = Entry(key_line, _convert(loader, value_node, problems))
    return MapNode(entries, node.start_mark.line + 1)
