"""Reward grants over HTTP, on both databases: billing lists goodwill credits, fulfils or cancels them."""
from __future__ import annotations

import pytest
from ingest_support import RECEIVED, contract_signed, customer_upserted, event, ruleset

from api_helpers import assert_problem, bearer
from sqlalchemy import select
from loyalty.services.ingest import ingest
from loyalty.store.tables import AuditRecord

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


def test_billing_cancels_a_grant_it_will_not_apply_with_its_reason_and_it_cannot_be_fulfilled(
        client, key_for, credit, store):
    token = key_for("billing")
    [grant] = pending(client, token)
    url = f"{BASE}/grants/{grant['id']}"
    first = client.post(f"{url}/cancel", json={"reason": "Khách hàng đã đóng tài khoản"}, headers=bearer(token))
    assert first.status_code == 200, first.get_data(as_text=True)
    assert (first.get_json()["status"], first.get_json()["fulfilled_at"]) == ("cancelled", None)
    assert pending(client, token) == []
    again = client.post(f"{url}/cancel", headers=bearer(token))
    assert (again.status_code, again.get_json()) == (200, first.get_json())
    body = assert_problem(client.post(f"{url}/fulfil", headers=bearer(token)), 409)
    assert "already cancelled" in body["detail"]
    with store.reading() as session:
        reasons = session.scalars(select(AuditRecord.reason).where(AuditRecord.action == "grant.cancelled")).all()
    assert reasons == ["Khách hàng đã đóng tài khoản"]


def test_a_fulfilled_grant_cannot_be_cancelled(client, key_for, credit):
    token = key_for("billing")
    [grant] = pending(client, token)
    assert client.post(f"{BASE}/grants/{grant['id']}/fulfil", headers=bearer(token)).status_code == 200
    body = assert_problem(client.post(f"{BASE}/grants/{grant['id']}/cancel", headers=bearer(token)), 409)
    assert "already fulfilled; it cannot be cancelled" in body["detail"]


def test_a_cancel_with_an_unknown_field_is_refused_naming_it(client, key_for, credit):
    token = key_for("billing")
    [grant] = pending(client, token)
    response = client.post(f"{BASE}/grants/{grant['id']}/cancel", json={"why": "x"}, headers=bearer(token))
    assert "why" in str(assert_problem(response, 422))
    assert len(pending(client, token)) == 1
