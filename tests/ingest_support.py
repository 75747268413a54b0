"""Billing's events as tests write them, and what a person checks afterwards (points, awards)."""
from __future__ import annotations

import textwrap
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import func, select

from loyalty.engine.loader import load_ruleset_from_texts
from loyalty.engine.model import Ruleset
from loyalty.errors import LoyaltyError
from loyalty.services import ingest_fast
from loyalty.services.ingest import ingest
from loyalty.services.ingest_result import IngestResult
from loyalty.store import Store
from loyalty.store.ledger import balance, verify
from loyalty.store.tables import Award

RECEIVED = datetime(2026, 11, 25, 3, 0, 5, tzinfo=timezone.utc)
AN_PHAT = {"name": "Công ty An Phát", "segment": "sme", "customer_since": "2024-03-01", "region": "Hà Nội"}


def event(event_id: str, type_: str, data: dict[str, Any], customer_id: str = "C001",
          occurred_at: str = "2026-11-25T03:00:00Z") -> dict[str, Any]:
    """An event envelope exactly as billing posts it (JSON values only)."""
    return {"id": event_id, "type": type_, "occurred_at": occurred_at, "customer_id": customer_id, "data": data}


def customer_upserted(event_id: str, customer_id: str = "C001", **fields: Any) -> dict[str, Any]:
    return event(event_id, "customer.upserted", {**AN_PHAT, **fields}, customer_id)


def contract_signed(event_id: str, contract_id: str, monthly_value: int, start: str = "2026-11-25",
                    term_months: int = 12, customer_id: str = "C001", **extra: Any) -> dict[str, Any]:
    contract = {"id": contract_id, "monthly_value": monthly_value, "term_months": term_months, "start": start}
    return event(event_id, "contract.signed", {"contract": contract, **extra}, customer_id)


def invoice_paid(event_id: str, amount: int, customer_id: str = "C001",
                 occurred_at: str = "2026-11-25T03:00:00Z", **extra: Any) -> dict[str, Any]:
    data = {"invoice_id": f"INV-{event_id}", "amount": amount, **extra}
    return event(event_id, "invoice.paid", data, customer_id, occurred_at)


def ruleset(*programmes: str) -> Ruleset:
    """A ruleset from programme texts (dedented), as files a.yaml, b.yaml, ..."""
    return load_ruleset_from_texts(
        {f"{chr(ord('a') + i)}.yaml": textwrap.dedent(text) for i, text in enumerate(programmes)}
    )


REFERRAL_THANKS = ruleset("""
    programme: referrals
    name: "Cảm ơn giới thiệu"
    rules:
      - id: referral-thanks
        on: referral.converted
        then: {points: 300}
        once_per: event
    """)
"""300 points for each referral reported, once per event: what decides whether a second report counts."""


def points_of(store: Store, customer_id: str, today: date = date(2026, 11, 25)) -> tuple[int, int, int]:
    """(spendable, pending, status) points, as the customer's balance shows them."""
    with store.reading() as session:
        seen = balance(session, customer_id, today)
    return seen.reward_points, seen.pending_points, seen.status_points


def award_count(store: Store, **where: Any) -> int:
    with store.reading() as session:
        query = select(func.count()).select_from(Award).filter_by(**where)
        return session.scalar(query)


def ledger_problems(store: Store) -> list:
    """Every ledger invariant that does not hold (empty: the books balance)."""
    with store.reading() as session:
        return verify(session)


def ingest_one_by_one(store: Store, rules: Ruleset, events: list[Any]) -> list[IngestResult | LoyaltyError]:
    """Each event through `ingest`, in order: its result, or the refusal it raised."""
    out: list[IngestResult | LoyaltyError] = []
    for item in events:
        try:
            out.append(ingest(store, rules, item, RECEIVED))
        except LoyaltyError as refusal:
            out.append(refusal)
    return out


def lane_outcomes(monkeypatch) -> list:
    """What PostgreSQL's lane answers from now on, in order: a result it gave itself, or
    `CLAIMED` / `NOT_CLAIMED` when it handed the event on (to show which events went through it)."""
    outcomes: list = []
    real_attempt = ingest_fast.attempt

    def counted(*args):
        outcome = real_attempt(*args)
        outcomes.append(outcome)
        return outcome

    monkeypatch.setattr(ingest_fast, "attempt", counted)
    return outcomes
