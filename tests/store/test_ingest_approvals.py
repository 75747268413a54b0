"""Goodwill above its threshold waits for marketing, who approve it (billing credits it) or reject it."""
from datetime import datetime, timezone

import pytest
from ingest_support import RECEIVED, contract_signed, customer_upserted, event, ruleset
from sqlalchemy import select

from loyalty.errors import Conflict, FieldErrors, NotFound
from loyalty.services.approvals import approve, list_approvals, reject
from loyalty.services.ingest import ingest
from loyalty.store.tables import Award, AuditRecord, RewardGrant

GOODWILL = ruleset("""
    programme: service-goodwill
    name: "Bồi thường sự cố"
    rules:
      - id: goodwill
        on: service.incident
        then: {goodwill: {per_day: 50000, max: 1000000, approve_above: 100000}}
    """)
DECIDED = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def waiting(store):
    """Two long outages for two customers, both waiting for marketing."""
    for n, customer in enumerate(("C001", "C002")):
        ingest(store, GOODWILL, customer_upserted(f"u-{n}", customer, name=f"Công ty Số {n + 1}"), RECEIVED)
        ingest(store, GOODWILL, contract_signed(f"s-{n}", f"K{n}", 1_000_000, customer_id=customer), RECEIVED)
        ingest(store, GOODWILL, event(f"o-{n}", "service.incident",
                                      {"incident_id": f"SC-{n}", "outage_hours": 72, "planned": False}, customer),
               RECEIVED)
    return store


def credits(store, customer_id):
    with store.reading() as session:
        rows = session.scalars(select(RewardGrant).filter_by(customer_id=customer_id, kind="bill_credit"))
        return [(grant.amount, grant.status) for grant in rows]


def award_status(store, customer_id):
    with store.reading() as session:
        return session.scalars(select(Award.status).filter_by(customer_id=customer_id)).one()


def test_marketing_sees_the_waiting_credits_oldest_first_with_the_customers_name(waiting):
    with waiting.reading() as session:
        listed = list_approvals(session)
    assert [(a.customer_name, a.amount, a.rule_id, a.event_id) for a in listed] == [
        ("Công ty Số 1", 150_000, "goodwill", "o-0"), ("Công ty Số 2", 150_000, "goodwill", "o-1")]
    with waiting.reading() as session:
        assert [a.event_id for a in list_approvals(session, after_id=listed[0].id)] == ["o-1"]


def test_an_approved_credit_becomes_a_bill_credit_for_billing(waiting):
    with waiting.reading() as session:
        first = list_approvals(session)[0]
    with waiting.transaction() as session:
        decided = approve(session, first.id, actor="lan@marketing", at=DECIDED)
    assert (decided.status, decided.decided_by) == ("approved", "lan@marketing")
    assert credits(waiting, "C001") == [(150_000, "pending")]
    assert award_status(waiting, "C001") == "granted"
    assert credits(waiting, "C002") == []
    with waiting.reading() as session:
        assert [a.customer_id for a in list_approvals(session)] == ["C002"]
        audit = session.scalars(select(AuditRecord).filter_by(action="approval.approved")).one()
        assert (audit.actor, audit.ruleset_version) == ("lan@marketing", GOODWILL.version)


def test_approving_twice_credits_once(waiting):
    with waiting.reading() as session:
        first = list_approvals(session)[0]
    for _ in range(2):
        with waiting.transaction() as session:
            approve(session, first.id, actor="lan@marketing", at=DECIDED)
    assert credits(waiting, "C001") == [(150_000, "pending")]


def test_a_rejected_credit_is_never_paid_and_cannot_be_approved_later(waiting):
    with waiting.reading() as session:
        first = list_approvals(session)[0]
    with waiting.transaction() as session:
        reject(session, first.id, actor="lan@marketing", at=DECIDED, note="Sự cố do khách hàng")
    assert (award_status(waiting, "C001"), credits(waiting, "C001")) == ("rejected", [])
    with pytest.raises(Conflict, match="already rejected"), waiting.transaction() as session:
        approve(session, first.id, actor="minh@marketing", at=DECIDED)
    with waiting.reading() as session:
        assert [a.note for a in list_approvals(session, status="rejected")] == ["Sự cố do khách hàng"]


def test_a_rejection_must_say_why_and_an_unknown_approval_is_not_found(waiting):
    with waiting.reading() as session:
        first = list_approvals(session)[0]
    with pytest.raises(FieldErrors, match="note"), waiting.transaction() as session:
        reject(session, first.id, actor="lan@marketing", at=DECIDED, note=" ")
    with pytest.raises(NotFound, match="999"), waiting.transaction() as session:
        approve(session, 999, actor="lan@marketing", at=DECIDED)
