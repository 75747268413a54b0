"""The set-based batch gives what `ingest` one event after the other gives: answers and rows.

Random mixed batches (every event type, resends, changed bodies under a used id, one invoice under
two ids, renewals of contracts not seen yet, bad payloads, several events of one customer, budgets,
caps, tiers read by later rules, goodwill waiting for approval) are ingested twice from the same
start: once by `ingest` one event at a time, once by `ingest_many`. Every answer and every row must
be the same, surrogate ids aside (each row is named by what it is: an award by its customer, rule
and once key, a ledger transaction by its reference, an account by its code).
"""
from __future__ import annotations

import random
from typing import Any

import pytest
from ingest_support import (
    RECEIVED, contract_signed, customer_upserted, event, ingest_one_by_one, invoice_paid, ledger_problems, ruleset,
)

from loyalty.errors import LoyaltyError
from loyalty.services.event_check import FLAT_TYPES, load_event_fast
from loyalty.services.event_payloads import DATA_SCHEMAS, load_event
from loyalty.services.ingest import ingest, ingest_many
from loyalty.services.ingest_result import IngestResult
from tests.conftest import empty_all_tables
from tests.database_contents import answers, contents

RULES = ruleset("""
    programme: invoices
    name: "Hóa đơn"
    cap: {points: 700, per: month}
    rules:
      - id: invoice-points
        on: invoice.paid
        then: {points: {per: 10000, of: event.amount}, expires_after: P12M}
      - id: first-of-year
        on: invoice.paid
        then: {status_points: 30}
        once_per: year
      - id: silver
        on: invoice.paid
        when: {status_points: {gte: 30}}
        then: {tier: vang, programme: club}
        once_per: customer
      - id: silver-bonus
        on: invoice.paid
        when: {tier: {eq: vang}}
        then: {points: 7}
        group: bonus
      - id: plain-bonus
        on: invoice.paid
        then: {points: 3}
        group: bonus
        priority: -1
    """, """
    programme: budgeted
    name: "Ngân sách"
    budget: {points: 150, per: year}
    rules:
      - id: big-invoice
        on: invoice.paid
        when: {event.amount: {gte: 500000}}
        then: {points: 40, reward: thank-you-hamper}
      - id: renewal-points
        on: contract.renewed
        then: {points: 30}
    """, """
    programme: care
    name: "Chăm sóc"
    cap: {points: 60, per: year}
    rules:
      - id: goodwill
        on: service.incident
        when: {event.planned: {eq: false}}
        then: {goodwill: {per_day: 50000, after_days: 1, max: 1000000, approve_above: 100000}}
      - id: referral
        on: referral.converted
        then: {points: 25, status_points: 5}
      - id: signing
        on: contract.signed
        then: {points: 50, pending_days: 30}
        clawback_on: contract.cancelled
    """)

CUSTOMERS = ("C1", "C2", "C3", "C4")
MOMENTS = ("2026-11-25T03:00:00Z", "2026-11-30T20:00:00Z", "2026-12-31T18:30:00Z", "2027-01-02T03:00:00+07:00")


def _setup() -> list[dict]:
    events = []
    for n, customer in enumerate(CUSTOMERS):
        events.append(customer_upserted(f"u-{customer}", customer, time_zone="Europe/Berlin" if n == 3 else
                                        "Asia/Ho_Chi_Minh"))
        events.append(contract_signed(f"s-{customer}", f"K-{customer}", 1_000_000 * (n + 1), customer_id=customer))
    return events


