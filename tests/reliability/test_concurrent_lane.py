"""Bursts of paid invoices for one customer, on the rules PostgreSQL's lane takes (points only, a
monthly cap, a once-a-year bonus): the cap holds, the bonus is given once, a customer's first
accounts are created once, and a resend racing its first delivery posts nothing twice.

The lane reads the customer's cap sum and accounts in a statement after the one that waited for
the customer's lock; these races are what would show a read made before the lock was released.
On SQLite the general path answers the same bursts (its writer lock serialises them).
"""
from __future__ import annotations

import pytest
from ingest_support import RECEIVED, award_count, contract_signed, customer_upserted, invoice_paid, ledger_problems
from ingest_support import lane_outcomes, points_of, ruleset
from sqlalchemy import func, select

from loyalty.errors import LoyaltyError
from loyalty.services import ingest_fast
from loyalty.services.ingest import ingest
from loyalty.services.ingest_result import IngestResult
from loyalty.store.tables import Award, LedgerAccount
from tests.reliability.test_concurrent_ingest import THREADS, all_at_once

CAPPED = ruleset("""
    programme: thanks
    name: "Cảm ơn thanh toán"
    cap: {points: 250, per: month}
    rules:
      - id: invoice-points
        on: invoice.paid
        then: {points: {per: 10000, of: event.amount}, expires_after: P12M}
    """)
YEARLY = ruleset("""
    programme: yearly
    name: "Hóa đơn đầu năm"
    rules:
      - id: first-invoice-of-the-year
        on: invoice.paid
        then: {points: 5}
        once_per: year
    """)


@pytest.fixture
def lane_answers(store, monkeypatch) -> list:
    """What the lane answered itself (on PostgreSQL), to show the bursts went through it."""
    answered = lane_outcomes(monkeypatch)
    for n in (1, 2):
        ingest(store, CAPPED, customer_upserted(f"u-{n}", f"C00{n}"), RECEIVED)
        ingest(store, CAPPED, contract_signed(f"s-{n}", f"K00{n}", 2_000_000, customer_id=f"C00{n}"), RECEIVED)
    for n, rules in enumerate((CAPPED, YEARLY)):  # the programmes' own accounts exist; C001 has none yet
        ingest(store, rules, invoice_paid(f"other-{n}", 10_000, "C002"), RECEIVED)
    answered.clear()
    return answered


def _burst(store, rules, make) -> list:
    results = all_at_once(lambda i: ingest(store, rules, make(i), RECEIVED))
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, LoyaltyError)]
    return results


def test_invoices_racing_for_one_monthly_cap_never_pass_it(store, lane_answers):
    ingest(store, CAPPED, invoice_paid("before", 100_000, "C001"), RECEIVED)  # 10 points: its accounts exist
    results = _burst(store, CAPPED, lambda i: invoice_paid(f"evt-{i}", 600_000, "C001"))  # 60 points each

    with store.reading() as session:
        given = session.scalar(select(func.sum(Award.points)).where(Award.programme_id == "thanks",
                                                                    Award.customer_id == "C001"))
    assert given == 10 + 4 * 60  # four more fit under the cap of 250
    assert points_of(store, "C001")[0] == given
    assert sum(s.reason == "cap" for r in results for s in r.stopped) == THREADS - 4
    assert ledger_problems(store) == []
    if store.dialect == "postgresql":
        assert any(isinstance(a, IngestResult) and a.awards for a in lane_answers)


def test_a_once_a_year_bonus_raced_by_ten_invoices_is_given_once_and_the_first_accounts_once(store, lane_answers):
    results = _burst(store, YEARLY, lambda i: invoice_paid(f"evt-{i}", 10_000, "C001"))

    assert award_count(store, rule_id="first-invoice-of-the-year", customer_id="C001") == 1
    assert sum(s.reason == "once_per" for r in results for s in r.stopped) == THREADS - 1
    assert points_of(store, "C001")[0] == 5
    with store.reading() as session:
        accounts = session.scalars(select(LedgerAccount.kind).where(LedgerAccount.customer_id == "C001")).all()
    assert accounts == ["available"]  # once, and only the account the bonus credits (decision 39)
    assert ledger_problems(store) == []
    if store.dialect == "postgresql":
        assert sum(isinstance(a, IngestResult) for a in lane_answers) == THREADS  # its first account too


def test_ten_deliveries_of_one_invoice_at_once_post_its_points_once(store, lane_answers):
    results = _burst(store, CAPPED, lambda _: invoice_paid("evt-1", 1_000_000, "C001"))

    first = [r for r in results if not r.replayed]
    assert len(first) == 1 and all(r.awards == first[0].awards and r.stopped == [] for r in results)
    assert points_of(store, "C001")[0] == 100
    assert ledger_problems(store) == []
    if store.dialect == "postgresql":
        assert ingest_fast.NOT_CLAIMED in lane_answers  # the other deliveries found the claim taken
