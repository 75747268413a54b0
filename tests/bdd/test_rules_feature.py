"""Steps for features/rules.feature: rule files checked as marketing does, and the shipped thanks."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pytest_bdd import given, parsers, scenarios, then, when

from loyalty.cli import main
from loyalty.engine.decide import Decision, decide
from loyalty.engine.facts import ContractSnapshot, CustomerSnapshot, EventSnapshot, compute_facts
from loyalty.engine.loader import load_ruleset
from loyalty.engine.model import Ruleset

SHIPPED = Path(__file__).resolve().parents[2] / "rules"

scenarios("rules.feature")


@pytest.fixture
def rules_directory(tmp_path) -> Path:
    return tmp_path


# Given


@given(parsers.parse('the rule file "{name}":'))
def rule_file(rules_directory: Path, name: str, docstring: str) -> None:
    (rules_directory / name).write_text(docstring + "\n", encoding="utf-8")


@given("the programmes shipped with the engine", target_fixture="ruleset")
def shipped_programmes() -> Ruleset:
    return load_ruleset(SHIPPED)


@given(
    parsers.re(
        r"(?P<name>.+), an? (?P<segment>\w+) customer since (?P<since>[\d-]+) "
        r"with a contract of (?P<value>[\d,]+) VND a month"
    ),
    target_fixture="customer",
)
def a_customer(name: str, segment: str, since: str, value: str) -> tuple[CustomerSnapshot, ContractSnapshot]:
    start = date.fromisoformat(since)
    customer = CustomerSnapshot(id=name, segment=segment.lower(), customer_since=start, locale="vi")
    contract = ContractSnapshot(id=f"{name}/1", monthly_value=int(value.replace(",", "")), term_months=12, start=start)
    return customer, contract


# When


@when("marketing checks the rules", target_fixture="check")
def marketing_checks(rules_directory: Path) -> Result:
    return CliRunner().invoke(main, ["rules", "check", str(rules_directory)])


@when(parsers.parse("its anniversary comes on {day}"), target_fixture="decision")
def anniversary_comes(ruleset: Ruleset, customer: tuple[CustomerSnapshot, ContractSnapshot], day: str) -> Decision:
    person, contract = customer
    today = date.fromisoformat(day)
    event = EventSnapshot(type="anniversary", id=f"anniversary:{person.id}:{day}")
    facts = compute_facts(person, [contract], today, event)
    return decide(ruleset, facts, event, today, main_contract_id=contract.id)


# Then


@then("the rules are refused")
def rules_refused(check: Result) -> None:
    assert check.exit_code == 1
    assert "rules OK" not in check.output


@then(parsers.parse('marketing reads "{line}"'))
def marketing_reads(check: Result, line: str) -> None:
    assert line in check.stdout.splitlines()


@then(parsers.parse('it is given {points:d} points by the rule "{rule_id}"'))
def given_points(decision: Decision, points: int, rule_id: str) -> None:
    assert [(award.rule_id, award.points) for award in decision.awards if award.points] == [(rule_id, points)]


@then(parsers.parse("those points expire on {day}"))
def points_expire(decision: Decision, day: str) -> None:
    assert [award.expires_on for award in decision.awards if award.points] == [date.fromisoformat(day)]


@then(parsers.parse('it is given the reward "{name}"'))
def given_reward(ruleset: Ruleset, decision: Decision, name: str) -> None:
    rewards = [ruleset.reward(award.reward) for award in decision.awards if award.reward]
    assert [reward.names["vi"] for reward in rewards] == [name]


@then(parsers.parse('only one rule of the group "{group}" gives anything'))
def one_rule_of_group(ruleset: Ruleset, decision: Decision, group: str) -> None:
    grouped = {rule.id for rule in ruleset.rules if rule.group == group}
    assert len([award for award in decision.awards if award.rule_id in grouped]) == 1


@then(parsers.parse('the rule "{loser}" is passed over because "{winner}" wins its group'))
def passed_over(decision: Decision, loser: str, winner: str) -> None:
    assert [(p.rule_id, p.beaten_by) for p in decision.passed_over] == [(loser, winner)]
