"""The night's housekeeping: contracts past their end are ended, pending points vest, old points expire."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import select

from loyalty.services.customers import sign_contract, upsert_customer
from loyalty.services.daily import run_daily
from loyalty.store import ledger
from loyalty.store.daily_runs import nights_run
from loyalty.store.tables import Contract, Customer
from tests.ingest_support import ledger_problems, points_of, ruleset

NIGHT = date(2026, 11, 25)
EARNED = datetime(2025, 11, 20, 3, 0, tzinfo=timezone.utc)
NO_RULES = ruleset("""
    programme: nothing-tonight
    name: "Không có gì"
    rules:
      - id: welcome
        on: contract.signed
        then: {points: 10}
""")


def _customer(session, customer_id: str, since: str = "2024-03-01") -> None:
    upsert_customer(session, customer_id, {"name": "Công ty Bình Minh", "segment": "sme", "customer_since": since})


def test_a_contract_past_its_end_date_is_ended_and_no_longer_counts(store):
    with store.transaction() as session:
        _customer(session, "C1")
        sign_contract(session, "C1", {"id": "K-old", "monthly_value": 3_000_000, "term_months": 12,
                                      "start": date(2025, 11, 25)})
        sign_contract(session, "C1", {"id": "K-new", "monthly_value": 1_000_000, "term_months": 12,
                                      "start": date(2026, 6, 1)})
    summary = run_daily(store, NO_RULES, NIGHT, lambda *_: None)
    with store.reading() as session:
        customer = session.get(Customer, "C1")
        assert session.get(Contract, "K-old").status == "ended"
        assert session.get(Contract, "K-new").status == "active"
        assert (customer.active_contracts, customer.total_monthly_value, customer.main_contract_id) == (
            1, 1_000_000, "K-new")
    assert summary.contracts_ended == 1


def test_contracts_end_customer_by_customer_in_chunks_however_small(store):
    """Six customers' contracts end tonight, in chunks of two customers: every one ends, once, and
    contracts that end tomorrow or later, or were cancelled, stay as they are."""
    with store.transaction() as session:
        for n in range(9):
            _customer(session, f"C{n}")
            start = date(2025, 11, 20 + n % 8) if n < 7 else date(2025, 12, 1)
            sign_contract(session, f"C{n}", {"id": f"K{n}", "monthly_value": 1_000_000, "term_months": 12,
                                             "start": start})
        session.get(Contract, "K8").status = "cancelled"
    summary = run_daily(store, NO_RULES, NIGHT, lambda *_: None, settle_chunk=2)
    with store.reading() as session:
        statuses = dict(session.execute(select(Contract.id, Contract.status)).all())
    assert summary.contracts_ended == 6 and statuses == {
        **{f"K{n}": "ended" for n in range(7) if n != 6}, "K6": "active", "K7": "active", "K8": "cancelled"}


def test_pending_points_vest_and_points_past_their_expiry_are_gone_that_night(store):
    with store.transaction() as session:
        _customer(session, "C1")
        _customer(session, "C2")
    with store.transaction() as session:
        ledger.earn(session, "C1", points=300, occurred_at=EARNED, reference="a1", vests_on=NIGHT)
        ledger.earn(session, "C1", points=50, occurred_at=EARNED, reference="a2", vests_on=date(2026, 12, 1))
        ledger.earn(session, "C2", points=200, occurred_at=EARNED, reference="a3", expires_on=NIGHT)
        ledger.earn(session, "C2", points=70, occurred_at=EARNED, reference="a4", expires_on=date(2027, 1, 1))
    summary = run_daily(store, NO_RULES, NIGHT, lambda *_: None, settle_chunk=1)
    assert (summary.vested, summary.expired) == (300, 200)
    assert points_of(store, "C1", NIGHT) == (300, 50, 0)
    assert points_of(store, "C2", NIGHT) == (70, 0, 0)
    assert ledger_problems(store) == []


def test_every_phase_of_the_night_is_recorded_as_finished(store):
    with store.transaction() as session:
        _customer(session, "C1")
    run_daily(store, NO_RULES, NIGHT, lambda *_: None)
    with store.reading() as session:
        phases = {p.phase: p.finished for p in nights_run(session) if p.day == NIGHT}
    assert phases == {"contracts": True, "anniversaries": True, "vesting": True, "expiry": True, "tiers": True}
