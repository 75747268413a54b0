"""The nightly run decides exactly what the event path decides, and gives it once.

The reference is the event path: for every customer in scope, `decide` on its facts (the Python
predicates) and `give_awards` with the per-row ledger API. The night must leave the same awards,
ledger, balances and audit, on both databases.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from loyalty.engine.decide import decide
from loyalty.engine.facts import EventSnapshot, compute_facts
from loyalty.engine.loader import load_ruleset_from_texts
from loyalty.services.awarding import give_awards
from loyalty.services.customers import contract_snapshots, customer_snapshot
from loyalty.services.daily import night_moment, run_daily
from loyalty.services.daily_awarding import night_event_id
from loyalty.services.demo import generate_demo
from loyalty.services.event_state import AppliedEvent
from loyalty.store.daily_awards import claim_night_event
from loyalty.store.fact_columns import is_anniversary
from loyalty.store.tables import AuditRecord, Customer
from tests.conftest import empty_all_tables
from tests.daily_support import SETTLING_ONLY, ledger_snapshot
from tests.ingest_support import ledger_problems

NIGHT = date(2026, 11, 25)
SHIPPED = Path(__file__).resolve().parents[2] / "rules"
EXTRA = """\
programme: extra-thanks
name: "Cảm ơn thêm"
budget: {points: 300, per: year}
rules:
  - id: big-contract-anniversary
    on: anniversary
    when:
      total_monthly_value: {gte: 1000000}
    then:
      points: {per: 100000, of: total_monthly_value, max: 5000}
      status_points: 50
      pending_days: 30
      expires_after: P6M
      programme: sme-care
    once_per: contract
  - id: expired-offer
    on: anniversary
    then: {points: 999}
    once_per: year
    valid: {until: 2026-01-31}
  - id: loyal-daily
    on: daily
    when:
      tenure_years: {gte: 6}
    then:
      status_points: 10
      reward: thank-you-hamper
    once_per: year
