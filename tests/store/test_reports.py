"""Marketing's programme report: per programme and rule, points issued, spent, expired, taken back, left."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from ingest_support import RECEIVED, contract_signed, customer_upserted, event, invoice_paid, ruleset

from loyalty.services.approvals import approve, list_approvals
from loyalty.services.ingest import ingest
from loyalty.services.reports import programme_report
from loyalty.store.ledger import expire, spend

RULES = ruleset("""
    programme: welcome
    name: "Chào mừng khách hàng mới"
    rules:
      - id: welcome-points
        on: contract.signed
        then: {points: 500}
        clawback_on: contract.cancelled
    """, """
    programme: business-invoices
    name: "Tích điểm hóa đơn"
    rules:
      - id: invoice-points
        on: invoice.paid
        then: {points: {per: 10000, of: event.amount}, expires_after: P1M}
    """, """
    programme: service-goodwill
    name: "Bồi thường sự cố"
    rules:
      - id: goodwill
        on: service.incident
        then: {goodwill: {per_day: 50000, max: 1000000, approve_above: 100000}}
    """)
LATER = datetime(2027, 1, 5, 3, 0, tzinfo=timezone.utc)


def outage(event_id: str, customer_id: str, hours: int) -> dict:
    return event(event_id, "service.incident", {"incident_id": f"SC-{event_id}", "outage_hours": hours,
                                                 "planned": False}, customer_id)


@pytest.fixture
def a_season(store):
    """Two customers earn; one spends 150, the other's invoice points expire and its contract is cancelled."""
    for customer_id in ("C001", "C002"):
        ingest(store, RULES, customer_upserted(f"u-{customer_id}", customer_id), RECEIVED)
        ingest(store, RULES, contract_signed(f"s-{customer_id}", f"K-{customer_id}", 1_000_000,
                                             customer_id=customer_id), RECEIVED)
        ingest(store, RULES, invoice_paid(f"i-{customer_id}", 2_000_000, customer_id), RECEIVED)
    ingest(store, RULES, outage("o-1", "C001", 72), RECEIVED)
    ingest(store, RULES, outage("o-2", "C002", 96), RECEIVED)
    with store.transaction() as session:
        spend(session, "C001", 150, occurred_at=RECEIVED, reference="redemption:1", actor="test")
    with store.transaction() as session:
        expire(session, "C002", date(2026, 12, 26), occurred_at=LATER)
    ingest(store, RULES, event("x-C002", "contract.cancelled", {"contract_id": "K-C002"}, "C002",
                               "2027-01-05T03:00:00Z"), LATER)
    with store.transaction() as session:
        first = list_approvals(session)[0]
        approve(session, first.id, actor="lan@marketing", at=LATER)
    return store


def figures(report, programme_id, rule_id=None):
    programme = next(p for p in report.programmes if p.programme_id == programme_id)
    if rule_id is None:
        return programme.figures
    return next(r.figures for r in programme.rules if r.rule_id == rule_id)


def test_each_rule_shows_what_it_issued_and_where_the_points_went(a_season):
    report = programme_report(a_season, RULES)
    welcome = figures(report, "welcome", "welcome-points")
    invoices = figures(report, "business-invoices", "invoice-points")
    assert (welcome.issued, welcome.redeemed, welcome.expired, welcome.clawed_back, welcome.outstanding) == (
        1000, 0, 0, 500, 500)
    # C001 spent 150 of its invoice points (they expire first); C002's 200 expired before the cancellation
    assert (invoices.issued, invoices.redeemed, invoices.expired, invoices.clawed_back, invoices.outstanding) == (
        400, 150, 200, 0, 50)
    assert figures(report, "business-invoices").issued == 400
    assert [p.name for p in report.programmes] == ["Tích điểm hóa đơn", "Bồi thường sự cố", "Chào mừng khách hàng mới"]


def test_goodwill_shows_the_granted_and_the_waiting_credits_in_vnd(a_season):
    goodwill = figures(programme_report(a_season, RULES), "service-goodwill", "goodwill")
    assert (goodwill.goodwill_granted, goodwill.goodwill_pending, goodwill.issued) == (150_000, 200_000, 0)


def test_the_figures_reconcile_for_every_rule_programme_and_in_total(a_season):
    report = programme_report(a_season, RULES)
    everything = [report.totals] + [p.figures for p in report.programmes] + [
        r.figures for p in report.programmes for r in p.rules]
    for f in everything:
        assert f.issued - f.redeemed - f.expired - f.clawed_back + f.adjusted == f.outstanding
    assert report.totals.outstanding == 550


def test_a_period_counts_only_the_movements_within_it(a_season):
    january = programme_report(a_season, RULES, since=date(2027, 1, 1), until=date(2027, 1, 31))
    assert (january.totals.issued, january.totals.expired, january.totals.clawed_back) == (0, 200, 500)
    assert january.totals.outstanding == -700
    assert (january.totals.goodwill_granted, january.totals.goodwill_pending) == (0, 0)
