"""Ingest billing's events: each one changes state and gives its awards exactly once, in one transaction.

The event row is inserted first, keyed by billing's event id: whoever inserts it owns the event, and
every other delivery (a resend, a concurrent duplicate) finds the stored result instead. A refused
event (bad fields, out of order, a conflict) rolls back whole: nothing of it is written.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from loyalty.engine.decide import CompiledRuleset, compile_ruleset, decide
from loyalty.engine.model import Ruleset
from loyalty.errors import DuplicateEvent, EventConflict, FieldErrors, LoyaltyError
from loyalty.services import ingest_fast
from loyalty.services.awarding import claw_back_cancelled_contract, give_awards
from loyalty.services.customers import lock_customers
from loyalty.services.event_check import checked, checked_or_refusal
from loyalty.services.event_payloads import already_reported, event_row, event_subject
from loyalty.services.event_state import apply_event
from loyalty.services.ingest_result import IngestResult
from loyalty.services.limits import lock_budgets
from loyalty.store import Store
from loyalty.store.driver import DriverStatement
from loyalty.store.insert_once import insert_once
from loyalty.store.tables import Event

MAX_BATCH = 1000
CHUNK = 250
"""Events per transaction in `ingest_many`: long enough that commits cost little, short enough that the
locks it holds (the chunk's customers, budgets, the programme's ledger accounts) are released soon."""
STORE_RESULT = DriverStatement(
    update(Event.__table__).where(Event.__table__.c.id == bindparam("event_id"))
    .values(result=bindparam("result"), snapshot=bindparam("snapshot"))
)
"""The answer kept for resends and what the rules read, for replays; built once (building a
statement costs more than running it). An event's last write: on PostgreSQL it goes with the COMMIT."""


def ingest(store: Store, ruleset: Ruleset | CompiledRuleset, event: Any, received_at: datetime) -> IngestResult:
    """Apply one event and give its awards, once: a resend answers the first result, replayed."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be an aware datetime")
    return ingest_loaded(store, compile_ruleset(ruleset), *checked(event), received_at)


def ingest_loaded(store: Store, compiled: CompiledRuleset, event: dict[str, Any], body_hash: str,
                  received_at: datetime) -> IngestResult:
    """`ingest` of an event already `checked`: loaded, with its body's hash."""
    return store.run(lambda session: _ingest_once(session, compiled, event, body_hash, received_at, alone=True))


def ingest_many(store: Store, ruleset: Ruleset | CompiledRuleset, events: list[Any],
                received_at: datetime) -> list[IngestResult | LoyaltyError]:
    """Each event all or nothing, in the order given: a refused one neither writes nor stops the rest.

    Set-based (`ingest_batch`, decision 20): the answers and rows of `ingest` one event after the
    other, a few statements per table for the batch. A crash loses only the uncommitted chunk,
    which billing resends.
    """
    if len(events) > MAX_BATCH:
        raise FieldErrors({"events": [f"at most {MAX_BATCH} events in one batch, not {len(events)}"]},
                          "The batch is too large.")
    from loyalty.services.ingest_batch import ingest_batch  # it runs the per-event path below: imported late

    return ingest_batch(store, compile_ruleset(ruleset), events, received_at)


def ingest_each(store: Store, ruleset: Ruleset | CompiledRuleset, events: list[Any],
                received_at: datetime) -> list[IngestResult | LoyaltyError]:
    """`ingest_many` before it was set-based: every event on `ingest`'s path, a savepoint each (the
    benchmark's comparison)."""
    compiled = compile_ruleset(ruleset)
    loaded = [checked_or_refusal(event) for event in events]
    results: list[IngestResult | LoyaltyError] = []
    for first in range(0, len(loaded), CHUNK):
        chunk = loaded[first:first + CHUNK]
        results += store.run(lambda session: _ingest_chunk(session, compiled, chunk, received_at))
    return results



def _ingest_chunk(session: Session, compiled: CompiledRuleset, chunk: list, received_at: datetime) -> list:
    """Lock the chunk's customers and budgets up front, in order (as one event would), then each event."""
    lock_customers(session, sorted({item[0]["customer_id"] for item in chunk if isinstance(item, tuple)}))
    lock_budgets(session, [p for p in compiled.ruleset.programmes if p.budget is not None])
    return [item if isinstance(item, LoyaltyError) else _ingest_savepoint(session, compiled, *item, received_at)
            for item in chunk]


def _ingest_savepoint(session: Session, compiled: CompiledRuleset, event: dict[str, Any], body_hash: str,
                      received_at: datetime) -> IngestResult | LoyaltyError:
    """One event in a savepoint: a refusal rolls back this event only."""
    try:
        with session.begin_nested():
            return _ingest_once(session, compiled, event, body_hash, received_at)
    except LoyaltyError as refusal:
        return refusal


def _ingest_once(session: Session, compiled: CompiledRuleset, event: dict[str, Any], body_hash: str,
                 received_at: datetime, alone: bool = False) -> IngestResult:
    """`alone`: the event is its transaction's only one, so its answer is the last write and goes with
    the COMMIT; in a chunk a later event may read it back, and a savepoint may take it back. Alone on
    PostgreSQL, the common events take `ingest_fast`'s lane, which hands on here when it must."""
    store_result = STORE_RESULT.execute_with_commit if alone else STORE_RESULT.execute
    lane = ingest_fast.lane_for(compiled, event["type"]) if alone and session.get_bind().dialect.name == "postgresql" \
        else None
    if lane is not None:
        outcome = ingest_fast.attempt(session, compiled, lane, event, body_hash, received_at, store_result)
        if isinstance(outcome, IngestResult):
            return outcome
        claimed = outcome
    else:
        claimed = _claim(session, event, body_hash, received_at)
    if not claimed:
        return _replay(session, event, body_hash)
    applied = apply_event(session, event, facts_needed=bool(compiled.entries_for(event["type"])))
    result = IngestResult(event_id=event["id"])
    if event["type"] == "contract.cancelled":
        result.clawed_back = claw_back_cancelled_contract(
            session, applied.customer, event["data"]["contract_id"], event["id"], applied.today, received_at
        )
    decision = decide(compiled, applied.facts, applied.snapshot, applied.today, applied.customer.main_contract_id)
    result.awards, result.stopped = give_awards(session, compiled.ruleset, applied, decision, received_at)
    store_result(session, {"event_id": event["id"], "result": result.as_dict(), "snapshot": dict(vars(applied.snapshot))})
    return result


def _claim(session: Session, event: dict[str, Any], body_hash: str, received_at: datetime) -> bool:
    """Insert the event's row; False when this id, or another event about the same thing, got there first."""
    return insert_once(session, Event, event_row(event, body_hash, received_at), key=None) is not None


def _replay(session: Session, event: dict[str, Any], body_hash: str) -> IngestResult:
    stored = session.get(Event, event["id"], populate_existing=True)
    if stored is None:
        raise _duplicate(session, event)
    if stored.body_hash != body_hash or stored.result is None:
        raise EventConflict(
            f"Event {event['id']!r} was already received on {stored.received_at.isoformat()} with a different "
            "body; a changed event needs a new id."
        )
    return IngestResult.from_dict(stored.result, replayed=True)


def _duplicate(session: Session, event: dict[str, Any]) -> DuplicateEvent:
    """The refusal of a second event about the invoice, incident or referral another event reported."""
    subject = event_subject(event)
    first = session.scalar(select(Event.id).where(Event.customer_id == event["customer_id"], Event.subject == subject))
    return already_reported(event, first)
