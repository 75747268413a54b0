"""Marketing previews a draft: time-event rules over every customer, and past events replayed under it."""
from __future__ import annotations

import textwrap
from datetime import date

import pytest
from ingest_support import RECEIVED, customer_upserted, event, invoice_paid, ruleset
from sqlalchemy import func, select

from loyalty.errors import FieldErrors, RulesetInvalid
from loyalty.services.ingest import ingest
from loyalty.services.simulate import check_draft, load_draft, simulate
from loyalty.store.tables import Award, Event, LedgerEntry

TODAY = date(2026, 11, 25)

ANNIVERSARY = """
    programme: anniversary-thanks
    name: "Tri ân khách hàng"
    rules:
      - id: first-anniversary
        on: anniversary
        when: {tenure_years: {eq: 1}}
        then: {points: 100}
        once_per: year
        group: gift
        priority: 10
      - id: third-anniversary
        on: anniversary
        when: {tenure_years: {eq: 3}}
        then: {points: 300}
        once_per: year
        group: gift
        priority: 30
      - id: tier-silver
        on: daily
        when: {tenure_years: {gte: 1}}
        then: {tier: bac}
        once_per: year
    """
SME_GIFT = """
      - id: third-anniversary-sme
        on: anniversary
        when:
          all:
            - tenure_years: {eq: 3}
            - segment: {eq: sme}
        then: {points: 600}
        once_per: year
        group: gift
        priority: 35
    """
INVOICES = """
    programme: business-invoices
    name: "Tích điểm hóa đơn"
    rules:
      - id: invoice-points
        on: invoice.paid
        then: {points: {per: 10000, of: event.amount}}
      - id: goodwill
        on: service.incident
        then: {goodwill: {per_day: 50000, max: 1000000}}
    """
RICHER_SME_INVOICES = INVOICES.replace("""      - id: goodwill""", """      - id: invoice-points-sme
        on: invoice.paid
        when: {segment: {eq: sme}}
        then: {points: {per: 5000, of: event.amount}}
      - id: goodwill""").replace("then: {points: {per: 10000, of: event.amount}}",
                                   "when: {segment: {ne: sme}}\n        then: {points: {per: 20000, of: event.amount}}")


def customers_since(store, rules, *people: tuple[str, str, str]) -> None:
    for customer_id, segment, since in people:
        ingest(store, rules, customer_upserted(f"u-{customer_id}", customer_id, name=f"Công ty {customer_id}",
                                               segment=segment, customer_since=since), RECEIVED)


def test_anniversaries_of_the_coming_year_are_counted_per_rule_under_the_draft_and_in_force(store):
    in_force = ruleset(ANNIVERSARY)
    draft = ruleset(ANNIVERSARY + SME_GIFT)
    customers_since(store, in_force, ("S1", "sme", "2023-12-10"), ("S2", "sme", "2024-02-29"),
                    ("S3", "sme", "2023-11-25"), ("H1", "home", "2024-06-01"), ("H2", "home", "2026-06-01"),
                    ("N1", "home", "2026-12-01"))
    # S2 (since 29 February 2024) has its third anniversary on 28 February 2027; N1's first is too far off
    simulation = simulate(store, in_force, draft, TODAY)
    assert (simulation.time_events_gainers, simulation.time_events_losers) == (3, 0)
    assert (simulation.time_events_points_draft, simulation.time_events_points_in_force) == (2200, 1300)
    effects = {e.rule_id: e for e in simulation.time_events}
    assert (effects["third-anniversary"].in_force_customers, effects["third-anniversary"].in_force_points) == (4, 1200)
    assert (effects["third-anniversary-sme"].draft_customers, effects["third-anniversary-sme"].draft_points) == (3, 1800)
    assert (effects["third-anniversary"].draft_customers, effects["third-anniversary"].draft_points) == (1, 300)
    assert (effects["first-anniversary"].draft_customers, effects["first-anniversary"].in_force_customers) == (1, 1)
    assert effects["third-anniversary-sme"].in_force_customers == 0
    assert (effects["tier-silver"].draft_customers, effects["tier-silver"].draft_points) == (4, 0)