def _batch(rng: random.Random, size: int) -> list[Any]:
    """A mixed batch, drawn so that most events are valid and many refer to each other."""
    made: list[Any] = []
    for n in range(size):
        customer = rng.choice(CUSTOMERS + ("C5",)) if rng.random() < 0.1 else rng.choice(CUSTOMERS[:3])
        at = rng.choice(MOMENTS)
        roll = rng.random()
        if made and roll < 0.12:  # a resend, or a changed body under a used id
            earlier = rng.choice(made)
            if isinstance(earlier, dict) and rng.random() < 0.4 and earlier.get("type") == "invoice.paid":
                earlier = {**earlier, "data": {**earlier["data"], "amount": earlier["data"]["amount"] + 1}}
            made.append(earlier)
            continue
        if made and roll < 0.17:  # the same invoice under another id
            earlier = next((e for e in reversed(made) if isinstance(e, dict) and e.get("type") == "invoice.paid"), None)
            if earlier is not None:
                made.append({**earlier, "id": f"b-{n}"})
                continue
        if roll < 0.5:
            extra = {}
            if rng.random() < 0.2:
                extra["contract_id"] = rng.choice([f"K-{customer}", "K-C1", "K-NONE", f"K-{customer}-2"])
            made.append(invoice_paid(f"b-{n}", rng.choice([0, 90_000, 300_000, 700_000, 2_000_000]), customer,
                                     occurred_at=at, **extra))
        elif roll < 0.58:
            made.append(event(f"b-{n}", "service.incident", {"incident_id": f"I-{n % 7}", "outage_hours": rng.choice(
                [0, 30, 60, 100]), "planned": rng.random() < 0.3}, customer, at))
        elif roll < 0.64:
            data = ({"referred_customer_id": f"R-{rng.randrange(5)}"} if rng.random() < 0.7
                    else {"prospect_name": "Chị Lan"})
            made.append(event(f"b-{n}", "referral.converted", data, customer, at))
        elif roll < 0.71:
            made.append(event(f"b-{n}", "contract.renewed",
                              {"contract_id": rng.choice([f"K-{customer}", f"K-{customer}-2", "K-LATER"])}, customer, at))
        elif roll < 0.75:
            made.append(event(f"b-{n}", "contract.cancelled", {"contract_id": rng.choice(
                [f"K-{customer}", f"K-{customer}-2"])}, customer, at))
        elif roll < 0.8:
            contract = rng.choice([f"K-{customer}-2", "K-LATER", f"K-{customer}"])
            made.append(contract_signed(f"b-{n}", contract, rng.choice([500_000, 9_000_000]), customer_id=customer))
        elif roll < 0.83:
            made.append(contract_signed(f"b-{n}", "K-C6", 2_000_000, customer_id="C6",
                                        customer={"name": "Mới", "segment": "home", "customer_since": "2026-01-01"}))
        elif roll < 0.86:
            made.append(customer_upserted(f"b-{n}", customer, segment=rng.choice(["sme", "home"])))
        elif roll < 0.95:
            made.append(rng.choice([
                invoice_paid(f"b-{n}", -1, customer), invoice_paid(f"b-{n}", True, customer),
                invoice_paid(f"b-{n}", 5, customer, extra_field=1), {**invoice_paid(f"b-{n}", 5, customer), "x": 1},
                event(f"b-{n}", "invoice.paid", {"amount": 5}, customer), "not an event",
                event(f"b-{n}", "service.incident", {"incident_id": "I", "outage_hours": 1, "planned": 1}, customer),
                event(f"b-{n}", "referral.converted", {}, customer), {**invoice_paid(f"b-{n}", 5), "occurred_at": "x"},
                invoice_paid("", 5, customer), event(f"b-{n}", "invoice.paid", {"invoice_id": "I", "amount": 5.0}),
            ]))
        else:
            made.append(invoice_paid(f"b-{n}", 100_000, "C4", occurred_at=at))
    return made


@pytest.mark.parametrize("seed", range(6))
def test_a_batch_answers_and_writes_what_events_one_by_one_would(store, seed):
    rng = random.Random(seed)
    first, second = _batch(rng, 70), _batch(rng, 50)
    for item in _setup():
        ingest(store, RULES, item, RECEIVED)
    alone = ingest_one_by_one(store, RULES, first) + ingest_one_by_one(store, RULES, second)
    expected = contents(store)
    empty_all_tables(store)
    for item in _setup():
        ingest(store, RULES, item, RECEIVED)
    batched = ingest_many(store, RULES, first, RECEIVED) + ingest_many(store, RULES, second, RECEIVED)
    got = contents(store)
    assert answers(batched, got["_award_keys"]) == answers(alone, expected["_award_keys"])
    for table in expected.keys() - {"_award_keys"}:
        assert got[table] == expected[table], table
    assert ledger_problems(store) == []
    kinds = {type(r).__name__ for r in alone} | {str(r.stopped[0].reason) for r in alone
                                                 if isinstance(r, IngestResult) and r.stopped}
    assert {"IngestResult", "FieldErrors", "EventOutOfOrder", "EventConflict", "DuplicateEvent"} <= kinds


