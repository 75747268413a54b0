"""PostgreSQL's lane for the common single event gives what the general path gives: answers and rows.

Random streams of paid invoices, incidents and referrals (resends, a changed body under a used id,
one invoice under two ids, a contract that is not the customer's, an unknown customer, caps that
fill up, pending points, customers' first awards, another customer's first award beside) go through
`ingest` twice from the same start: once with the lane, once with it switched off.
"""
from __future__ import annotations

import random
from typing import Any

import pytest

from ingest_support import (
    RECEIVED, contract_signed, customer_upserted, event, ingest_one_by_one, invoice_paid, lane_outcomes,
    ledger_problems, ruleset,
)
from loyalty.services import ingest_fast
from loyalty.services.ingest import ingest
from loyalty.services.ingest_result import IngestResult
from tests.conftest import empty_all_tables
from tests.database_contents import answers, contents

RULES = ruleset("""
    programme: invoices
    name: "Hóa đơn"
    cap: {points: 300, per: month}
    rules:
      - id: invoice-points
        on: invoice.paid
        then: {points: {per: 10000, of: event.amount}, expires_after: P12M}
      - id: big-invoice-bonus
        on: invoice.paid
        when: {event.amount: {gte: 2000000}}
        then: {points: 50}
        once_per: year
        group: bonus
    """, """
    programme: care
    name: "Chăm sóc"
    rules:
      - id: outage-thanks
        on: service.incident
        when: {event.planned: {eq: false}}
        then: {points: 20, pending_days: 7}
        clawback_on: contract.cancelled
      - id: referral
        on: referral.converted
        then: {points: 25}
        once_per: customer
    """)
CUSTOMERS = ("C1", "C2", "C3")


def _setup() -> list[dict]:
    return [item for n, customer in enumerate(CUSTOMERS) for item in (
        customer_upserted(f"u-{customer}", customer, time_zone="Europe/Berlin" if n == 2 else "Asia/Ho_Chi_Minh"),
        contract_signed(f"s-{customer}", f"K-{customer}", 1_000_000 * (n + 1), customer_id=customer))]


def _stream(rng: random.Random, size: int) -> list[Any]:
    made: list[Any] = []
    for n in range(size):
        customer = rng.choice(CUSTOMERS + ("C9",)) if rng.random() < 0.1 else rng.choice(CUSTOMERS)
        at = rng.choice(("2026-11-25T03:00:00Z", "2026-11-30T20:00:00Z", "2026-12-31T23:30:00Z"))
        roll = rng.random()
        if made and roll < 0.1:  # a resend, or a changed body under a used id
            earlier = rng.choice(made)
            if earlier.get("type") == "invoice.paid" and rng.random() < 0.4:
                earlier = {**earlier, "data": {**earlier["data"], "amount": earlier["data"]["amount"] + 1}}
            made.append(earlier)
        elif made and roll < 0.15:  # the same invoice under another id
            made.append({**rng.choice(made), "id": f"f-{n}"})
        elif roll < 0.7:
            extra = {"contract_id": rng.choice([f"K-{customer}", "K-C1", "K-NONE"])} if rng.random() < 0.2 else {}
            made.append(invoice_paid(f"f-{n}", rng.choice([0, 90_000, 700_000, 2_500_000]), customer,
                                     occurred_at=at, **extra))
        elif roll < 0.85:
            made.append(event(f"f-{n}", "service.incident", {"incident_id": f"I-{n}", "outage_hours": 30,
                                                            "planned": rng.random() < 0.3}, customer, at))
        else:
            made.append(event(f"f-{n}", "referral.converted", {"referred_customer_id": f"R-{rng.randrange(3)}"},
                              customer, at))
    return made


@pytest.mark.parametrize("seed", range(6))
def test_the_lane_answers_and_writes_what_the_general_path_does(postgresql_store, monkeypatch, seed):
    store, stream = postgresql_store, _stream(random.Random(seed), 80)
    taken = lane_outcomes(monkeypatch)
    for item in _setup():
        ingest(store, RULES, item, RECEIVED)
    fast = ingest_one_by_one(store, RULES, stream)
    fast_rows = contents(store)

    empty_all_tables(store)
    monkeypatch.setattr(ingest_fast, "lane_for", lambda compiled, event_type: None)
    for item in _setup():
        ingest(store, RULES, item, RECEIVED)
    general = ingest_one_by_one(store, RULES, stream)
    general_rows = contents(store)

    assert answers(fast, fast_rows["_award_keys"]) == answers(general, general_rows["_award_keys"])
    for table in general_rows.keys() - {"_award_keys"}:
        assert fast_rows[table] == general_rows[table], table
    assert ledger_problems(store) == []
    answered = [r for r in taken if isinstance(r, IngestResult)]
    assert len(answered) > len(stream) / 3 and any(r.awards for r in answered)  # the lane did most of the work
    assert ingest_fast.CLAIMED in taken  # and handed some on: an unknown customer, a contract, a full cap
