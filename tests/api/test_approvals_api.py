"""Marketing decides on goodwill credits over HTTP: the waiting list, approve, reject with a reason."""
from __future__ import annotations

import pytest
from api_helpers import assert_problem, bearer
from ingest_support import RECEIVED, customer_upserted, event, ruleset
from sqlalchemy import select

from loyalty.services.ingest import ingest
from loyalty.store.tables import AuditRecord, RewardGrant

GOODWILL = ruleset("""
    programme: service-goodwill
    name: "Bồi thường sự cố"
    rules:
      - id: goodwill
        on: service.incident
        then: {goodwill: {per_day: 50000, max: 1000000, approve_above: 100000}}
    """)


@pytest.fixture
def waiting(store):
    """Three long outages, three credits waiting: 150,000, 200,000 and 250,000 VND."""
    for n, customer_id in enumerate(("C001", "C002", "C003")):
        ingest(store, GOODWILL, customer_upserted(f"u-{n}", customer_id, name=f"Công ty Số {n + 1}"), RECEIVED)
        ingest(store, GOODWILL, event(f"o-{n}", "service.incident", {
            "incident_id": f"SC-{n}", "outage_hours": 72 + 24 * n, "planned": False}, customer_id), RECEIVED)
    return store


def waiting_list(client, headers, query=""):
    response = client.get(f"/api/v1/approvals{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_marketing_pages_through_the_credits_waiting_oldest_first(client, key_for, waiting):
    headers = bearer(key_for("marketing"))
    first = waiting_list(client, headers, "?limit=2")
    assert [(a["customer_name"], a["amount"], a["rule_id"], a["event_id"], a["incident_id"])
            for a in first["items"]] == [("Công ty Số 1", 150_000, "goodwill", "o-0", "SC-0"),
                                         ("Công ty Số 2", 200_000, "goodwill", "o-1", "SC-1")]
    assert first["items"][0]["requested_at"] == "2026-11-25T10:00:05+07:00"
    rest = waiting_list(client, headers, f"?limit=2&cursor={first['next_cursor']}")
    assert ([a["event_id"] for a in rest["items"]], rest["next_cursor"]) == (["o-2"], None)


def test_an_approved_credit_goes_to_billing_once_however_often_it_is_approved(client, key_for, waiting):
    headers = bearer(key_for("marketing"))
    approval = waiting_list(client, headers)["items"][0]
    for _ in range(2):
        response = client.post(f"/api/v1/approvals/{approval['id']}/approve", json={"note": "khách quan trọng"},
                               headers=headers)
        assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["note"], response.get_json()["incident_id"]) == (
        "approved", "khách quan trọng", "SC-0")
    with waiting.reading() as session:
        credits = session.scalars(select(RewardGrant.amount).filter_by(customer_id="C001")).all()
        audit = session.scalars(select(AuditRecord.actor).filter_by(action="approval.approved")).all()
    assert credits == [150_000]
    assert len(audit) == 1 and audit[0].startswith("marketing key ")
    assert [a["event_id"] for a in waiting_list(client, headers, "?status=approved")["items"]] == ["o-0"]


def test_a_rejection_needs_a_reason_and_then_cannot_be_approved(client, key_for, waiting):
    headers = bearer(key_for("marketing"))
    approval_id = waiting_list(client, headers)["items"][1]["id"]
    missing = client.post(f"/api/v1/approvals/{approval_id}/reject", json={}, headers=headers)
    assert "reason" in assert_problem(missing, 422)["errors"]
    blank = client.post(f"/api/v1/approvals/{approval_id}/reject", json={"reason": "  "}, headers=headers)
    assert "reason" in assert_problem(blank, 422)["errors"]
    rejected = client.post(f"/api/v1/approvals/{approval_id}/reject", json={"reason": "bảo trì đã báo trước"},
                           headers=headers)
    assert (rejected.status_code, rejected.get_json()["status"]) == (200, "rejected")
    assert client.post(f"/api/v1/approvals/{approval_id}/reject", json={"reason": "again"},
                       headers=headers).status_code == 200
    assert_problem(client.post(f"/api/v1/approvals/{approval_id}/approve", headers=headers), 409)


def test_an_approval_that_does_not_exist_is_a_404(client, key_for, waiting):
    assert_problem(client.post("/api/v1/approvals/999999/approve", headers=bearer(key_for("marketing"))), 404)