def test_a_batch_of_one_customers_invoices_counts_its_cap_and_tier_as_it_goes(store):
    for item in _setup():
        ingest(store, RULES, item, RECEIVED)
    results = ingest_many(store, RULES, [invoice_paid(f"i-{n}", 2_000_000, "C1") for n in range(6)], RECEIVED)
    assert [[a.rule_id for a in r.awards] for r in results[:3]] == [
        ["invoice-points", "first-of-year", "plain-bonus", "big-invoice"],
        ["invoice-points", "silver", "plain-bonus", "big-invoice"],  # status points 30 now: silver, tier vang
        ["invoice-points", "silver-bonus", "big-invoice"]]  # the tier the second gave
    assert [s.reason for r in results for s in r.stopped if s.rule_id == "invoice-points"] == ["cap"] * 3
    assert [s.reason for r in results for s in r.stopped if s.rule_id == "big-invoice"] == ["budget"] * 3


# --- the fast checker says what marshmallow says ------------------------------------------------

def test_the_fast_checks_mirror_the_schemas_fields():
    for event_type, spec in FLAT_TYPES.items():
        schema = DATA_SCHEMAS[event_type]()
        assert [name for name, *_ in spec] == list(schema.fields)
        assert [required for *_, required in spec] == [schema.fields[n].required for n, *_ in spec]


@pytest.mark.parametrize("seed", range(3))
def test_the_fast_loader_answers_as_load_event(seed):
    for raw in _batch(random.Random(seed), 300):
        try:
            expected = load_event(raw)
        except LoyaltyError as refusal:
            with pytest.raises(type(refusal)) as raised:
                load_event_fast(raw)
            assert raised.value.errors == refusal.errors
            continue
        loaded = load_event_fast(raw)
        assert loaded == expected and list(loaded) == list(expected)
        assert list(loaded["data"]) == list(expected["data"])


def test_a_chunk_whose_claims_another_writer_raced_runs_again_one_event_at_a_time(store, monkeypatch):
    from loyalty.services import ingest_batch
    for item in _setup():
        ingest(store, RULES, item, RECEIVED)
    real_claim, calls = ingest_batch.bulk.claim_events, []

    def raced_once(session, rows):
        calls.append(len(rows))
        return real_claim(session, rows) - (1 if len(calls) == 1 else 0)

    monkeypatch.setattr(ingest_batch.bulk, "claim_events", raced_once)
    results = ingest_many(store, RULES, [invoice_paid(f"i-{n}", 2_000_000, "C1") for n in range(3)], RECEIVED)
    assert calls == [3] and [len(r.awards) for r in results] == [4, 4, 3]
    assert ledger_problems(store) == []


def test_a_batch_pauses_the_garbage_collector_and_leaves_it_as_it_was(store, monkeypatch):
    import gc

    from loyalty.services import ingest_batch
    for item in _setup():
        ingest(store, RULES, item, RECEIVED)
    seen = []
    real_decide = ingest_batch.decide
    monkeypatch.setattr(ingest_batch, "decide", lambda *args: seen.append(gc.isenabled()) or real_decide(*args))
    assert gc.isenabled()
    ingest_many(store, RULES, [invoice_paid("g-1", 2_000_000, "C1")], RECEIVED)
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        ingest_many(store, RULES, [invoice_paid("g-2", 2_000_000, "C1")], RECEIVED)
        assert not gc.isenabled()
    finally:
        gc.enable()
