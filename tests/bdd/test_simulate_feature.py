"""Steps for features/simulate.feature: a draft of the programmes previewed against the customers in the
database, on both databases, as marketing reads the answer (who gains, who loses, what it costs)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from loyalty.engine.model import Ruleset
from loyalty.errors import RulesetInvalid
from loyalty.services.customers import upsert_customer
from loyalty.services.simulate import Simulation, load_draft, simulate
from loyalty.store import Store

pytestmark = pytest.mark.usefixtures("store")
"""Named at collection time, so that every scenario runs on SQLite and on PostgreSQL."""

scenarios("simulate.feature")

SHIPPED_RULES = Path(__file__).resolve().parents[2] / "rules"
SEGMENTS = {"SME": "sme", "home": "home", "enterprise": "enterprise"}
SME_THIRD_ANNIVERSARY = """
  - id: third-anniversary-sme
    description: Three years with us, for a business
    on: anniversary
    when:
      all:
        - tenure_years: {eq: 3}
        - segment: {in: [sme, enterprise]}
    then:
      points: 600
      expires_after: P12M
    once_per: year
    group: anniversary-gift
    priority: 35
"""


def shipped_files() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(SHIPPED_RULES.glob("*.yaml"))}


# Given


@given("these customers:")
def these_customers(store: Store, datatable: list[list[str]]) -> None:
    header, *rows = datatable
    with store.transaction() as session:
        for n, row in enumerate(rows):
            person = dict(zip(header, row))
            upsert_customer(session, f"C-{n:03d}", {"name": person["name"], "segment": SEGMENTS[person["segment"]],
                                                    "customer_since": person["customer since"]})


@given("a draft in which SMEs get 600 points instead of 300 on their third anniversary", target_fixture="draft")
def a_generous_draft() -> dict[str, str]:
    files = shipped_files()
    files["anniversary.yaml"] = files["anniversary.yaml"].rstrip("\n") + "\n" + SME_THIRD_ANNIVERSARY
    return files


@given(parsers.parse('a draft of {name} in which "{written}" is written "{typo}"'), target_fixture="draft")
def a_draft_with_a_typo(name: str, written: str, typo: str) -> dict[str, str]:
    files = shipped_files()
    assert files[name].count(written) == 1
    files[name] = files[name].replace(written, typo)
    return files


# When


@when(parsers.parse("marketing simulates the draft on {day}"), target_fixture="outcome")
def marketing_simulates(store: Store, ruleset: Ruleset, draft: dict[str, str], day: str) -> Simulation | RulesetInvalid:
    try:
        return simulate(store, ruleset, load_draft(draft), datetime.strptime(day, "%d %B %Y").date())
    except RulesetInvalid as refused:
        return refused


# Then


@then(parsers.parse("{gainers:d} customers gain and nobody loses"))
def who_gains(outcome: Simulation, gainers: int) -> None:
    assert outcome.time_events_gainers + outcome.replay.gainers == gainers
    assert outcome.time_events_losers + outcome.replay.losers == 0


@then(parsers.parse("over the coming year the anniversaries cost {points:d} points more than in force"))
def the_cost(outcome: Simulation, points: int) -> None:
    assert outcome.time_events_points_draft - outcome.time_events_points_in_force == points
    assert outcome.replay.points_delta == 0


@then(parsers.parse("the draft's new rule thanks {customers:d} customers with {points} points"))
def the_new_rule(outcome: Simulation, customers: int, points: str) -> None:
    effect = next(e for e in outcome.time_events if e.rule_id == "third-anniversary-sme")
    assert (effect.draft_customers, effect.draft_points) == (customers, int(points.replace(",", "")))
    assert (effect.in_force_customers, effect.in_force_points) == (0, 0)


@then("the draft is refused")
def refused(outcome) -> None:
    assert isinstance(outcome, RulesetInvalid)


@then(parsers.parse("marketing reads that {name} has an unknown fact '{fact}' on the line of the third anniversary"))
def the_problem(outcome: RulesetInvalid, draft: dict[str, str], name: str, fact: str) -> None:
    (problem,) = outcome.problems
    line = next(n for n, text in enumerate(draft[name].splitlines(), start=1) if f"{fact}:" in text)
    assert (problem.file, problem.line, problem.rule_id) == (name, line, "third-anniversary")
    assert f"unknown fact '{fact}'" in problem.message
