"""The nightly run for one local date: contracts, anniversaries, vesting, expiry, tiers.

Each phase works through customers in id order, a chunk per transaction, and commits its
progress with the chunk (`loyalty.store.daily_runs`): killed at any moment, the next run for the
same date carries on after the last committed chunk, and a finished phase is not run again, so
running a date twice gives nothing more. The service never reads the clock: every posting of the
night happens at local midnight of `day` (Asia/Ho_Chi_Minh), as UTC. A connection lost under a
chunk runs the chunk again (`Store.run`), and one lost under a read reads again (`Store.read`), so
a database restart mid-night costs a retry, not the night.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from loyalty.engine.model import Ruleset
from loyalty.services.customers import end_contract
from loyalty.services.daily_awarding import NightRules, award_chunk, night_event_id
from loyalty.services.daily_scope import daily_review
from loyalty.services.scan_ahead import ScanAhead
from loyalty.store import Store
from loyalty.store import daily_runs as runs
from loyalty.store import fact_epochs, ledger
from loyalty.store.daily_awards import claim_night_event
from loyalty.store.fact_columns import is_anniversary
from loyalty.store.tables.customers import DEFAULT_TIME_ZONE

log = logging.getLogger(__name__)

CHUNK = 10_000
"""Customers per transaction in the anniversaries phase (each of them is thanked)."""
DAILY_CHUNK_FACTOR = 5
"""The daily phase scans this many times more customers per transaction: only the few a rule could
still award come back from the scan, and a transaction costs a dozen statements and a commit."""
SETTLE_CHUNK = 500
"""Customers per transaction when ending contracts and moving lots (each is a ledger posting)."""
SPARSE_FRACTION = 8
"""A daily review of fewer than one customer in this many is read from the scope's indexes (the
customers whose facts moved, the start dates whose tenure moved), not in id order."""
PHASES = ("contracts", "anniversaries", "vesting", "expiry", "tiers")

Progress = Callable[[str, int, int], None]
"""Called after each committed chunk with (phase, customers done, customers in the phase)."""


@dataclass
class DailySummary:
    """What this run did for the night (a rerun of a finished night did nothing more)."""

    day: date
    customers: int = 0
    """Customers in the base on the night."""
    anniversaries: int = 0
    awards: int = 0
    points: int = 0
    contracts_ended: int = 0
    vested: int = 0
    expired: int = 0
    tier_changes: int = 0
    stopped_by_limits: int = 0
    reviewed: int = 0
    """Customers the daily rules read: every one, or those whose facts moved since `reviewed_since`."""
    reviewed_since: date | None = None
    review: str = ""
    """Which customers the daily rules read, and why."""
    phases_already_done: list[str] = field(default_factory=list)


def night_moment(day: date) -> datetime:
    """Local midnight at the start of `day` where the customers are, in UTC: when the night's postings happen."""
    return datetime.combine(day, time(0), ZoneInfo(DEFAULT_TIME_ZONE)).astimezone(timezone.utc)


def run_daily(store: Store, ruleset: Ruleset, day: date, progress: Progress | None = None, *,
              chunk_size: int = CHUNK, settle_chunk: int = SETTLE_CHUNK, full_review: bool = False) -> DailySummary:
    """Run (or finish) the night of `day`: every phase in order, each resumable and done once.

    The daily rules read only the customers whose facts moved since the last night that ran them,
    when that gives the same awards as reading everyone (`loyalty.services.daily_scope`);
    `full_review` has them read every customer regardless."""
    summary, at, report = DailySummary(day), night_moment(day), progress or _log_progress
    summary.customers = store.read(lambda session: runs.count_in_scope(session, None))
    with store.checkpoints_in_background():  # a chunk's commit need not wait to copy its WAL back
        for phase in PHASES:
            done = store.read(lambda session: runs.phase_progress(session, day, phase))
            if done.finished:
                summary.phases_already_done.append(phase)
                continue
            if phase in ("anniversaries", "tiers"):
                _rule_phase(store, ruleset, phase, day, at, done, chunk_size, report, summary, full_review)
            else:
                _settle_phase(store, phase, day, at, done, settle_chunk, report, summary)
            store.run(lambda session: runs.finish_phase(session, day, phase, at))
    return summary