def test_a_rule_outside_its_window_on_the_anniversary_thanks_nobody(store):
    in_force = ruleset(ANNIVERSARY)
    draft = ruleset(ANNIVERSARY.replace("then: {points: 300}", "then: {points: 300}\n        valid: {until: 2026-12-31}"))
    customers_since(store, in_force, ("S1", "sme", "2023-12-10"), ("S2", "sme", "2024-01-10"))
    effects = {e.rule_id: e for e in simulate(store, in_force, draft, TODAY).time_events}
    assert effects["third-anniversary"].in_force_customers == 2
    assert effects["third-anniversary"].draft_customers == 1


@pytest.fixture
def invoices_paid(store):
    """Two SMEs and a household paid invoices in the last weeks; an SME had a long outage."""
    rules = ruleset(INVOICES)
    customers_since(store, rules, ("S1", "sme", "2023-01-01"), ("S2", "sme", "2024-01-01"), ("H1", "home", "2022-01-01"))
    paid = (("S1", 1_000_000, "2026-11-10"), ("S2", 500_000, "2026-11-12"), ("H1", 400_000, "2026-11-14"),
            ("S1", 200_000, "2026-11-16"))
    for customer_id, amount, day in paid:
        ingest(store, rules, invoice_paid(f"i-{customer_id}-{amount}", amount, customer_id,
                                          occurred_at=f"{day}T03:00:00Z"), RECEIVED)
    ingest(store, rules, event("o-S2", "service.incident", {"incident_id": "SC-1", "outage_hours": 72, "planned": False},
                               "S2", "2026-11-20T03:00:00Z"), RECEIVED)
    return rules


def test_replayed_invoices_show_who_gains_who_loses_and_the_cost(store, invoices_paid):
    replay = simulate(store, invoices_paid, ruleset(RICHER_SME_INVOICES), TODAY).replay
    assert (replay.events, replay.truncated, replay.customers) == (8, False, 3)  # 3 upserts, 4 invoices, 1 outage
    assert (replay.gainers, replay.losers) == (2, 1)
    assert [(c.customer_id, c.name, c.points_given, c.points_draft, c.delta) for c in replay.top_gainers] == [
        ("S1", "Công ty S1", 120, 240, 120), ("S2", "Công ty S2", 50, 100, 50)]
    assert [(c.customer_id, c.delta) for c in replay.top_losers] == [("H1", -20)]
    assert (replay.points_given, replay.points_draft, replay.points_delta) == (210, 360, 150)
    assert (replay.goodwill_given, replay.goodwill_draft, replay.goodwill_delta) == (150_000, 150_000, 0)


def test_the_replay_is_bounded_to_the_newest_events_and_says_so(store, invoices_paid):
    replay = simulate(store, invoices_paid, invoices_paid, TODAY, max_events=2).replay
    assert (replay.events, replay.truncated, replay.max_events) == (2, True, 2)
    assert replay.since == date(2026, 8, 27)
    assert (replay.gainers, replay.losers, replay.points_delta) == (0, 0, 0)


def test_a_simulation_writes_nothing(store, invoices_paid):
    def counts():
        with store.reading() as session:
            return [session.scalar(select(func.count()).select_from(t)) for t in (Event, Award, LedgerEntry)]

    before = counts()
    simulate(store, invoices_paid, ruleset(RICHER_SME_INVOICES), TODAY)
    assert counts() == before


def test_a_draft_is_checked_like_a_rules_directory():
    summary = check_draft({"invoices.yaml": textwrap.dedent(INVOICES)})
    assert (summary.programmes, summary.rules, len(summary.version)) == (1, 2, 64)
    with pytest.raises(RulesetInvalid) as refused:
        load_draft({"big.yaml": "#" * (1024 * 1024 + 1)})
    assert "at most 1 MB" in refused.value.problems[0].message
    with pytest.raises(FieldErrors) as bad_name:
        load_draft({"../rules/evil.yaml": "programme: x"})
    assert "files" in bad_name.value.errors
