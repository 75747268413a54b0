"""Read one rule file's YAML safely into a small tree of nodes that remember their lines.

Rule files are written by people and read by a server, so this reader refuses what could hurt
it: files over 1 MB (never parsed), aliases (the "billion laughs" bomb), any tag but the plain
YAML ones (`!!python/object` and friends), and nesting deeper than 32 levels. Keys are taken as
written, so YAML 1.1's `on:` stays the word "on" and never turns into `true`.

Lines are the lines an editor shows, counted by "\n". YAML also breaks lines at a lone "\r", NEL
("\x85") and the Unicode line and paragraph separators ("\u2028", "\u2029"), so the parser's own
line numbers are translated back to "\n"-counted ones before anyone sees them.

Only the safe loader's event parser is used (libyaml's when installed: a 1 MB file parses in a
fraction of a second instead of several); the nodes are composed here, from events, so aliases
and depth are refused before anything is built, and scalars go through `SafeConstructor` only.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Union

import yaml

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32

_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)

# What YAML counts as one line break ("\r\n" is one); only "\n" starts a line in an editor.
_YAML_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_ODD_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


@dataclass(frozen=True)
class ScalarNode:
    """A single value: text, a whole number, true/false, a date, or nothing (`None`)."""

    value: object
    line: int


@dataclass(frozen=True)
class ListNode:
    """A YAML list, its items in order."""

    items: tuple["Node", ...]
    line: int


@dataclass(frozen=True)
class Entry:
    """One `key: value` of a mapping; `key_line` is where the key was written."""

    key_line: int
    value: "Node"


@dataclass(frozen=True)
class MapNode:
    """A YAML mapping, keyed by each key exactly as written."""

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
    """Why a text is unreadable, and where (`None`: the whole file)."""

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
    parser = _PARSER(text)
    lines = _LineNumbers(text)
    composer = _Composer(parser, lines)
    try:
        root = composer.document()
    except _Refused as refused:
        raise UnreadableSource([SourceProblem(refused.line, f"the file {refused.message}")]) from None
    except yaml.MarkedYAMLError as error:
        raise UnreadableSource([_syntax_problem(error, lines)]) from None
    finally:
        parser.dispose()
    if root is None:
        raise UnreadableSource([SourceProblem(None, "the file is empty")])
    if composer.problems:
        raise UnreadableSource(composer.problems)
    return root


def too_big_message(size: int) -> str:
    """Why a file of `size` bytes is refused unread."""
    return f"the file is {size:,} bytes; rule files may be at most 1 MB, so it was not read"


def _refuse_if_too_big(size: int) -> None:
    if size > MAX_BYTES:
        raise UnreadableSource([SourceProblem(None, too_big_message(size))])


class _LineNumbers:
    """Turns the parser's 0-based line (YAML's line breaks) into the 1-based "\n"-counted line."""

    def __init__(self, text: str):
        # _starts[i]: the YAML line at which "\n"-counted line i + 2 begins; empty when YAML and
        # editors agree, which is every file without a lone "\r", NEL or Unicode line separator.
        self._starts: list[int] = []
        if any(odd in text for odd in _ODD_BREAKS):
            for yaml_line, brk in enumerate(_YAML_BREAKS.finditer(text), start=1):
                if brk.group().endswith("\n"):
                    self._starts.append(yaml_line)

    def line(self, mark: yaml.Mark) -> int:
        if not self._starts:
            return mark.line + 1
        return bisect_right(self._starts, mark.line) + 1


def _syntax_problem(error: yaml.MarkedYAMLError, lines: _LineNumbers) -> SourceProblem:
    mark = error.problem_mark or error.context_mark
    what = error.problem or error.context or "unreadable"
    if what.startswith("but ") and error.context:
        what = f"{error.context}, {what}"
    line = lines.line(mark) if mark else None
    return SourceProblem(line, f"the YAML is not well-formed: {what}")


class _Composer:
    """Builds nodes from parser events; plays the part of PyYAML's composer, minus aliases."""

    def __init__(self, parser: yaml.SafeLoader, lines: _LineNumbers):
        self._parser = parser
        self._lines = lines
        self._resolver = yaml.resolver.Resolver()
        self._constructor = yaml.constructor.SafeConstructor()
        self.problems: list[SourceProblem] = []

    def _line(self, event: yaml.Event) -> int:
        return self._lines.line(event.start_mark)

    def document(self) -> Node | None:
        """The one document of the stream, or `None` when the stream holds none."""
        self._parser.get_event()  # stream start
        if self._parser.check_event(yaml.StreamEndEvent):
            return None
        self._parser.get_event()  # document start
        root = self._node(self._parser.get_event(), 1)
        self._parser.get_event()  # document end
        if not self._parser.check_event(yaml.StreamEndEvent):
            line = self._line(self._parser.peek_event())
            raise _Refused(line, f"holds a second YAML document at line {line}; keep one per file")
        return root

    def _node(self, event: yaml.Event, depth: int) -> Node:
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(
                self._line(event),
                f"uses the YAML alias '*{event.anchor}'; aliases and anchors are not allowed in "
                "rule files (they can multiply a small file into a huge one), so write the value out",
            )
        if depth > MAX_DEPTH:
            raise _Refused(self._line(event), f"is nested more than {MAX_DEPTH} levels deep, which is not allowed")
        if isinstance(event, yaml.ScalarEvent):
            return self._scalar(event)
        if isinstance(event, yaml.SequenceStartEvent):
            return self._sequence(event, depth)
        return self._mapping(event, depth)

    def _plain_tag(self, event: yaml.Event, kind: type, value: str | None) -> str | None:
        """The event's resolved tag if it is a plain one; otherwise report it and return None."""
        tag = event.tag
        if tag is None or tag == "!":
            tag = self._resolver.resolve(kind, value, event.implicit)
        if tag in _PLAIN_TAGS:
            return tag
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        self.problems.append(
            SourceProblem(self._line(event), f"the file uses the YAML tag '{shown}'; rule files may hold only "
                                        "plain values, lists and mappings, never tags that build objects")
        )
        return None

    def _scalar(self, event: yaml.ScalarEvent) -> ScalarNode:
        tag = self._plain_tag(event, yaml.ScalarNode, event.value)
        if tag is None:
            return ScalarNode(None, self._line(event))
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        return ScalarNode(self._construct(node), self._line(event))

    def _construct(self, node: yaml.ScalarNode) -> object:
        """The scalar's value; a date-like word that is no real date (2026-02-30) stays text."""
        try:
            return self._constructor.construct_object(node)
        except (ValueError, yaml.YAMLError):
            return node.value

    def _sequence(self, event: yaml.SequenceStartEvent, depth: int) -> ListNode:
        self._plain_tag(event, yaml.SequenceNode, None)
        items = []
        while not self._parser.check_event(yaml.SequenceEndEvent):
            items.append(self._node(self._parser.get_event(), depth + 1))
        self._parser.get_event()
        return ListNode(tuple(items), self._line(event))

    def _mapping(self, event: yaml.MappingStartEvent, depth: int) -> MapNode:
        self._plain_tag(event, yaml.MappingNode, None)
        entries: dict[str, Entry] = {}
        while not self._parser.check_event(yaml.MappingEndEvent):
            key_event = self._parser.get_event()
            key_line = self._line(key_event)
            key = self._node(key_event, depth + 1)
            value = self._node(self._parser.get_event(), depth + 1)
            if not isinstance(key, ScalarNode):
                self.problems.append(SourceProblem(key_line, "a key must be a plain word, not a list or mapping"))
            elif key_event.value in entries:
                first = entries[key_event.value].key_line
                self.problems.append(
                    SourceProblem(key_line, f"the key '{key_event.value}' is written twice (also line {first})")
                )
            else:
                entries[key_event.value] = Entry(key_line, value)
        self._parser.get_event()
        return MapNode(entries, self._line(event))
