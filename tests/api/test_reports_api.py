"""Marketing reads the programme report over HTTP: per programme and rule, figures that reconcile."""
from __future__ import annotations

import pytest
from api_helpers import assert_problem, bearer, build_app
from ingest_support import RECEIVED, customer_upserted, invoice_paid, ruleset

from loyalty.services.ingest import ingest
from loyalty.store.ledger import spend

INVOICES = ruleset("""
    programme: business-invoices
    name: "Tích điểm hóa đơn"
    rules:
      - id: invoice-points
        on: invoice.paid
        then: {points: {per: 10000, of: event.amount}}
    """)


@pytest.fixture
def app(store):
    ingest(store, INVOICES, customer_upserted("u-1", "C001"), RECEIVED)
    ingest(store, INVOICES, invoice_paid("i-1", 3_000_000, "C001"), RECEIVED)
    with store.transaction() as session:
        spend(session, "C001", 120, occurred_at=RECEIVED, reference="redemption:1", actor="test")
    return build_app(store, LOYALTY_RULESET=INVOICES)


def test_the_report_shows_each_programme_and_rule_with_figures_that_reconcile(client, key_for):
    response = client.get("/api/v1/reports/programmes", headers=bearer(key_for("marketing")))
    assert response.status_code == 200
    body = response.get_json()
    (programme,) = body["programmes"]
    assert (programme["programme_id"], programme["name"]) == ("business-invoices", "Tích điểm hóa đơn")
    (rule,) = programme["rules"]
    figures = rule["figures"]
    assert (rule["rule_id"], figures["issued"], figures["redeemed"], figures["outstanding"]) == (
        "invoice-points", 300, 120, 180)
    f = body["totals"]
    assert f["issued"] - f["redeemed"] - f["expired"] - f["clawed_back"] + f["adjusted"] == f["outstanding"] == 180
    assert (body["from"], body["until"]) == (None, None)


def test_a_period_before_anything_happened_is_all_zero(client, key_for):
    response = client.get("/api/v1/reports/programmes?from=2026-01-01&until=2026-10-31",
                          headers=bearer(key_for("marketing")))
    assert response.status_code == 200
    assert response.get_json()["programmes"] == []
    assert response.get_json()["totals"]["issued"] == 0


def test_a_period_that_ends_before_it_starts_is_refused_naming_until(client, key_for):
    response = client.get("/api/v1/reports/programmes?from=2026-12-01&until=2026-11-01",
                          headers=bearer(key_for("marketing")))
    assert "until" in assert_problem(response, 422)["errors"]
