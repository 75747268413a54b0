"""Bursts after an outage: the same event delivered by ten threads at once, and awards racing for
one budget, on a file SQLite database and on PostgreSQL."""
from __future__ import annotations

import threading
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import pytest
from ingest_support import (
    REFERRAL_THANKS,
    RECEIVED,
    award_count,
    contract_signed,
    customer_upserted,
    event,
    invoice_paid,
    ledger_problems,
    points_of,
    ruleset,
)
from sqlalchemy import func, select

from loyalty.errors import Conflict, EventConflict
from loyalty.services.ingest import ingest
from loyalty.store.tables import Award, Contract, Customer

THREADS = 10
SHIPPED = Path(__file__).resolve().parents[2] / "rules"

RULES = ruleset("""
    programme: burst
    name: "Tích điểm"
    budget: {points: 1000, per: year}
    rules:
      - id: invoice-points
        on: invoice.paid
        then: {points: {per: 10000, of: event.amount}}
      - id: first-invoice-of-the-year
        on: invoice.paid
        then: {status_points: 10}
        once_per: year
    """)


def all_at_once(work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` on THREADS threads released together; each result, or the exception it raised."""
    barrier = threading.Barrier(THREADS)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return work(i)
        except Exception as error:  # the test inspects what each delivery got
            return error

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


@pytest.fixture
def customers(store):
    for n in range(THREADS):
        ingest(store, RULES, customer_upserted(f"u-{n}", f"C{n:03}"), RECEIVED)
        ingest(store, RULES, contract_signed(f"s-{n}", f"K{n:03}", 1_000_000, customer_id=f"C{n:03}"), RECEIVED)
    return store


def test_ten_deliveries_of_the_same_event_at_once_post_its_points_once(customers):
    results = all_at_once(lambda _: ingest(customers, RULES, invoice_paid("evt-1", 3_000_000, "C000"), RECEIVED))
    assert [type(r).__name__ for r in results] == ["IngestResult"] * THREADS
    assert sorted(r.replayed for r in results) == [False] + [True] * (THREADS - 1)
    assert len({tuple(r.awards) for r in results}) == 1
    assert points_of(customers, "C000") == (300, 0, 10)
    assert award_count(customers, customer_id="C000") == 2
    assert ledger_problems(customers) == []


def test_the_same_id_with_different_bodies_at_once_applies_exactly_one(customers):
    results = all_at_once(lambda i: ingest(customers, RULES, invoice_paid("evt-1", (i + 1) * 10_000, "C000"),
                                           RECEIVED))
    applied = [r for r in results if not isinstance(r, Exception)]
    assert len(applied) == 1 and not applied[0].replayed
    assert all(isinstance(r, EventConflict) for r in results if r not in applied)
    assert points_of(customers, "C000")[0] == applied[0].awards[0].points


def test_different_invoices_of_one_customer_at_once_earn_a_once_a_year_award_once(customers):
    results = all_at_once(lambda i: ingest(customers, RULES, invoice_paid(f"evt-{i}", 10_000, "C000"), RECEIVED))
    assert not [r for r in results if isinstance(r, Exception)]
    assert points_of(customers, "C000") == (THREADS, 0, 10)
    assert award_count(customers, rule_id="first-invoice-of-the-year") == 1


def test_awards_racing_for_one_budget_never_overspend_it(customers):
    results = all_at_once(lambda i: ingest(customers, RULES, invoice_paid(f"evt-{i}", 3_000_000, f"C{i:03}"),
                                           RECEIVED))
    assert not [r for r in results if isinstance(r, Exception)]
    given = [r for r in results if any(a.rule_id == "invoice-points" for a in r.awards)]
    stopped = [s for r in results for s in r.stopped if s.reason == "budget"]
    assert (len(given), len(stopped)) == (3, THREADS - 3)
    with customers.reading() as session:
        issued = session.scalar(select(func.sum(Award.points)).where(Award.programme_id == "burst"))
    assert issued == 900
    assert ledger_problems(customers) == []


def test_a_new_customer_signing_ten_contracts_at_once_is_created_once_and_welcomed_once(store):
    welcome = ruleset("""
        programme: welcome
        name: "Chào mừng"
        rules:
          - id: welcome
            on: contract.signed
            then: {points: 500}
            once_per: customer
        """)
    newcomer = {"name": "Công ty Mới", "segment": "sme", "customer_since": "2026-11-25"}
    results = all_at_once(lambda i: ingest(store, welcome, contract_signed(
        f"evt-{i}", f"K{i}", 1_000_000, customer_id="C-NEW", customer=newcomer), RECEIVED))
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(len(r.awards) for r in results) == 1
    assert points_of(store, "C-NEW") == (500, 0, 0)
    with store.reading() as session:
        assert session.get(Customer, "C-NEW").active_contracts == THREADS


def test_one_invoice_reported_under_ten_ids_at_once_earns_points_once(customers):
    results = all_at_once(lambda i: ingest(customers, RULES, invoice_paid(f"evt-{i}", 3_000_000, "C000",
                                                                          invoice_id="INV-1"), RECEIVED))
    assert sorted(type(r).__name__ for r in results) == ["DuplicateEvent"] * (THREADS - 1) + ["IngestResult"]
    assert points_of(customers, "C000") == (300, 0, 10)


def test_one_prospect_reported_under_ten_ids_and_spellings_at_once_is_thanked_once(customers):
    spellings = ["Nhà hàng Sen Vàng", "nhà hàng sen vàng", "NHÀ HÀNG  SEN VÀNG", " Nhà Hàng Sen Vàng "]
    results = all_at_once(lambda i: ingest(customers, REFERRAL_THANKS, event(
        f"ref-{i}", "referral.converted", {"prospect_name": spellings[i % len(spellings)]}, "C000"), RECEIVED))
    assert sorted(type(r).__name__ for r in results) == ["DuplicateEvent"] * (THREADS - 1) + ["IngestResult"]
    assert points_of(customers, "C000")[0] == 300


@pytest.mark.slow
def test_a_mixed_burst_from_ten_threads_leaves_the_books_balanced(customers):
    shipped = ruleset(*[p.read_text(encoding="utf-8") for p in sorted(SHIPPED.glob("*.yaml"))
                        if p.name != "rewards.yaml"])
    burst = []
    for n in range(THREADS):
        customer = f"C{n % 3:03}"
        burst += [invoice_paid(f"b-{n}", 2_000_000 + n, customer),
                  event(f"r-{n}", "contract.renewed", {"contract_id": f"K{n % 3:03}", "term_months": 24},
                        customer),
                  event(f"o-{n}", "service.incident", {"incident_id": f"SC-{n}", "outage_hours": 30 * n,
                                                       "planned": False}, customer)]
    burst += [event("x-1", "contract.cancelled", {"contract_id": "K001"}, "C001")]
    results = all_at_once(lambda i: [_answer(customers, shipped, e) for e in burst[i::THREADS]])
    assert not [chunk for chunk in results if isinstance(chunk, Exception)]
    answers = [answer for chunk in results for answer in chunk]
    refused = [a for a in answers if isinstance(a, Conflict)]
    assert all("cancelled" in str(a) for a in refused)
    assert len(answers) == len(burst)
    assert ledger_problems(customers) == []
    with customers.reading() as session:
        granted = session.scalar(select(func.sum(Award.points)).where(Award.status == "granted"))
    held = sum(sum(points_of(customers, f"C{n:03}")[:2]) for n in range(THREADS))
    assert held == granted


def _answer(store, rules, delivered):
    try:
        return ingest(store, rules, delivered, RECEIVED)
    except Conflict as refusal:  # a renewal after the cancellation is refused, as it should be
        return refusal


def test_two_customers_signing_one_contract_id_at_once_get_one_contract_and_one_clear_refusal(customers):
    results = all_at_once(lambda i: ingest(customers, RULES, contract_signed(
        f"dup-{i}", "K-SHARED", 2_000_000, customer_id=f"C{i:03}"), RECEIVED))
    signed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(signed) == 1
    assert [type(r) for r in refused] == [Conflict] * (THREADS - 1)
    assert all("'K-SHARED' is already signed" in str(r) for r in refused)
    with customers.reading() as session:
        owners = session.scalars(select(Contract.customer_id).where(Contract.id == "K-SHARED")).all()
        counts = session.scalars(select(Customer.active_contracts).order_by(Customer.id)).all()
    assert len(owners) == 1
    assert sorted(counts) == [1] * (THREADS - 1) + [2]  # only the winner's summary counts it
