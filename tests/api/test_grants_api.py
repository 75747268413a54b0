"""Reward grants over HTTP, on both databases: billing lists goodwill credits and fulfils them."""
from __future__ import annotations

import pytest
from ingest_support import RECEIVED, contract_signed, customer_upserted, event, ruleset

from api_helpers import assert_problem, bearer
from loyalty.services.ingest import ingest

BASE = "/api/v1"
GOODWILL = ruleset("""
    programme: service-goodwill
    name: "Bồi thường sự cố"
    rules:
      - id: goodwill
        on: service.incident
        then: {goodwill: {per_day: 50000, max: 1000000}}
    """)


@pytest.fixture
def credit(store):
    """Công ty An Phát (C001) lost service for two days: a goodwill bill credit waits for billing."""
    ingest(store, GOODWILL, customer_upserted("u-1", "C001"), RECEIVED)
    ingest(store, GOODWILL, contract_signed("s-1", "K1", 1_000_000), RECEIVED)
    ingest(store, GOODWILL, event("o-1", "service.incident",
                                  {"incident_id": "SC-1", "outage_hours": 48, "planned": False}), RECEIVED)


def pending(client, token):
    response = client.get(f"{BASE}/grants?status=pending", headers=bearer(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def test_billing_sees_the_goodwill_credit_fulfils_it_and_it_leaves_the_pending_list(client, key_for, credit):
    token = key_for("billing")
    [grant] = pending(client, token)
    assert {k: grant[k] for k in ("customer_id", "kind", "amount", "reward_id", "status", "rule_id")} == {
        "customer_id": "C001", "kind": "bill_credit", "amount": 100_000, "reward_id": None,
        "status": "pending", "rule_id": "goodwill"}
    assert grant["created_at"].endswith("+07:00") and grant["fulfilled_at"] is None

    first = client.post(f"{BASE}/grants/{grant['id']}/fulfil", headers=bearer(token))
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["status"] == "fulfilled" and first.get_json()["fulfilled_at"] is not None
    assert pending(client, token) == []
    fulfilled = client.get(f"{BASE}/grants?status=fulfilled", headers=bearer(token)).get_json()["items"]
    assert [row["id"] for row in fulfilled] == [grant["id"]]

    again = client.post(f"{BASE}/grants/{grant['id']}/fulfil", headers=bearer(token))
    assert (again.status_code, again.get_json()) == (200, first.get_json())


def test_other_roles_are_refused(client, key_for, credit):
    grant_id = pending(client, key_for("billing"))[0]["id"]
    for role in ("customer", "marketing"):
        token = key_for(role, "C001" if role == "customer" else None)
        assert client.get(f"{BASE}/grants", headers=bearer(token)).status_code == 403
        assert client.post(f"{BASE}/grants/{grant_id}/fulfil", headers=bearer(token)).status_code == 403
    assert len(pending(client, key_for("billing"))) == 1


def test_an_unknown_grant_is_not_found(client, key_for):
    assert_problem(client.post(f"{BASE}/grants/999999/fulfil", headers=bearer(key_for("billing"))), 404)


def test_an_unknown_status_is_refused_naming_it(client, key_for):
    body = assert_problem(client.get(f"{BASE}/grants?status=lost", headers=bearer(key_for("billing"))), 422)
    assert "status" in str(body)
