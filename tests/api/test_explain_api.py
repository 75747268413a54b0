"""Marketing asks why a customer is or is not rewarded: every rule, every condition's value."""
from __future__ import annotations

import pytest

from api_helpers import CATALOGUE, NOW, assert_problem, bearer, build_app
from ingest_support import contract_signed, customer_upserted, ruleset
from loyalty.engine.model import Ruleset
from loyalty.services.ingest import ingest

ANNIVERSARY = """
    programme: tri-an
    name: "Tri ân khách hàng thân thiết"
    rules:
      - id: second-anniversary-sme
        description: Hai năm gắn bó
        on: anniversary
        when:
          all:
            - tenure_months: {gte: 24}
            - segment: {in: [sme, enterprise]}
            - any:
                - renewals: {gte: 1}
                - contract_value: {gte: 2000000}
        then:
          points: 500
        group: anniversary-gift
        priority: 10
      - id: first-anniversary
        on: anniversary
        when:
          tenure_months: {gte: 12}
        then:
          points: 100
        group: anniversary-gift
        priority: 5
      - id: big-invoice
        on: invoice.paid
        when:
          event.amount: {gte: 10000000}
        then:
          points: 1000
    """


def rules() -> Ruleset:
    loaded = ruleset(ANNIVERSARY)
    return Ruleset(version=loaded.version, programmes=loaded.programmes, rewards=CATALOGUE)


@pytest.fixture
def marketing(store, key_for):
    """Ask as marketing about Công ty An Phát: an SME since March 2024, a 3,000,000 VND contract."""
    given = rules()
    ingest(store, given, customer_upserted("e-1", "C001"), NOW)
    ingest(store, given, contract_signed("e-2", "HD-001", 3_000_000, start="2024-03-01"), NOW)
    client = build_app(store, LOYALTY_RULESET=given, LOYALTY_CLOCK=lambda: NOW).test_client()
    headers = bearer(key_for("marketing"))
    return lambda path, **query: client.get(f"/api/v1/customers/{path}/explain", query_string=query,
                                            headers=headers)


def test_every_rule_is_explained_with_the_facts_it_was_tested_on(marketing):
    response = marketing("C001")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["customer_id"], body["today"], body["event_type"]) == ("C001", "2026-11-25", None)
    assert body["ruleset_version"] == rules().version
    assert body["facts"]["tenure_months"] == 32 and body["facts"]["contract_value"] == 3_000_000
    assert body["facts"]["event.amount"] is None
    verdicts = {r["rule_id"]: (r["matched"], r["awards"], r["stopped_by"], r["beaten_by"]) for r in body["rules"]}
    assert verdicts == {
        "second-anniversary-sme": (True, True, None, None),
        "first-anniversary": (True, False, "another rule of its group has precedence: group anniversary-gift is won by "
                              "second-anniversary-sme", "second-anniversary-sme"),
        "big-invoice": (False, False, None, None),
    }


def test_each_condition_shows_the_customers_value_and_its_outcome(marketing):
    [sme] = [r for r in marketing("C001").get_json()["rules"] if r["rule_id"] == "second-anniversary-sme"]
    assert sme["description"] == "Hai năm gắn bó" and sme["source"] == "a.yaml:5"
    tree = sme["condition"]
    assert (tree["kind"], tree["holds"]) == ("all", True)
    tenure, segment, either = tree["parts"]
    assert (tenure["fact"], tenure["op"], tenure["expected"], tenure["actual"], tenure["holds"]) == (
        "tenure_months", "gte", 24, 32, True)
    assert (segment["expected"], segment["actual"]) == (["sme", "enterprise"], "sme")
    renewals, value = either["parts"]
    assert (renewals["actual"], renewals["holds"], value["actual"], value["holds"]) == (0, False, 3_000_000, True)


def test_a_rule_that_does_not_match_shows_the_failing_condition(marketing):
    [invoice] = marketing("C001", event="invoice.paid").get_json()["rules"]
    assert invoice["condition"] == {"kind": "fact", "holds": False, "source": "a.yaml:30", "fact": "event.amount",
                                    "op": "gte", "expected": 10_000_000, "actual": None}


def test_an_event_type_restricts_the_rules_explained(marketing):
    body = marketing("C001", event="anniversary").get_json()
    assert body["event_type"] == "anniversary"
    assert [r["rule_id"] for r in body["rules"]] == ["second-anniversary-sme", "first-anniversary"]


def test_an_unknown_event_type_is_422_naming_event(marketing):
    assert "event" in assert_problem(marketing("C001", event="aniversary"), 422)["errors"]


def test_an_unknown_customer_cannot_be_explained(marketing):
    assert_problem(marketing("C404"), 404)


@pytest.mark.parametrize("role", ["billing", "customer"])
def test_only_marketing_asks_why(store, key_for, marketing, role):
    client = build_app(store, LOYALTY_RULESET=rules()).test_client()
    token = key_for(role, "C001") if role == "customer" else key_for(role)
    assert_problem(client.get("/api/v1/customers/C001/explain", headers=bearer(token)), 403)
