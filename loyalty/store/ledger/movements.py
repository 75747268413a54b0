"""Points moving on their own or given back: expiry, vesting, void, clawback, refund, reversal.

Same discipline as `operations`: lock the customer, then its accounts in id order, read, plan, write.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.errors import NotFound, NotReversible
from loyalty.ledger import (
    ADJUST, ADJUSTMENT, AVAILABLE, CLAW_BACK, CLAWBACK, EARN, EXPIRY, ISSUANCE, PENDING,
    REDEMPTION, REFUND, REVERSE, SPEND, VOID, AccountRef, Plan, local_date, plan_expire,
    plan_release, plan_reverse, plan_vest,
)
from loyalty.store.audit import record
from loyalty.store.ledger.operations import lock_for_posting, refuse_duplicate
from loyalty.store.ledger.posting import Posted, Why, load_lots, revoke_lots, write_plan
from loyalty.store.tables import LedgerAccount, LedgerEntry, LedgerTransaction, Lot, LotAllocation

REVERSIBLE = {EARN: REVERSE, ADJUST: REVERSE, SPEND: REFUND}
"""What each kind's reversal is called; expiry, vesting, voids and clawbacks are not reversed."""


@dataclass(frozen=True)
class Released:
    """What a void or clawback took back, and what it could not (already spent or expired)."""

    points: int
    pending_points: int
    status_points: int
    shortfall: int
    transaction_id: int | None


def expire(
    session: Session, customer_id: str, today: date, *, occurred_at: datetime, actor: str = "engine",
) -> Posted | None:
    """Expire what is still held in lots whose `expires_on` <= `today`; None when nothing is due.

    Idempotent: a second run for the same day finds nothing left to expire and posts nothing.
    """
    lock_for_posting(session, customer_id, EXPIRY)
    lots = load_lots(session, customer_id, kinds=[AVAILABLE, PENDING])
    plan = plan_expire(customer_id, lots, today)
    if plan.is_empty:
        return None
    return _write(session, plan, Why(occurred_at, actor, f"points expired on {today.isoformat()}"),
                  effective_on=today)


def vest(
    session: Session, customer_id: str, today: date, *, occurred_at: datetime, actor: str = "engine",
) -> Posted | None:
    """Move pending lots whose `vests_on` <= `today` into spendable points; None when none is due."""
    lock_for_posting(session, customer_id)
    lots = load_lots(session, customer_id, kinds=[PENDING])
    plan = plan_vest(customer_id, lots, today)
    if plan.is_empty:
        return None
    return _write(session, plan, Why(occurred_at, actor, "pending points vested"), effective_on=today)


def customers_with_due_lots(session: Session, today: date) -> list[str]:
    """Customers holding points that expire or vest on or before `today`: the nightly run's work list."""
    due = (Lot.remaining > 0) & (
        (Lot.expires_on <= today) | ((Lot.vests_on <= today) & Lot.origin_lot_id.is_(None))
    )
    return list(session.scalars(select(Lot.customer_id).where(due).distinct().order_by(Lot.customer_id)))


def void_pending(
    session: Session, customer_id: str, award_references: Sequence[str], *, reference: str,
    occurred_at: datetime, actor: str, reason: str | None = None,
    ruleset_version: str | None = None,
) -> Released:
    """Void an award in its cooling-off period: only what is still unspent is taken back."""
    return _release(session, VOID, customer_id, award_references, reference,
                    Why(occurred_at, actor, reason, ruleset_version))


def clawback(
    session: Session, customer_id: str, award_references: Sequence[str], *, reference: str,
    occurred_at: datetime, actor: str, reason: str | None = None,
    ruleset_version: str | None = None,
) -> Released:
    """Take back the unspent points of the awards named (a cancelled contract) into clawback."""
    return _release(session, CLAW_BACK, customer_id, award_references, reference,
                    Why(occurred_at, actor, reason, ruleset_version))


def _release(session, kind, customer_id, award_references, reference, why: Why) -> Released:
    lock_for_posting(session, customer_id, ISSUANCE, CLAWBACK)
    lots = load_lots(session, customer_id, references=award_references, held_only=False)
    plan = plan_release(kind, customer_id, lots, reference)
    refuse_duplicate(session, plan)
    if plan.is_empty:
        _revoke_only(session, plan, why)
        return Released(0, 0, 0, plan.shortfall, None)
    posted = _write(session, plan, why)
    return Released(-posted.points, -posted.pending_points, -posted.status_points,
                    posted.shortfall, posted.transaction_id)


def _revoke_only(session: Session, plan: Plan, why: Why) -> None:
    """Nothing left to take: still mark the lots (a later refund into them is taken back too), and
    audit the shortfall, since no transaction will carry it."""
    revoke_lots(session, plan.revoke_lot_ids, why.occurred_at)
    record(
        session, actor=why.actor, action=f"ledger.{plan.kind}", subject_type="customer",
        subject_id=plan.customer_id, occurred_at=why.occurred_at, customer_id=plan.customer_id,
        reason=why.reason, ruleset_version=why.ruleset_version,
        details={"points": 0, "reference": plan.reference, "shortfall": plan.shortfall,
                 "lots": plan.revoke_lot_ids},
    )


