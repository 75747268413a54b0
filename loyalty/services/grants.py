"""Reward grants for billing: free catalogue rewards given by rules and goodwill bill credits.

Ingest (`awarding.py`) and marketing's approvals (`approvals.py`) write them `pending`; billing lists
them oldest first (keyset pages, like `redemptions_in_status`), applies them on the next bill and
fulfils them here, or cancels one it will not apply (the customer declined the gift, the account
closed). Settling twice the same way changes nothing; a settled grant cannot be settled the other way.
A cancelled reward gives its item back to the catalogue's stock (`reward_stock`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.errors import FieldErrors, GrantSettled, UnknownGrant
from loyalty.services.keyset import oldest_first
from loyalty.services.reward_stock import give_back_stock
from loyalty.store import Store
from loyalty.store.audit import record
from loyalty.store.tables import Award, RewardGrant

PENDING, FULFILLED, CANCELLED = "pending", "fulfilled", "cancelled"
GRANT_STATUSES = (PENDING, FULFILLED, CANCELLED)
"""As `reward_grants`' CHECK constraint `status_known` allows."""

__all__ = ["GRANT_STATUSES", "GrantView", "cancel_grant", "fulfil_grant", "grants_in_status"]


@dataclass(frozen=True)
class GrantView:
    """A reward grant as billing sees it."""

    id: int
    customer_id: str
    kind: str
    """`reward` (a catalogue item given free) or `bill_credit` (goodwill, `amount` VND)."""
    reward_id: str | None
    amount: int | None
    """VND, for a bill credit."""
    award_id: int
    rule_id: str
    programme_id: str
    status: str
    created_at: datetime
    fulfilled_at: datetime | None

    def cursor(self) -> list[Any]:
        """The sort key of billing's list, oldest first."""
        return [self.created_at.isoformat(), self.id]


def grants_in_status(store: Store, status: str, cursor: Sequence[Any] | None, limit: int) -> list[GrantView]:
    """Reward grants in `status`, oldest first, `limit` of them after `cursor` (a previous `cursor()`)."""
    if status not in GRANT_STATUSES:
        raise FieldErrors({"status": [f"One of {', '.join(GRANT_STATUSES)}."]})
    query = (
        select(RewardGrant, Award.rule_id, Award.programme_id)
        .join(Award, Award.id == RewardGrant.award_id)
        .where(RewardGrant.status == status).limit(limit)
    )
    query = oldest_first(query, RewardGrant.granted_at, RewardGrant.id, cursor)
    with store.reading() as session:
        return [_view_of(grant, rule_id, programme_id) for grant, rule_id, programme_id in session.execute(query)]


def fulfil_grant(store: Store, grant_id: int, actor: str, at: datetime) -> GrantView:
    """Billing applied the grant on a bill: it is fulfilled; fulfilling it again changes nothing."""
    return store.run(lambda session: _settle(session, grant_id, FULFILLED, actor, at, None))


def cancel_grant(store: Store, grant_id: int, actor: str, at: datetime, reason: str | None = None) -> GrantView:
    """Billing will not apply the grant: it is cancelled (with billing's reason, audited); again changes nothing."""
    return store.run(lambda session: _settle(session, grant_id, CANCELLED, actor, at, reason))


def _settle(session: Session, grant_id: int, outcome: str, actor: str, at: datetime, reason: str | None) -> GrantView:
    grant = session.scalars(
        select(RewardGrant).where(RewardGrant.id == grant_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if grant is None:
        raise UnknownGrant(grant_id)
    if grant.status not in (PENDING, outcome):
        raise GrantSettled(grant.id, grant.status, outcome)
    if grant.status == PENDING:
        grant.status = outcome
        if outcome == FULFILLED:
            grant.fulfilled_at = at
        elif grant.kind == "reward":
            give_back_stock(session, grant.reward_id)
        record(session, actor=actor, action=f"grant.{outcome}", subject_type="reward_grant",
               subject_id=grant.id, occurred_at=at, customer_id=grant.customer_id, reason=reason,
               details={"kind": grant.kind, "reward_id": grant.reward_id, "amount": grant.amount,
                        "award_id": grant.award_id})
        session.flush()
    award = session.get(Award, grant.award_id)
    return _view_of(grant, award.rule_id, award.programme_id)


def _view_of(grant: RewardGrant, rule_id: str, programme_id: str) -> GrantView:
    return GrantView(grant.id, grant.customer_id, grant.kind, grant.reward_id, grant.amount, grant.award_id,
                     rule_id, programme_id, grant.status, grant.granted_at, grant.fulfilled_at)
