"""Marketing over HTTP: the rules in force, a draft checked with every problem's line, a draft simulated."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from api_helpers import assert_problem, bearer, build_app
from ingest_support import RECEIVED, customer_upserted, invoice_paid, ruleset

from loyalty.engine.loader import load_ruleset
from loyalty.services.ingest import ingest

SHIPPED = load_ruleset(Path(__file__).resolve().parents[2] / "rules")
INVOICES = textwrap.dedent("""
    programme: business-invoices
    name: "Tích điểm hóa đơn"
    rules:
      - id: invoice-points
        on: invoice.paid
        then: {points: {per: 10000, of: event.amount}}
    """)
TYPO = INVOICES.replace("event.amount", "event.amout")


@pytest.fixture
def app(store):
    return build_app(store, LOYALTY_RULESET=SHIPPED)


def test_marketing_reads_the_rules_in_force_each_on_one_line(client, key_for):
    response = client.get("/api/v1/rules", headers=bearer(key_for("marketing")))
    assert response.status_code == 200
    body = response.get_json()
    assert body["version"] == SHIPPED.version
    anniversary = next(p for p in body["programmes"] if p["id"] == "anniversary-thanks")
    assert anniversary["name"] == "Tri ân khách hàng thân thiết"
    assert anniversary["budget"] == {"points": 50_000_000, "per": "year"}
    sme = next(r for r in anniversary["rules"] if r["id"] == "second-anniversary-sme")
    assert sme["condition"] == ("tenure_years = 2 and segment in [sme, enterprise] and "
                                "(renewals ≥ 1 or contract_value ≥ 2,000,000)")
    assert (sme["awards"], sme["group"], sme["priority"], sme["on"]) == (
        "500 points; expiring after P12M", "anniversary-gift", 25, "anniversary")
    assert sme["valid"] == {"from": None, "until": None}
    assert "thank-you-hamper" in body["rewards"]


def test_a_valid_draft_is_counted_and_versioned(client, key_for):
    response = client.post("/api/v1/rules/check", json={"files": {"invoices.yaml": INVOICES}},
                           headers=bearer(key_for("marketing")))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["valid"], body["programmes"], body["rules"], len(body["version"])) == (True, 1, 1, 64)


def test_a_draft_with_a_typo_is_refused_with_its_file_line_and_rule(client, key_for):
    response = client.post("/api/v1/rules/check", json={"files": {"invoices.yaml": TYPO}},
                           headers=bearer(key_for("marketing")))
    body = assert_problem(response, 422)
    (problem,) = body["errors"]
    assert (problem["file"], problem["line"], problem["rule"]) == ("invoices.yaml", 7, "invoice-points")
    assert "event.amount" in problem["message"]


def test_a_draft_file_that_is_not_a_rule_file_name_is_refused_naming_files(client, key_for):
    response = client.post("/api/v1/rules/check", json={"files": {"../secret.yaml": INVOICES}},
                           headers=bearer(key_for("marketing")))
    assert "files" in assert_problem(response, 422)["errors"]


def test_simulating_a_draft_compares_it_with_the_rules_in_force(store, key_for):
    in_force = ruleset(INVOICES)
    app = build_app(store, LOYALTY_RULESET=in_force)
    ingest(store, in_force, customer_upserted("u-1", "C001"), RECEIVED)
    ingest(store, in_force, invoice_paid("i-1", 1_000_000, "C001", "2026-11-20T03:00:00Z"), RECEIVED)
    draft = INVOICES.replace("per: 10000", "per: 5000")
    response = app.test_client().post("/api/v1/rules/simulate",
                                      json={"files": {"invoices.yaml": draft}, "date": "2026-11-25"},
                                      headers=bearer(key_for("marketing")))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["today"], body["in_force_version"]) == ("2026-11-25", in_force.version)
    replay = body["replay"]
    assert (replay["events"], replay["since"], replay["days"], replay["truncated"]) == (2, "2026-08-27", 90, False)
    assert replay["top_gainers"] == [{"customer_id": "C001", "name": "Công ty An Phát", "points_given": 100,
                                      "points_draft": 200, "delta": 100}]
    assert (replay["gainers"], replay["losers"], replay["points_delta"]) == (1, 0, 100)


def test_simulating_an_invalid_draft_lists_its_problems(client, key_for):
    response = client.post("/api/v1/rules/simulate", json={"files": {"invoices.yaml": TYPO}},
                           headers=bearer(key_for("marketing")))
    assert assert_problem(response, 422)["errors"][0]["line"] == 7
