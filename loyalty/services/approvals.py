"""Goodwill credits waiting for marketing: list them, approve one (billing then credits it), or reject it.

Each decision locks its approval row, is written with an audit row in the caller's transaction, and
is idempotent: deciding the same way again changes nothing; deciding the other way is a Conflict.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.errors import Conflict, FieldErrors, NotFound
from loyalty.store.audit import record
from loyalty.store.tables import Approval, Award, Customer, Event, RewardGrant


@dataclass(frozen=True)
class ApprovalView:
    """One goodwill credit as marketing reviews it."""

    id: int
    status: str
    customer_id: str
    customer_name: str
    amount: int
    rule_id: str
    event_id: str
    requested_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    note: str | None = None
    incident_id: str | None = None
    """Billing's id of the service incident the credit is for."""


def list_approvals(session: Session, status: str = "pending", after_id: int | None = None,
                   limit: int = 100) -> list[ApprovalView]:
    """Approvals in one status, oldest first; pass the last id as `after_id` for the next page."""
    query = (
        select(Approval, Award, Customer.name, Event.subject)
        .join(Award, Award.id == Approval.award_id).join(Customer, Customer.id == Approval.customer_id)
        .outerjoin(Event, Event.id == Award.event_id)
        .where(Approval.status == status).order_by(Approval.id).limit(limit)
    )
    if after_id is not None:
        query = query.where(Approval.id > after_id)
    return [_view(approval, award, name, subject) for approval, award, name, subject in session.execute(query)]


def approve(session: Session, approval_id: int, *, actor: str, at: datetime, note: str | None = None) -> ApprovalView:
    """Grant the credit: the award becomes granted and billing finds a bill credit to apply."""
    approval, award = _decide(session, approval_id, "approved", actor, at, note)
    if award.status == "pending_approval":
        award.status = "granted"
        session.add(RewardGrant(customer_id=approval.customer_id, award_id=award.id, kind="bill_credit",
                                amount=approval.amount, status="pending", granted_at=at))
    return _view(approval, award, session.get(Customer, approval.customer_id).name, _subject(session, award))


def reject(session: Session, approval_id: int, *, actor: str, at: datetime, note: str) -> ApprovalView:
    """Refuse the credit, saying why; the award is kept, marked rejected, and nothing is credited."""
    if not (note or "").strip():
        raise FieldErrors({"note": ["say why the credit is refused"]}, "A rejection needs a reason.")
    approval, award = _decide(session, approval_id, "rejected", actor, at, note)
    award.status = "rejected"
    return _view(approval, award, session.get(Customer, approval.customer_id).name, _subject(session, award))


def _decide(session: Session, approval_id: int, decision: str, actor: str, at: datetime,
            note: str | None) -> tuple[Approval, Award]:
    approval = session.get(Approval, approval_id, with_for_update=True)
    if approval is None:
        raise NotFound(f"There is no approval {approval_id}.")
    award = session.get(Award, approval.award_id, with_for_update=True)
    if approval.status == decision:
        return approval, award
    if approval.status != "pending":
        raise Conflict(f"Approval {approval_id} was already {approval.status} by {approval.decided_by} "
                       f"on {approval.decided_at.isoformat()}; it cannot be {decision}.")
    approval.status, approval.decided_at, approval.decided_by, approval.note = decision, at, actor, note
    record(session, actor=actor, action=f"approval.{decision}", subject_type="approval", subject_id=approval.id,
           occurred_at=at, customer_id=approval.customer_id, reason=note, ruleset_version=award.ruleset_version,
           details={"award_id": award.id, "amount": approval.amount, "rule_id": award.rule_id})
    return approval, award


def _subject(session: Session, award: Award) -> str | None:
    return session.scalar(select(Event.subject).where(Event.id == award.event_id))


def _view(approval: Approval, award: Award, customer_name: str, subject: str | None) -> ApprovalView:
    return ApprovalView(
        id=approval.id, status=approval.status, customer_id=approval.customer_id, customer_name=customer_name,
        amount=approval.amount, rule_id=award.rule_id, event_id=award.event_id,
        requested_at=approval.requested_at, decided_at=approval.decided_at, decided_by=approval.decided_by,
        note=approval.note, incident_id=subject.split(":", 1)[1] if subject else None,
    )
