"""Rule files as text for loader tests, laid out so that every line number is known.

`rule_file(...)` puts the programme header on lines 1-3 and the rule's `- id:` on line 4; its
other keys follow from line 5 in the order given.
"""
from __future__ import annotations

import textwrap

import pytest

from loyalty.engine.loader import load_ruleset_from_texts
from loyalty.engine.model import Rule
from loyalty.errors import RuleProblem, RulesetInvalid

HEADER = 'programme: thanks\nname: "Tri ân khách hàng"\nrules:\n'
RULE_LINE = 4
"""The line of `- id: r1` in a `rule_file`."""


def rule_file(body: str, rule_id: str = "r1") -> str:
    """A one-rule programme; `body` is the rule's keys after `id`, unindented."""
    keys = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
    return f"{HEADER}  - id: {rule_id}\n{keys}\n"


def when_file(condition: str, on: str = "anniversary") -> str:
    """A rule whose `when:` is on line 7 and whose condition starts on line 8."""
    condition = textwrap.indent(textwrap.dedent(condition).strip("\n"), "  ")
    return rule_file(f"on: {on}\nthen: {{points: 10}}\nwhen:\n{condition}")


def named(*texts: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Texts as files a.yaml, b.yaml, ..., plus `extra` files by name (such as rewards.yaml)."""
    files = {f"{chr(ord('a') + i)}.yaml": text for i, text in enumerate(texts)}
    return {**files, **(extra or {})}


def problems(*texts: str, extra: dict[str, str] | None = None) -> list[RuleProblem]:
    """Every problem the loader reports for these files (it must report at least one)."""
    with pytest.raises(RulesetInvalid) as refused:
        load_ruleset_from_texts(named(*texts, extra=extra))
    return refused.value.problems


def only_problem(*texts: str, extra: dict[str, str] | None = None) -> RuleProblem:
    """The single problem reported for these files."""
    found = problems(*texts, extra=extra)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def the_rule(text: str) -> Rule:
    """The only rule of a file that loads cleanly."""
    (rule,) = load_ruleset_from_texts({"a.yaml": text}).rules
    return rule
