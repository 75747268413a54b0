"""Redeem points for a reward, fulfil it on the bill, or cancel it and give the points back.

One transaction each, always taking locks in the same order: the customer, the redemption row,
the reward (its stock), then the ledger accounts. The redemption row is inserted before anything
is spent, keyed by `UNIQUE(customer_id, idempotency_key)`: that insert, not a read, decides
whether a request is new or a retry. A refused request rolls back whole, key included, so the
same key may be sent again once the refusal is fixed (more points earned, stock returned).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from loyalty.errors import (
    FieldErrors, IdempotencyKeyReused, InsufficientPoints, NotEnoughPointsForReward, OutOfStock,
    RedemptionLimitReached, RedemptionSettled, RewardNotOffered, UnknownRedemption,
)
from loyalty.services.canonical import canonical_hash
from loyalty.services.redemption_reads import (
    CustomerReward, RedemptionView, customer_rewards, pending_redemptions, redemptions_in_status,
    view_of,
)
from loyalty.store import Store
from loyalty.store.audit import record
from loyalty.store.insert_once import insert_once
from loyalty.store.ledger import refund, spend
from loyalty.store.ledger.accounts import lock_customer
from loyalty.store.tables import Customer, Redemption, Reward
from loyalty.store.tables.redemptions import CANCELLED, FULFILLED, PENDING

__all__ = [
    "CustomerReward", "RedemptionResult", "RedemptionView", "cancel", "customer_rewards", "fulfil",
    "pending_redemptions", "redeem", "redemptions_in_status",
]

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class RedemptionResult:
    """The answer to a redemption request; `replayed` when the key was already used for it."""

    redemption: RedemptionView
    replayed: bool = False


def redeem(
    store: Store, customer_id: str, reward_id: str, idempotency_key: str, actor: str, at: datetime,
) -> RedemptionResult:
    """Spend the reward's points and record a pending redemption; a retried key answers as the first time."""
    _require_key(idempotency_key)
    request_hash = canonical_hash({"reward_id": reward_id})
    return store.run(lambda session: _redeem(session, customer_id, reward_id, idempotency_key,
                                             request_hash, actor, at))


def fulfil(store: Store, redemption_id: int, actor: str, at: datetime) -> RedemptionView:
    """Billing applied the reward: the redemption is fulfilled; fulfilling it again changes nothing."""
    return store.run(lambda session: _fulfil(session, redemption_id, actor, at))


def cancel(
    store: Store, redemption_id: int, actor: str, reason: str | None, at: datetime, *,
    for_customer: str | None = None,
) -> RedemptionView:
    """Give a pending redemption's points back to the lots they came from and return its stock.

    `for_customer` restricts the cancel to that customer's own redemptions (others are not found).
    Cancelling a cancelled redemption changes nothing; a fulfilled one cannot be cancelled.
    """
    return store.run(lambda session: _cancel(session, redemption_id, actor, reason, at, for_customer))


def _require_key(key: str) -> None:
    if not (key or "").strip() or len(key) > MAX_KEY_LENGTH:
        raise FieldErrors({"Idempotency-Key": [f"Send 1 to {MAX_KEY_LENGTH} characters, unique per request."]})


def _redeem(session: Session, customer_id: str, reward_id: str, key: str, request_hash: str,
            actor: str, at: datetime) -> RedemptionResult:
    customer = lock_customer(session, customer_id)
    reward = session.get(Reward, reward_id, populate_existing=True)
    if reward is None:
        raise FieldErrors({"reward_id": [f"There is no reward {reward_id!r} in the catalogue."]},
                          "No such reward.")
    claimed = insert_once(session, Redemption, {
        "customer_id": customer_id, "reward_id": reward_id, "points": reward.points_cost,
        "value": reward.value, "status": PENDING, "idempotency_key": key,
        "request_hash": request_hash, "created_at": at,
    }, ["customer_id", "idempotency_key"])
    if claimed is None:
        return _replay(session, customer, reward, key, request_hash)
    if not reward.active:
        raise RewardNotOffered(reward_id)
    _check_limit(session, customer_id, reward, claimed)
    _take_one(session, reward)
    spend_id = _spend(session, customer_id, reward, claimed, actor, at)
    row = session.get(Redemption, claimed, populate_existing=True)
    row.spend_transaction_id = spend_id
    record(session, actor=actor, action="redemption.requested", subject_type="redemption",
           subject_id=claimed, occurred_at=at, customer_id=customer_id,
           details={"reward_id": reward_id, "points": row.points, "value": row.value,
                    "spend_transaction_id": spend_id})
    session.flush()
    return RedemptionResult(view_of(row, reward, customer.locale))