def _rule_phase(store, ruleset, phase, day, at, done, chunk_size, report, summary, full_review) -> None:
    event_type, scope = ("anniversary", is_anniversary(day)) if phase == "anniversaries" else ("daily", None)
    scan = chunk_size if phase == "anniversaries" else chunk_size * DAILY_CHUNK_FACTOR
    rules = NightRules(ruleset, event_type, day, scope, scan)
    if not rules.rules:
        return
    if phase == "tiers":
        rules.scope = _start_review(store, rules.compiled.ruleset, day, summary, full_review)
    event_id = night_event_id(event_type, day)
    store.run(lambda session: claim_night_event(session, event_id, event_type,
                                                hashlib.sha256(event_id.encode()).hexdigest(), at))
    total = store.read(lambda session: runs.count_in_scope(session, rules.scope))
    rules.sparse = phase == "tiers" and rules.scope is not None and total * SPARSE_FRACTION < summary.customers
    seen = done.customers
    with ScanAhead(store, rules) as ahead:
        scan_ahead = ahead if ScanAhead.possible(store) else None
        while True:
            result = store.run(lambda session: _award_and_record(session, rules, phase, at, scan_ahead))
            if not result.customers:
                return
            seen += result.customers
            _count_awards(summary, phase, result)
            report(phase, seen, total)


def _start_review(store, ruleset, day, summary, full_review):
    """Decide which customers the daily rules read, and advance the change clock once for the night.

    The clock moves before the first scan (and not again on a resumed run): every change the
    scans may not see is then stamped with this night's epoch, which the next night reads from.
    A run resumed under another ruleset records none, since two decided its chunks: the next
    night then reads everyone."""
    previous = store.read(lambda session: runs.last_finished_before(session, day, "tiers"))
    review = daily_review(previous, ruleset, day, full_review=full_review)

    def start(session):
        done = runs.phase_progress(session, day, "tiers")
        epoch = done.facts_epoch if done.facts_epoch is not None else fact_epochs.advance(session)
        same_rules = not done.customers or done.ruleset_version == ruleset.version
        runs.record_start(session, day, "tiers", ruleset.version if same_rules else None, epoch)

    store.run(start)
    summary.reviewed_since, summary.review = review.since, review.reason
    log.info("daily rules on %s read %s", day, review.reason)
    return review.where


def _award_and_record(session, rules, phase, at, ahead):
    after = runs.lock_phase(session, rules.day, phase).last_customer_id
    result = award_chunk(session, rules, after, at, ahead)
    if result.customers:
        points = sum(g.night.award.points for g in result.given)
        runs.record_chunk(session, rules.day, phase, result.last_customer_id, customers=result.customers,
                          awards=len(result.given), points=points, moved=_tier_changes(result.given))
    return result


def _tier_changes(given) -> int:
    return sum(1 for g in given if g.night.award.tier and g.night.award.tier != g.night.old_tier)


def _count_awards(summary: DailySummary, phase: str, result) -> None:
    if phase == "anniversaries":
        summary.anniversaries += result.customers
    else:
        summary.reviewed += result.customers
    summary.awards += len(result.given)
    summary.points += sum(g.night.award.points for g in result.given)
    summary.tier_changes += _tier_changes(result.given)
    summary.stopped_by_limits += result.stopped


def _settle_phase(store, phase, day, at, done, chunk_size, report, summary) -> None:
    total = done.customers + store.read(lambda session: runs.count_customers(session, phase, day))
    seen = done.customers
    while True:
        customers, moved = store.run(lambda session: _settle_chunk(session, phase, day, at, chunk_size))
        if not customers:
            return
        seen += len(customers)
        setattr(summary, SETTLED[phase], getattr(summary, SETTLED[phase]) + moved)
        report(phase, seen, total)


SETTLED = {"contracts": "contracts_ended", "vesting": "vested", "expiry": "expired"}


def _settle_chunk(session, phase, day, at, limit) -> tuple[list[str], int]:
    after = runs.lock_phase(session, day, phase).last_customer_id
    customers = runs.next_customers(session, phase, day, after, limit)
    if not customers:
        return [], 0
    moved = SETTLE[phase](session, customers, day, at)
    runs.record_chunk(session, day, phase, customers[-1], customers=len(customers), moved=moved)
    return customers, moved


def _end_contracts(session, customers, day, _at) -> int:
    contract_ids = runs.contracts_to_end(session, customers, day)
    for contract_id in contract_ids:
        end_contract(session, contract_id)
    return len(contract_ids)


def _vest(session, customers, day, at) -> int:
    posted = [ledger.vest(session, c, day, occurred_at=at, actor="engine") for c in customers]
    return sum(p.points for p in posted if p)


def _expire(session, customers, day, at) -> int:
    posted = [ledger.expire(session, c, day, occurred_at=at, actor="engine") for c in customers]
    return sum(-(p.points + p.pending_points) for p in posted if p)


SETTLE = {"contracts": _end_contracts, "vesting": _vest, "expiry": _expire}


def _log_progress(phase: str, done: int, total: int) -> None:
    log.info("daily %s: %d of %d customers", phase, done, total)
