"""Billing's past events decided again under a draft ruleset, against what was actually given.

The approximation, said plainly: each stored event is decided with the customer and contracts as
they are now, on the local date the event happened (so tenure is as it was then), with the event's
own stored figures (contract, amount, outage hours). `once_per` counts the awards the customer had
before the replayed events and what the draft gives during the replay; budgets and caps are not
applied (the draft's cost is what it would promise). "Actually given" is the stored awards of those
events, less the rejected ones. Only events stored with their figures (`Event.snapshot`) are replayed.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.engine.decide import CompiledRuleset, decide
from loyalty.engine.facts import ContractSnapshot, CustomerSnapshot, EventSnapshot, compute_facts
from loyalty.ledger import local_date
from loyalty.services.customers import customer_snapshot
from loyalty.store.tables import Award, Contract, Customer, Event
from loyalty.store.tables.customers import DEFAULT_TIME_ZONE

CHUNK = 500
"""Ids per IN list: well under every database's limit on bound parameters."""


@dataclass
class Tally:
    """Reward points and goodwill VND for one customer, actually given and under the draft."""

    points_given: int = 0
    points_draft: int = 0
    goodwill_given: int = 0
    goodwill_draft: int = 0

    @property
    def delta(self) -> int:
        return self.points_draft - self.points_given


@dataclass
class ReplayTotals:
    """The replayed events and each customer's tally."""

    since: date
    events: int = 0
    truncated: bool = False
    tallies: dict[str, Tally] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


def replay_events(session: Session, draft: CompiledRuleset, today: date, days: int, max_events: int) -> ReplayTotals:
    """Decide again the latest `max_events` events of the `days` days before `today` (its end included)."""
    since = today - timedelta(days=days)
    start = datetime.combine(since, time(0), ZoneInfo(DEFAULT_TIME_ZONE))
    end = datetime.combine(today + timedelta(days=1), time(0), ZoneInfo(DEFAULT_TIME_ZONE))
    newest = (select(Event.id, Event.customer_id, Event.occurred_at, Event.snapshot)
              .where(Event.occurred_at >= start, Event.occurred_at < end, Event.snapshot.is_not(None))
              .order_by(Event.occurred_at.desc(), Event.id.desc()).limit(max_events + 1))
    rows = session.execute(newest).all()
    totals = ReplayTotals(since, events=min(len(rows), max_events), truncated=len(rows) > max_events)
    rows = sorted(rows[:max_events], key=lambda row: (row.occurred_at, row.id))
    if not rows:
        return totals
    customers, contracts = _customers(session, {row.customer_id for row in rows})
    totals.names = {cid: name for cid, (_, name, _zone, _main) in customers.items()}
    event_ids = [row.id for row in rows]
    given = _split_awards(session, list(customers), set(event_ids), totals.tallies)
    for row in rows:
        if row.customer_id not in customers:
            continue
        snapshot, name, zone, main = customers[row.customer_id]
        event = EventSnapshot(**row.snapshot)
        day = local_date(row.occurred_at, zone)
        facts = compute_facts(snapshot, contracts[row.customer_id], day, event)
        tally = totals.tallies.setdefault(row.customer_id, Tally())
        for award in decide(draft, facts, event, day, main).awards:
            key = (row.customer_id, award.rule_id, award.once_key)
            if key not in given:
                given.add(key)
                tally.points_draft += award.points
                tally.goodwill_draft += award.goodwill or 0
    return totals


def _customers(session: Session, ids: set[str]):
    """Each customer as the engine sees it now (snapshot, name, zone, main contract), and its contracts."""
    customers: dict[str, tuple[CustomerSnapshot, str, str, str | None]] = {}
    contracts: dict[str, list[ContractSnapshot]] = defaultdict(list)
    for chunk in _chunks(sorted(ids)):
        for c in session.scalars(select(Customer).where(Customer.id.in_(chunk))):
            customers[c.id] = (customer_snapshot(c), c.name, c.time_zone or DEFAULT_TIME_ZONE, c.main_contract_id)
        query = select(Contract).where(Contract.customer_id.in_(chunk)).order_by(Contract.id)
        for k in session.scalars(query):
            contracts[k.customer_id].append(ContractSnapshot(
                id=k.id, monthly_value=k.monthly_value, term_months=k.term_months, start=k.start,
                renewals=k.renewals, status=k.status))
    return customers, contracts


def _split_awards(session: Session, customer_ids: list[str], replayed: set[str],
                  tallies: dict[str, Tally]) -> set[tuple[str, str, str]]:
    """Read these customers' awards once: those of the replayed events are tallied as given (rejected
    ones gave nothing); the others are returned as the (customer, rule, once key) held before.

    By customer, not by event: awards have no index by event, and an event's awards are its customer's."""
    held: set[tuple[str, str, str]] = set()
    for chunk in _chunks(customer_ids):
        query = select(Award.customer_id, Award.rule_id, Award.once_key, Award.event_id, Award.status,
                       Award.points, Award.goodwill).where(Award.customer_id.in_(chunk))
        for customer_id, rule_id, once_key, event_id, status, points, goodwill in session.execute(query):
            if event_id not in replayed:
                held.add((customer_id, rule_id, once_key))
            elif status != "rejected":
                tally = tallies.setdefault(customer_id, Tally())
                tally.points_given += points
                tally.goodwill_given += goodwill or 0
    return held


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for first in range(0, len(items), CHUNK):
        yield items[first:first + CHUNK]