def _replay(session: Session, customer: Customer, reward: Reward, key: str,
            request_hash: str) -> RedemptionResult:
    """The first answer again: the redemption as it was created, whatever happened to it since."""
    row = session.scalars(
        select(Redemption).where(Redemption.customer_id == customer.id, Redemption.idempotency_key == key)
        .execution_options(populate_existing=True)
    ).one()
    if row.request_hash != request_hash:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was already used for another redemption (of {row.reward_id!r}); "
            "a new request needs a new key."
        )
    first = replace(view_of(row, reward, customer.locale), status=PENDING, settled_at=None,
                    settled_by=None, cancel_reason=None)
    return RedemptionResult(first, replayed=True)


def _check_limit(session: Session, customer_id: str, reward: Reward, claimed: int) -> None:
    """Counted under the customer's lock, so two requests of one customer cannot both fit."""
    if reward.per_customer_limit is None:
        return
    held = session.scalar(
        select(func.count()).select_from(Redemption).where(
            Redemption.customer_id == customer_id, Redemption.reward_id == reward.id,
            Redemption.status != CANCELLED, Redemption.id != claimed,
        )
    )
    if held >= reward.per_customer_limit:
        raise RedemptionLimitReached(reward.id, reward.per_customer_limit)


def _take_one(session: Session, reward: Reward) -> None:
    """One guarded UPDATE: the database, not a read, decides whether an item is left."""
    taken = session.execute(
        update(Reward).where(Reward.id == reward.id,
                             or_(Reward.stock.is_(None), Reward.stock_taken < Reward.stock))
        .values(stock_taken=Reward.stock_taken + 1).execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise OutOfStock(reward.id)


def _spend(session: Session, customer_id: str, reward: Reward, redemption_id: int, actor: str,
           at: datetime) -> int | None:
    if reward.points_cost == 0:
        return None
    try:
        posted = spend(session, customer_id, reward.points_cost, occurred_at=at,
                       reference=f"redemption:{redemption_id}", actor=actor,
                       reason=f"redeemed {reward.id}")
    except InsufficientPoints as short:
        raise NotEnoughPointsForReward(reward.id, short.available, short.requested) from short
    return posted.transaction_id


def _fulfil(session: Session, redemption_id: int, actor: str, at: datetime) -> RedemptionView:
    row = _locked(session, redemption_id)
    if row.status == CANCELLED:
        raise RedemptionSettled(row.id, CANCELLED, FULFILLED)
    if row.status == PENDING:
        _settle(row, FULFILLED, actor, at)
        record(session, actor=actor, action="redemption.fulfilled", subject_type="redemption",
               subject_id=row.id, occurred_at=at, customer_id=row.customer_id,
               details={"reward_id": row.reward_id, "points": row.points, "value": row.value})
        session.flush()
    return _view(session, row)


def _cancel(session: Session, redemption_id: int, actor: str, reason: str | None, at: datetime,
            for_customer: str | None) -> RedemptionView:
    found = session.get(Redemption, redemption_id)
    if found is None or (for_customer is not None and found.customer_id != for_customer):
        raise UnknownRedemption(redemption_id)
    lock_customer(session, found.customer_id)
    row = _locked(session, redemption_id)
    if row.status == FULFILLED:
        raise RedemptionSettled(row.id, FULFILLED, CANCELLED)
    if row.status == PENDING:
        _give_back(session, row, actor, reason, at)
    return _view(session, row)


def _give_back(session: Session, row: Redemption, actor: str, reason: str | None, at: datetime) -> None:
    """Stock first, then the ledger: the same lock order as a redemption (reward, then accounts)."""
    session.execute(
        update(Reward).where(Reward.id == row.reward_id)
        .values(stock_taken=Reward.stock_taken - 1).execution_options(synchronize_session=False)
    )
    why = reason or "redemption cancelled"
    refunded = None
    if row.spend_transaction_id is not None:
        refunded = refund(session, row.spend_transaction_id, occurred_at=at, actor=actor, reason=why)
    _settle(row, CANCELLED, actor, at)
    row.cancel_reason = reason
    record(session, actor=actor, action="redemption.cancelled", subject_type="redemption",
           subject_id=row.id, occurred_at=at, customer_id=row.customer_id, reason=reason,
           details={"reward_id": row.reward_id, "points": row.points,
                    "refund_transaction_id": refunded.transaction_id if refunded else None})
    session.flush()


def _settle(row: Redemption, status: str, actor: str, at: datetime) -> None:
    row.status, row.settled_at, row.settled_by = status, at, actor


def _locked(session: Session, redemption_id: int) -> Redemption:
    row = session.scalars(
        select(Redemption).where(Redemption.id == redemption_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        raise UnknownRedemption(redemption_id)
    return row


def _view(session: Session, row: Redemption) -> RedemptionView:
    reward = session.get(Reward, row.reward_id)
    locale = session.scalar(select(Customer.locale).where(Customer.id == row.customer_id))
    return view_of(row, reward, locale or "vi")
