"""`loyalty rules`: check a rules directory before publishing it, and show what it says."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from loyalty.cli.context import rules_dir
from loyalty.engine.loader import load_ruleset
from loyalty.engine.model import Programme, Rule, Ruleset
from loyalty.engine.rule_text import describe_condition, describe_limit, describe_then
from loyalty.errors import RulesetInvalid

SHORT_VERSION = 12

DIRECTORY = click.argument(
    "directory", required=False, type=click.Path(file_okay=False, path_type=Path)
)


@click.group("rules")
def rules() -> None:
    """The programmes marketing writes in YAML: check them, show them."""


@rules.command("check")
@DIRECTORY
def check_command(directory: Path | None) -> None:
    """Load every rule file and report every problem with its file and line; exit 1 if any."""
    ruleset = _load_or_report(directory or rules_dir())
    click.echo(
        f"rules OK: {_count(len(ruleset.programmes), 'programme')}, "
        f"{_count(len(ruleset.rules), 'rule')}, {_count(len(ruleset.rewards), 'reward')}, "
        f"version {ruleset.version[:SHORT_VERSION]}"
    )


@rules.command("show")
@DIRECTORY
def show_command(directory: Path | None) -> None:
    """List each programme and its rules: event, condition, awards and precedence."""
    ruleset = _load_or_report(directory or rules_dir())
    click.echo(f"ruleset {ruleset.version[:SHORT_VERSION]}")
    for programme in ruleset.programmes:
        click.echo("")
        for line in programme_lines(programme):
            click.echo(line)
    if ruleset.rewards:
        click.echo("")
        for line in reward_lines(ruleset):
            click.echo(line)


def _load_or_report(directory: Path) -> Ruleset:
    """The ruleset, or every problem printed one per line and exit status 1."""
    try:
        return load_ruleset(directory)
    except RulesetInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem))
        files = len({problem.file for problem in invalid.problems})
        click.echo(
            f"rules refused: {_count(len(invalid.problems), 'problem')} in {_count(files, 'file')}",
            err=True,
        )
        sys.exit(1)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def programme_lines(programme: Programme) -> list[str]:
    """A programme's heading, limits and one block per rule."""
    lines = [f"{programme.id} — {programme.name}  ({programme.source})"]
    if programme.description:
        lines.append(f"  {programme.description}")
    if programme.budget:
        lines.append(f"  budget: {describe_limit(programme.budget)}")
    if programme.cap:
        lines.append(f"  cap per customer: {describe_limit(programme.cap)}")
    for rule in programme.rules:
        lines.extend(rule_lines(rule))
    return lines


def rule_lines(rule: Rule) -> list[str]:
    """`id  on EVENT  once per X  group G priority P`, then its condition, awards and limits."""
    heading = f"  - {rule.id}  on {rule.on}  once per {rule.once_per}"
    if rule.group:
        heading += f"  group {rule.group} priority {rule.priority}"
    lines = [heading, f"      when {describe_condition(rule.when)}", f"      then {describe_then(rule.then)}"]
    if rule.valid.start or rule.valid.until:
        start = rule.valid.start.isoformat() if rule.valid.start else "…"
        until = rule.valid.until.isoformat() if rule.valid.until else "…"
        lines.append(f"      valid {start} to {until}")
    if rule.clawback_on:
        lines.append(f"      taken back on {rule.clawback_on}")
    return lines


def reward_lines(ruleset: Ruleset) -> list[str]:
    """The reward catalogue, one item a line, with its Vietnamese name."""
    lines = ["rewards"]
    for reward in ruleset.rewards:
        value = f", worth {reward.value:,} VND" if reward.value else ""
        stock = f", stock {reward.stock}" if reward.stock is not None else ""
        lines.append(
            f"  - {reward.id}  {reward.names['vi']}  ({reward.kind}, {reward.points_cost:,} points{value}{stock})"
        )
    return lines
