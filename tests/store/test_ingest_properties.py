"""Whatever order and however often billing delivers its events, each pays once."""
from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_support import RECEIVED, customer_upserted, invoice_paid, ledger_problems, points_of, ruleset

from loyalty.services.ingest import ingest

RULES = ruleset("""
    programme: invoices
    name: "Tích điểm hóa đơn"
    rules:
      - id: invoice-points
        on: invoice.paid
        then: {points: {per: 10000, of: event.amount}}
      - id: first-invoice-of-the-year
        on: invoice.paid
        then: {status_points: 10}
        once_per: year
    """)

amounts = st.lists(st.integers(min_value=0, max_value=50_000_000), min_size=1, max_size=6)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=amounts, data=st.data())
def test_shuffled_and_repeated_deliveries_pay_each_invoice_once(sqlite_store, amounts, data):
    customer = f"C-{uuid.uuid4().hex[:12]}"
    ingest(sqlite_store, RULES, customer_upserted(f"{customer}-u", customer), RECEIVED)
    events = [invoice_paid(f"{customer}-{n}", amount, customer) for n, amount in enumerate(amounts)]
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=8), label="repeats")
    deliveries = data.draw(st.permutations(events + repeats), label="order")
    answers = [ingest(sqlite_store, RULES, event, RECEIVED) for event in deliveries]
    assert sum(not a.replayed for a in answers) == len(events)
    assert points_of(sqlite_store, customer) == (sum(a // 10_000 for a in amounts), 0, 10)
    assert ledger_problems(sqlite_store) == []