def refund(
    session: Session, spend_transaction_id: int, *, occurred_at: datetime, actor: str,
    reason: str | None = None, today: date | None = None,
) -> Posted:
    """Give a spend's points back into the very lots it consumed (a cancelled redemption).

    A lot that has expired meanwhile (`expires_on` <= `today`) gets its points back and loses
    them again at once, in a follow-up expiry; a revoked lot likewise in a follow-up clawback.
    """
    return _reverse(session, spend_transaction_id, SPEND, occurred_at, actor, reason, today)


def reverse(
    session: Session, transaction_id: int, *, occurred_at: datetime, actor: str, reason: str,
) -> Posted:
    """Post the mirror image of an award or an adjustment; refused once any of its points are spent."""
    return _reverse(session, transaction_id, None, occurred_at, actor, reason, None)


def _reverse(session, transaction_id, expected_kind, occurred_at, actor, reason, today) -> Posted:
    original = session.get(LedgerTransaction, transaction_id)
    if original is None:
        raise NotFound(f"Ledger transaction {transaction_id} does not exist.")
    kind = REVERSIBLE.get(original.kind)
    if kind is None or (expected_kind and original.kind != expected_kind):
        raise NotReversible(f"A {original.kind} transaction cannot be given back this way.")
    customer, accounts = lock_for_posting(session, original.customer_id, *_counters(original.kind))
    _refuse_second_reversal(session, original)
    entries, allocations = _original_moves(session, transaction_id)
    lots = load_lots(session, original.customer_id, ids=[i for i, _ in allocations], held_only=False)
    by_id = {lot.id: lot for lot in lots}
    plan = plan_reverse(kind, original.customer_id, entries, allocations, by_id, original.reference)
    why = Why(occurred_at, actor, reason, original.ruleset_version)
    posted = _write(session, plan, why, reverses_id=original.id)
    day = today or local_date(occurred_at, customer.time_zone)
    return replace(posted, follow_ups=_settle_restored(session, plan, posted.transaction_id, day, why))


def _counters(kind: str) -> tuple[str, ...]:
    """Every system account a reversal and its follow-ups may touch, locked together up front."""
    settle = (EXPIRY, ISSUANCE, CLAWBACK)
    return {EARN: (ISSUANCE,), ADJUST: (ADJUSTMENT,) + settle, SPEND: (REDEMPTION,) + settle}[kind]


def _refuse_second_reversal(session: Session, original: LedgerTransaction) -> None:
    done = session.scalar(select(LedgerTransaction.id).where(LedgerTransaction.reverses_id == original.id))
    if done is not None:
        raise NotReversible(f"Transaction {original.id} was already given back by transaction {done}.")


def _original_moves(session: Session, transaction_id: int):
    rows = session.execute(
        select(LedgerAccount.kind, LedgerAccount.currency, LedgerAccount.customer_id, LedgerEntry.amount)
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerEntry.transaction_id == transaction_id)
    )
    entries = [(AccountRef(kind, currency, owner), amount) for kind, currency, owner, amount in rows]
    allocations = [(lot_id, amount) for lot_id, amount in session.execute(
        select(LotAllocation.lot_id, LotAllocation.amount)
        .where(LotAllocation.transaction_id == transaction_id)
    )]
    return entries, allocations


def _settle_restored(
    session, plan: Plan, given_back_by: int, today: date, why: Why,
) -> tuple[Posted, ...]:
    """Points put back into an expired or revoked lot leave again at once, in their own transaction.

    The follow-ups are named after the giving-back transaction, not the original's reference: that
    may be missing (a correction) or shared by a spend and an adjustment, and a clawback pays once.
    """
    restored = {lot_id for lot_id, _kind, delta in plan.allocations if delta > 0}
    if not restored:
        return ()
    name = f"{plan.kind}-{given_back_by}"
    follow_ups = []
    held = load_lots(session, plan.customer_id, ids=restored)
    expiring = plan_expire(plan.customer_id, held, today, reference=f"{name}:expired")
    if not expiring.is_empty:
        lock_for_posting(session, plan.customer_id, EXPIRY)
        follow_ups.append(_write(session, expiring, replace(why, reason="refunded into an expired lot"),
                                 effective_on=today))
        held = load_lots(session, plan.customer_id, ids=restored)
    revoked = [lot for lot in held if lot.revoked]
    if revoked:
        lock_for_posting(session, plan.customer_id, ISSUANCE, CLAWBACK)
        taking = plan_release(CLAW_BACK, plan.customer_id, revoked, f"{name}:revoked")
        taking.shortfall = 0
        follow_ups.append(_write(session, taking, replace(why, reason="refunded into a revoked lot")))
    return tuple(follow_ups)


def _write(session: Session, plan: Plan, why: Why, **kwargs) -> Posted:
    """Write with accounts already locked by this transaction (the lock is re-entrant)."""
    _customer, accounts = lock_for_posting(session, plan.customer_id, *_system_kinds(plan))
    return write_plan(session, plan, accounts, why, **kwargs)


def _system_kinds(plan: Plan) -> tuple[str, ...]:
    return tuple({ref.kind for ref in plan.entries if ref.customer_id is None})
