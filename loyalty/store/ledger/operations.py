"""Crediting and debiting points in the caller's session: earn, spend, adjust.

Each function locks the customer, then the accounts it touches (in id order), reads the lots,
asks `loyalty.ledger` for the plan and writes it with its audit row. The caller commits.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from loyalty.errors import DuplicatePosting, FieldErrors
from loyalty.ledger import (
    ADJUST, ADJUSTMENT, AVAILABLE, CLAWBACK, ISSUANCE, REDEMPTION, REWARD, SPEND, STATUS,
    STATUS_POINTS, AccountRef, Plan, local_date, plan_debit, plan_earn, system_account,
)
from loyalty.store.ledger.accounts import (
    LockedAccount, customer_accounts, lock_accounts, lock_customer, lock_customer_row,
)
from loyalty.store.ledger.posting import Posted, Why, load_lots, write_plan
from loyalty.store.tables import Customer, LedgerTransaction

_TRANSACTIONS = LedgerTransaction.__table__
POSTED_BEFORE = select(_TRANSACTIONS.c.id).where(
    _TRANSACTIONS.c.customer_id == bindparam("customer_id"), _TRANSACTIONS.c.kind == bindparam("kind"),
    _TRANSACTIONS.c.reference == bindparam("reference"),
)


def earn(
    session: Session, customer_id: str, *, points: int = 0, status_points: int = 0,
    occurred_at: datetime, reference: str, programme: str | None = None,
    expires_on: date | None = None, vests_on: date | None = None, actor: str = "engine",
    reason: str | None = None, ruleset_version: str | None = None, for_new_award: bool = False,
    audited_as: dict | None = None,
) -> Posted:
    """Credit an award: reward points in a new lot (pending until `vests_on` if given), status points.

    `reference` (the award id) pays once per customer: posting it again raises DuplicatePosting.
    `for_new_award`: the caller holds the customer's row lock already (an event locks its customer
    first) and `reference` names an award it inserted in this transaction, which nothing can have
    posted before; the customer lock and the duplicate check are then skipped, two of an awarded
    event's statements (the unique index on the reference still stands behind it). `audited_as`: as
    `write_plan`'s (the award's own audit row, which stands for the posting's).
    """
    plan = plan_earn(customer_id, points=points, status_points=status_points, earned_at=occurred_at,
                     expires_on=expires_on, vests_on=vests_on, programme=programme, reference=reference)
    if not for_new_award:
        lock_customer_row(session, customer_id)
    accounts = lock_accounts(session, earning_accounts(plan))
    if not for_new_award:
        refuse_duplicate(session, plan)
    return write_plan(session, plan, accounts, Why(occurred_at, actor, reason, ruleset_version),
                      audited_as=audited_as)


def spend(
    session: Session, customer_id: str, points: int, *, occurred_at: datetime, reference: str,
    actor: str, reason: str | None = None, ruleset_version: str | None = None,
    today: date | None = None,
) -> Posted:
    """Debit spendable points oldest-expiry first into redemption; InsufficientPoints takes nothing.

    `today` (the customer's local date) defaults to `occurred_at` in the customer's time zone;
    points whose `expires_on` is today or earlier are not spendable even before the nightly run.
    """
    customer, accounts = lock_for_posting(session, customer_id, REDEMPTION)
    lots = load_lots(session, customer_id, kinds=[AVAILABLE])
    day = today or local_date(occurred_at, customer.time_zone)
    plan = plan_debit(customer_id, lots, points, day, kind=SPEND, counter=REDEMPTION,
                      reference=reference)
    refuse_duplicate(session, plan)
    return write_plan(session, plan, accounts, Why(occurred_at, actor, reason, ruleset_version))


def adjust(
    session: Session, customer_id: str, points: int, *, occurred_at: datetime, actor: str,
    reason: str, currency: str = REWARD, expires_on: date | None = None,
    reference: str | None = None, ruleset_version: str | None = None, today: date | None = None,
) -> Posted:
    """A person's correction, + or -, against the adjustment account; `actor` and `reason` required."""
    _require_who_and_why(points, actor, reason, currency)
    customer, accounts = lock_for_posting(session, customer_id, ADJUSTMENT)
    if points > 0:
        plan = plan_earn(customer_id, points=points if currency == REWARD else 0,
                         status_points=points if currency == STATUS else 0, earned_at=occurred_at,
                         expires_on=expires_on, reference=reference, kind=ADJUST, counter=ADJUSTMENT)
    else:
        kind = AVAILABLE if currency == REWARD else STATUS_POINTS
        lots = load_lots(session, customer_id, kinds=[kind])
        day = today or local_date(occurred_at, customer.time_zone)
        plan = plan_debit(customer_id, lots, -points, day, kind=ADJUST, counter=ADJUSTMENT,
                          reference=reference, account=kind)
    refuse_duplicate(session, plan)
    return write_plan(session, plan, accounts, Why(occurred_at, actor, reason, ruleset_version))


def _require_who_and_why(points: int, actor: str, reason: str, currency: str) -> None:
    errors: dict[str, list[str]] = {}
    if not points:
        errors["points"] = ["An adjustment moves at least one point, up or down."]
    if not (actor or "").strip():
        errors["actor"] = ["Say who makes the adjustment."]
    if not (reason or "").strip():
        errors["reason"] = ["Say why the points are adjusted."]
    if currency not in (REWARD, STATUS):
        errors["currency"] = [f"Either {REWARD!r} or {STATUS!r}."]
    if errors:
        raise FieldErrors(errors)


def lock_for_posting(
    session: Session, customer_id: str, *system_kinds: str
) -> tuple[Customer, dict[AccountRef, LockedAccount]]:
    """Lock the customer, then its accounts and the system accounts named, in id order.

    Issuance, clawback and adjustment exist in both currencies; the others hold reward points only.
    """
    customer = lock_customer(session, customer_id)
    return customer, lock_accounts(session, posting_accounts(customer_id, *system_kinds))


def posting_accounts(customer_id: str, *system_kinds: str) -> list[AccountRef]:
    """The customer's three accounts and the system accounts of the kinds named."""
    refs = customer_accounts(customer_id)
    for kind in system_kinds:
        currencies = (REWARD, STATUS) if kind in (ISSUANCE, CLAWBACK, ADJUSTMENT) else (REWARD,)
        refs += [system_account(kind, currency) for currency in currencies]
    return refs


def earning_accounts(plan: Plan) -> list[AccountRef]:
    """The customer accounts an earning credits, in `customer_accounts`' order, and both issuance accounts.

    A customer's account is created by its first credit (decision 39): a customer thanked with points
    that are spendable at once has no pending account until points wait for it, and none for status
    points until it earns some. Every other posting locks (and so creates) all three, as before
    (`lock_for_posting`): a vesting credits the available account of a customer that may not have one."""
    credited = {lot.account.kind for lot in plan.new_lots}
    return ([ref for ref in customer_accounts(plan.customer_id) if ref.kind in credited]
            + [system_account(ISSUANCE, currency) for currency in (REWARD, STATUS)])


def refuse_duplicate(session: Session, plan: Plan) -> None:
    """A reference pays once: checked under the customer's lock, backed by a unique index."""
    if plan.reference is None:
        return
    existing = session.scalar(POSTED_BEFORE, {"customer_id": plan.customer_id, "kind": plan.kind,
                                              "reference": plan.reference})
    if existing is not None:
        raise DuplicatePosting(plan.kind, plan.reference, existing)