"""




def _ruleset():
    texts = {path.name: path.read_text(encoding="utf-8") for path in SHIPPED.glob("*.yaml")}
    return load_ruleset_from_texts({**texts, "zz-extra.yaml": EXTRA})


def _event_path(store, ruleset, day: date) -> None:
    """Every customer in scope through `decide` and `give_awards`, one transaction each."""
    at = night_moment(day)
    for event_type, scope in (("anniversary", is_anniversary(day)), ("daily", None)):
        event = EventSnapshot(type=event_type, id=night_event_id(event_type, day))
        store.run(lambda s: claim_night_event(s, event.id, event_type, "x" * 64, at))
        with store.reading() as session:
            query = select(Customer.id).order_by(Customer.id)
            ids = list(session.scalars(query if scope is None else query.where(scope)))
        for customer_id in ids:
            store.run(lambda s: _give_one(s, ruleset, customer_id, event, day, at))


def _give_one(session, ruleset, customer_id, event, day, at) -> None:
    customer = session.get(Customer, customer_id)
    facts = compute_facts(customer_snapshot(customer), contract_snapshots(session, customer_id), day)
    decision = decide(ruleset, facts, event, day, customer.main_contract_id)
    give_awards(session, ruleset, AppliedEvent(customer, day, event, facts), decision, at)


def _without_nightly_audit(snapshot: dict) -> dict:
    """The event path audits neither a tier change on its own nor a stopped award (its result says
    why); the night does both (checked below)."""
    own = ("customer.tier_changed", "award.stopped.budget")
    return {**snapshot, "audit": [row for row in snapshot["audit"] if row[0] not in own]}


def test_the_night_gives_exactly_what_the_event_path_gives_every_customer(store):
    ruleset = _ruleset()
    generate_demo(store, 200, 7, NIGHT)
    _event_path(store, ruleset, NIGHT)
    expected = ledger_snapshot(store)
    assert ledger_problems(store) == []

    empty_all_tables(store)
    generate_demo(store, 200, 7, NIGHT)
    summary = run_daily(store, ruleset, NIGHT, lambda *_: None, chunk_size=37)
    night = ledger_snapshot(store)

    assert _without_nightly_audit(night) == expected
    assert ledger_problems(store) == []
    assert summary.awards == len(expected["awards"]) > 150
    stopped = [row for row in night["audit"] if row[0] == "award.stopped.budget"]
    assert summary.stopped_by_limits == len(stopped) > 0, "the small budget of extra-thanks stops some awards"
    assert "programme extra-thanks budget of 300 points per year" in stopped[0][2]
    assert {row[1] for row in expected["awards"]} >= {"big-contract-anniversary", "loyal-daily", "tier-silver"}


def test_night_after_night_the_run_still_gives_what_the_event_path_gives(store):
    """Later nights find awards already given: a tier group whose best match the customer has this
    year gives nothing (not its next member), and a customer who moved up gets the new tier."""
    ruleset = _ruleset()
    nights = [NIGHT, date(2026, 11, 26), date(2026, 12, 24)]  # before the first pending points vest
    generate_demo(store, 200, 11, NIGHT)
    for day in nights:
        run_daily(store, SETTLING_ONLY, day, lambda *_: None)  # contracts that end that night end first
        _event_path(store, ruleset, day)
    expected = ledger_snapshot(store)

    empty_all_tables(store)
    generate_demo(store, 200, 11, NIGHT)
    summaries = [run_daily(store, ruleset, day, lambda *_: None, chunk_size=23) for day in nights]

    assert _without_nightly_audit(ledger_snapshot(store)) == expected
    assert ledger_problems(store) == []
    assert all(s.awards for s in summaries) and sum(s.tier_changes for s in summaries[1:]) > 0


def test_every_tier_change_is_audited_with_the_old_and_the_new_tier(store):
    generate_demo(store, 200, 3, NIGHT)
    summary = run_daily(store, _ruleset(), NIGHT, lambda *_: None)
    with store.reading() as session:
        changes = session.scalars(select(AuditRecord).where(AuditRecord.action == "customer.tier_changed")).all()
        tiers = dict(session.execute(select(Customer.id, Customer.tier)).all())
    assert len(changes) == summary.tier_changes > 0
    assert all(change.details["from"] is None and change.details["to"] == tiers[change.customer_id]
               for change in changes)


def test_running_the_same_night_twice_gives_nothing_more(store):
    ruleset = _ruleset()
    generate_demo(store, 300, 5, NIGHT)
    first = run_daily(store, ruleset, NIGHT, lambda *_: None)
    before = ledger_snapshot(store)
    second = run_daily(store, ruleset, NIGHT, lambda *_: None)
    assert first.awards > 0 and second.awards == 0 and second.points == 0
    assert ledger_snapshot(store) == before


def test_the_next_night_gives_no_tier_again_and_only_that_nights_anniversaries(store):
    ruleset = _ruleset()
    generate_demo(store, 300, 5, NIGHT)
    run_daily(store, ruleset, NIGHT, lambda *_: None)
    with store.reading() as session:
        tomorrow = session.scalar(select(func.count()).select_from(Customer).where(is_anniversary(date(2026, 11, 26))))
    following = run_daily(store, ruleset, date(2026, 11, 26), lambda *_: None)
    assert following.anniversaries == tomorrow
    assert following.tier_changes == 0
    assert ledger_problems(store) == []


def test_thanks_given_once_per_customer_is_not_given_again_on_a_later_anniversary(store):
    once = load_ruleset_from_texts({"once.yaml": """\
programme: first-thanks
name: "Lời cảm ơn đầu tiên"
rules:
  - id: thanks-by-contract-size
    on: anniversary
    when:
      total_monthly_value: {gte: 1}
    then:
      points: {per: 100000, of: total_monthly_value, max: 900}
    once_per: customer
"""})
    generate_demo(store, 200, 9, NIGHT)
    first = run_daily(store, once, NIGHT, lambda *_: None)
    a_year_later = run_daily(store, once, date(2027, 11, 25), lambda *_: None)
    assert first.awards > 0 and first.points > 0
    assert a_year_later.anniversaries >= first.anniversaries and a_year_later.awards == 0
    assert ledger_problems(store) == []
