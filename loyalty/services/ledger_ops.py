"""Ledger use cases in business words, one transaction each: adjust points, settle a day, verify.

Awards and redemptions post to the ledger inside their own use cases, through the session-level
functions of `loyalty.store.ledger`; these are the ledger's own use cases for operators and the
nightly run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from loyalty.errors import LedgerInvariantBroken
from loyalty.ledger import REWARD
from loyalty.store import Store
from loyalty.store import ledger


def adjust_points(
    store: Store, customer_id: str, points: int, *, actor: str, reason: str, occurred_at: datetime,
    currency: str = REWARD, expires_on: date | None = None, reference: str | None = None,
) -> ledger.Posted:
    """A manual correction, + or -, with who and why, in its own transaction."""
    return store.run(lambda session: ledger.adjust(
        session, customer_id, points, occurred_at=occurred_at, actor=actor, reason=reason,
        currency=currency, expires_on=expires_on, reference=reference,
    ))


@dataclass(frozen=True)
class Settled:
    """What settling a day did: customers touched, points vested and expired."""

    customers: int
    vested: int
    expired: int


def settle_points(store: Store, today: date, *, occurred_at: datetime, actor: str = "engine") -> Settled:
    """Vest and expire every customer's points due on or before `today`, one customer per transaction.

    Idempotent per date: a second run (or a run resumed after a crash) finds nothing more to do.
    """
    with store.reading() as session:
        due = ledger.customers_with_due_lots(session, today)
    vested = expired = 0
    for customer_id in due:
        moved = store.run(lambda session: _settle_one(session, customer_id, today, occurred_at, actor))
        vested, expired = vested + moved[0], expired + moved[1]
    return Settled(len(due), vested, expired)


def _settle_one(session, customer_id: str, today: date, occurred_at: datetime, actor: str) -> tuple[int, int]:
    vested = ledger.vest(session, customer_id, today, occurred_at=occurred_at, actor=actor)
    expired = ledger.expire(session, customer_id, today, occurred_at=occurred_at, actor=actor)
    return (vested.points if vested else 0, -expired.points - expired.pending_points if expired else 0)


def verify_ledger(store: Store) -> ledger.Summary:
    """The ledger's size when every invariant holds; LedgerInvariantBroken naming the offenders if not."""
    with store.reading() as session:
        problems = ledger.verify(session)
        counts = ledger.summary(session)
    if problems:
        raise LedgerInvariantBroken(problems)
    return counts
