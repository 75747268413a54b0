"""A batch of billing's events, set-based: each event decided in Python, the batch written at once.

`ingest_many` runs here. The events that only read the customer's state (paid invoices, incidents,
referrals: `SET_BASED`) are checked, claimed and decided in batch order in Python against the
customers, contracts, awards and limits read once for the batch, and what they give is written in a
few multi-row statements per table. Every other event (a signing, renewal, cancellation or customer
change: they change contracts, and a cancellation claws back) runs `ingest`'s own path in a
savepoint, and splits the batch into runs: a run of set-based events sees everything the events
before it wrote, and the next run reads again after a per-event one. The result of every event, and
the rows written, are those of `ingest` one event after the other (a test holds them equal).

What order needs inside a run is kept in Python: a customer's tier and status points as awards
move them, the award keys given (once_per), the points issued against budgets and caps, the ids and
subjects claimed. Locks are taken as one event takes them: customers in id order, then the
budgeted programmes, then (in `earn_many`) ledger accounts. If another transaction claims one of the
batch's event ids after the batch read them, the insert says so and the chunk is rolled back and
run again one event at a time.
"""
from __future__ import annotations

import gc
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Iterator

from sqlalchemy.orm import Session

from loyalty.engine.decide import CompiledRuleset, Decision, decide
from loyalty.engine.facts import ContractSnapshot, EventSnapshot, compute_facts
from loyalty.engine.model import Limit, Programme
from loyalty.errors import EventConflict, EventOutOfOrder, LoyaltyError, UnknownContract, UnknownCustomer
from loyalty.ledger import local_date
from loyalty.services import ingest as per_event
from loyalty.services.awarding import ACTOR, award_details, once_per_stop, passed_over_stop, award_reference
from loyalty.services.customers import customer_snapshot
from loyalty.services.event_check import Loaded, checked_or_refusal
from loyalty.services.event_payloads import already_reported, event_subject
from loyalty.services.ingest_result import GivenAward, IngestResult, Stopped
from loyalty.services.limits import _over, lock_budgets, period, points_issued
from loyalty.services.reward_stock import StockLeft, lock_stock, rewards_on
from loyalty.store import Store
from loyalty.store import events_bulk as bulk
from loyalty.store.bulk_rows import reserve_ids
from loyalty.store.event_lane import CustomerRow
from loyalty.store.ledger_bulk import Earning, earn_many
from loyalty.store.tables import Award
from loyalty.store.tables.customers import DEFAULT_TIME_ZONE

SET_BASED = frozenset(("invoice.paid", "service.incident", "referral.converted"))
"""Events that change no contract and claw nothing back: decided in Python, written in bulk."""
CHUNK = 1000
"""Weight per transaction: a set-based event weighs 1, one on `ingest`'s path `PER_EVENT_WEIGHT`,
so a transaction holds its locks for about as long as `ingest.CHUNK` events one by one took."""
PER_EVENT_WEIGHT = 4
ID_BLOCK = 256
"""Award ids taken from PostgreSQL's sequence at a time (unused ones are gaps, as a rollback leaves)."""

ANSWER_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""How the API writes JSON (Flask's provider: keys sorted, compact, UTF-8), for a result's body."""
_ANSWER_JSON = "_answer_json"


def answer_json(result: IngestResult) -> str | None:
    """The body of a result this batch decided, as `ANSWER_ENCODER` writes `IngestResult.as_dict` without
    `replayed`, or None. Written once: it is stored with the event and is the batch answer's line."""
    return result.__dict__.get(_ANSWER_JSON)


class _Raced(Exception):
    """Another transaction claimed an event of the batch after the batch read the events table."""


def ingest_batch(store: Store, compiled: CompiledRuleset, events: list[Any],
                 received_at: datetime) -> list[IngestResult | LoyaltyError]:
    """Every event all or nothing, in the order given, as `ingest` one by one would answer it."""
    with _collector_paused():
        return ingest_loaded_batch(store, compiled, [checked_or_refusal(event) for event in events], received_at)


def ingest_loaded_batch(store: Store, compiled: CompiledRuleset, loaded: list[Loaded | LoyaltyError],
                        received_at: datetime) -> list[IngestResult | LoyaltyError]:
    """`ingest_batch` of events already checked (each `checked`, or its refusal), with
    the garbage collector left as it is: a few events make few objects (`IngestGroups`)."""
    results: list[IngestResult | LoyaltyError] = []
    for chunk in _chunks(loaded):
        try:
            results += store.run(lambda session: _ingest_chunk(session, compiled, chunk, received_at))
        except _Raced:
            results += store.run(lambda session: _ingest_chunk(session, compiled, chunk, received_at, True))
    return results


class _CollectorPause:
    """Python's cyclic garbage collector off while batches run (in any thread), back as it was after.

    A batch of 1,000 makes some 100,000 objects that live until it ends: the collector walked them
    some 40 times a batch and the whole heap every few batches, 20 ms a batch on average and 40 ms
    at worst (decision 20). What a batch leaves is freed by reference counts when it ends; a cycle,
    if any, waits for the collector's next run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._was_on = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            self._running += 1
            if self._running == 1:
                self._was_on = gc.isenabled()
                gc.disable()
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0 and self._was_on:
                    gc.enable()


_collector_paused = _CollectorPause()



def _chunks(loaded: list) -> Iterator[list]:
    chunk, weight = [], 0
    for item in loaded:
        cost = PER_EVENT_WEIGHT if isinstance(item, tuple) and item[0]["type"] not in SET_BASED else 1
        if chunk and weight + cost > CHUNK:
            yield chunk
            chunk, weight = [], 0
        chunk.append(item)
        weight += cost
    if chunk:
        yield chunk


def _runs(chunk: list, one_by_one: bool) -> Iterator[tuple[bool, list]]:
    """(set-based?, items) in order; a refused item joins the run it is in."""
    run: list = []
    kind = None
    for item in chunk:
        this = (not one_by_one and item[0]["type"] in SET_BASED) if isinstance(item, tuple) else kind
        if run and this is not None and kind is not None and this != kind:
            yield kind, run
            run = []
        if this is not None:
            kind = this
        run.append(item)
    if run:
        yield bool(kind), run


def _ingest_chunk(session: Session, compiled: CompiledRuleset, chunk: list, received_at: datetime,
                  one_by_one: bool = False) -> list:
    """Lock the chunk's customers (reading them), budgets and limited rewards up front, in order, then each run."""
    customer_ids = sorted({item[0]["customer_id"] for item in chunk if isinstance(item, tuple)})
    rows = bulk.lock_and_read_customers(session, customer_ids)
    event_types = {item[0]["type"] for item in chunk if isinstance(item, tuple)}
    lock_budgets(session, _budgeted(compiled, event_types))
    lock_stock(session, compiled.ruleset, rewards_on(compiled, event_types))
    customers: dict[str, _Customer] | None = _customers(rows)
    out: list = []
    for set_based, run in _runs(chunk, one_by_one):
        if set_based:
            if customers is None:  # an event on the per-event path may have changed them
                customers = _customers(bulk.lock_and_read_customers(session, customer_ids))
            out += _Run(session, compiled, customers, received_at).ingest(run)
            continue
        for item in run:
            if isinstance(item, LoyaltyError):
                out.append(item)
                continue
            session.expire_all()  # rows a bulk run changed by Core must be read again
            out.append(per_event._ingest_savepoint(session, compiled, *item, received_at))
            customers = None
    return out


def _budgeted(compiled: CompiledRuleset, event_types: set[str]) -> list[Programme]:
    """The budgeted programmes whose rules are `on` these event types: what the chunk may lock."""
    programme_ids = {entry[1].programme for t in event_types for entry in compiled.entries_for(t)}
    return [p for p in compiled.ruleset.programmes if p.id in programme_ids and p.budget is not None]


@dataclass
class _Customer(CustomerRow):
    """A customer as the rules read it, kept current in Python as the batch's awards change it."""

    contracts: list[ContractSnapshot] = field(default_factory=list)


def _customers(rows: dict[str, tuple[tuple, list[tuple]]]) -> dict[str, _Customer]:
    return {
        id_: _Customer(id_, segment, since, region, locale, tier, status_points or 0, time_zone or DEFAULT_TIME_ZONE,
                       main_contract_id, [ContractSnapshot(*c) for c in contracts])
        for (id_, segment, since, region, locale, tier, status_points, time_zone, main_contract_id), contracts
        in rows.values()
    }


class _Run:
    """One run of set-based events: read once, decided in order, written once."""

    def __init__(self, session: Session, compiled: CompiledRuleset, customers: dict[str, _Customer],
                 received_at: datetime):
        self.session, self.compiled, self.customers, self.received_at = session, compiled, customers, received_at
        self.received_utc = received_at.astimezone(timezone.utc)
        self.rules = {rule.id: rule for rule in compiled.ruleset.rules}
        self.programmes = {p.id: p for p in compiled.ruleset.programmes}
        self.claims: dict[str, tuple[str, Any, datetime]] = {}
        self.days: dict[tuple[datetime, str], date] = {}
        self.subjects: dict[tuple[str, str], str] = {}
        self.given: set[tuple[str, str, str]] = set()
        self.issued: dict[tuple, int] = {}
        self.periods: dict[str, set[tuple[date | None, date | None]]] = {}  # loaded, per programme
        self.event_rows: list[tuple] = []
        self.award_rows: list[tuple] = []
        self.earnings: list[Earning] = []
        self.grants: list[tuple] = []
        self.approvals: list[tuple] = []
        self.memberships: dict[tuple[str, str], tuple] = {}
        self.tiers: dict[str, str] = {}
        self.audit: list[tuple] = []
        self.award_ids = _IdPool(session)

    def ingest(self, run: list) -> list:
        events = [item[0] for item in run if isinstance(item, tuple)]
        self.session.flush()
        self.claims = bulk.claimed_events(self.session, [e["id"] for e in events])
        self.subjects = bulk.subject_owners(
            self.session, [(e["customer_id"], s) for e in events if (s := event_subject(e)) is not None])
        # once-per-event keys name the event, which this batch has just claimed: none can be taken yet,
        # and reading them would read every award these customers ever had from these rules
        rule_ids = {entry[1].id for t in {e["type"] for e in events} for entry in self.compiled.entries_for(t)
                    if entry[1].once_per != "event"}
        self.given = bulk.given_awards(self.session, list({e["customer_id"] for e in events}), sorted(rule_ids))
        self.run_customers = sorted({e["customer_id"] for e in events if e["customer_id"] in self.customers})
        self.stock = StockLeft(self.session, self.compiled.ruleset,
                               rewards_on(self.compiled, {e["type"] for e in events}))
        results: list = []
        for item in run:
            if isinstance(item, LoyaltyError):
                results.append(item)
                continue
            try:
                results.append(self._one(*item))
            except LoyaltyError as refusal:
                results.append(refusal)
        self._write()
        return results

    def _one(self, event: dict[str, Any], body_hash: str) -> IngestResult:
        event_id, customer_id = event["id"], event["customer_id"]
        claimed = self.claims.get(event_id)
        if claimed is not None:
            stored_hash, stored_result, stored_at = claimed
            if stored_hash != body_hash or stored_result is None:
                raise EventConflict(
                    f"Event {event_id!r} was already received on {stored_at.isoformat()} with a different "
                    "body; a changed event needs a new id.")
            return IngestResult.from_dict(stored_result, replayed=True)
        subject = event_subject(event)
        if subject is not None and (customer_id, subject) in self.subjects:
            raise already_reported(event, self.subjects[customer_id, subject])
        customer = self.customers.get(customer_id)
        if customer is None:
            raise _out_of_order(event, UnknownCustomer(customer_id))
        data = event["data"]
        contract_id = data.get("contract_id")
        if contract_id is not None and all(c.id != contract_id for c in customer.contracts):
            raise _out_of_order(event, UnknownContract(contract_id, customer.id))
        snapshot = _snapshot(event, contract_id)
        moment = (event["occurred_at"], customer.time_zone)
        today = self.days.get(moment)
        if today is None:  # a batch has few distinct times and zones
            today = self.days[moment] = local_date(*moment)
        facts = (compute_facts(customer_snapshot(customer), customer.contracts, today, snapshot)
                 if self.compiled.entries_for(event["type"]) else {})
        decision = decide(self.compiled, facts, snapshot, today, customer.main_contract_id)
        result = IngestResult(event_id=event_id)
        result.awards, result.stopped = self._give(customer, today, decision)
        body = _body(result)
        text = (ANSWER_ENCODER.encode(body) if result.awards or result.stopped
                else f'{{"awards":[],"clawed_back":[],"event_id":{ANSWER_ENCODER.encode(event_id)},"stopped":[]}}')
        result.__dict__[_ANSWER_JSON] = text
        self.claims[event_id] = (body_hash, body, self.received_utc)  # a resend later in the batch replays it
        if subject is not None:
            self.subjects[customer_id, subject] = event_id
        self.event_rows.append((event_id, event["type"], body_hash, customer_id, subject, event["occurred_at"],
                                self.received_at, '{"replayed":false,' + text[1:], dict(vars(snapshot))))
        return result

    def _give(self, customer: _Customer, today: date, decision: Decision) -> tuple[list[GivenAward], list[Stopped]]:
        """`give_awards`, against the keys and limits kept in Python."""
        if not decision.awards and not decision.passed_over:
            return [], []
        stopped = [passed_over_stop(p) for p in decision.passed_over]
        given: list[GivenAward] = []
        for award in decision.awards:
            rule, programme = self.rules[award.rule_id], self.programmes[award.programme_id]
            key = (customer.id, award.rule_id, award.once_key)
            # once_per first, as `give_awards` says it; `_limits` passes a programme without limits
            refusal = (once_per_stop(award, rule) if key in self.given
                       else self._limits(programme, award, customer.id, today))
            out_of_stock = None
            if refusal is None:
                fitted, out_of_stock = self.stock.fit(award)
                award, refusal = (award, out_of_stock) if fitted is None else (fitted, None)
            if refusal:
                stopped.append(refusal)
                continue
            self.given.add(key)
            given.append(self._deliver(customer, today, award, rule.clawback_on))
            if out_of_stock:
                stopped.append(out_of_stock)
        return given, stopped

    def _limits(self, programme: Programme, award, customer_id: str, today: date) -> Stopped | None:
        """`check_limits`, with the points issued read once per period and counted on in Python."""
        if award.points <= 0:
            return None
        if programme.budget is not None:
            issued = self._issued(programme.id, programme.budget, today, None)
            if issued + award.points > programme.budget.points:
                return Stopped(award.rule_id, "budget", _over("programme " + programme.id + " budget",
                                                              programme.budget, issued, award.points))
        if programme.cap is not None:
            issued = self._issued(programme.id, programme.cap, today, customer_id)
            if issued + award.points > programme.cap.points:
                return Stopped(award.rule_id, "cap", _over(f"customer cap of programme {programme.id}",
                                                           programme.cap, issued, award.points))
        return None

    def _issued(self, programme_id: str, limit: Limit, today: date, customer_id: str | None) -> int:
        first, last = period(limit.per, today)
        key = (programme_id, first, last, customer_id)
        if key not in self.issued:
            if customer_id is None:
                loaded = {key: points_issued(self.session, programme_id, limit, today)}
            else:  # every customer of the run at once
                found = bulk.points_issued_by_customer(self.session, programme_id, first, last, self.run_customers)
                loaded = {(programme_id, first, last, c): found.get(c, 0) for c in self.run_customers}
            # nothing given in this run falls in a period loaded only now: an award's points are never
            # negative and one with points is checked (its periods loaded) before it is given
            self.issued.update(loaded)
            self.periods.setdefault(programme_id, set()).add((first, last))
        return self.issued[key]

    def _count_issued(self, programme_id: str, customer_id: str, today: date, points: int) -> None:
        if not points:
            return
        for first, last in self.periods.get(programme_id, ()):
            if _within(today, first, last):
                for key in ((programme_id, first, last, None), (programme_id, first, last, customer_id)):
                    if key in self.issued:
                        self.issued[key] += points

    def _deliver(self, customer: _Customer, today: date, award, clawback_on: str | None) -> GivenAward:
        """`_deliver`'s rows, kept for `_write`; the customer's tier and status points move now."""
        award_id = self.award_ids.take()
        status = "pending_approval" if award.needs_approval else "granted"
        why = award.reason
        self.award_rows.append((award_id, customer.id, award.rule_id, award.programme_id, award.ruleset_version,
                                award.event_id, award.contract_id, award.once_key, today, award.points,
                                award.status_points, award.expires_on, award.vests_on, award.reward,
                                award.membership, award.tier, award.goodwill, clawback_on, status))
        self._count_issued(award.programme_id, customer.id, today, award.points)
        if award.points or award.status_points:
            self.earnings.append(Earning(customer.id, award_reference(award_id), award.points, award.status_points,
                                         award.programme_id, award.expires_on, award.vests_on, why,
                                         award.ruleset_version))
            customer.status_points += award.status_points
        if award.reward:
            self.grants.append((customer.id, award_id, "reward", award.reward, None))
        if award.goodwill and award.needs_approval:
            self.approvals.append((award_id, customer.id, award.goodwill))
        elif award.goodwill:
            self.grants.append((customer.id, award_id, "bill_credit", None, award.goodwill))
        if award.membership:
            self.memberships.setdefault((customer.id, award.membership),
                                        (customer.id, award.membership, award_id, today))
        if award.tier:
            customer.tier = self.tiers[customer.id] = award.tier
        self.audit.append((f"award.{status}", award_id, customer.id, why, award.ruleset_version,
                           award_details(award)))
        return GivenAward(
            award_id=award_id, rule_id=award.rule_id, programme_id=award.programme_id,
            ruleset_version=award.ruleset_version, status=status, contract_id=award.contract_id,
            points=award.points, status_points=award.status_points, expires_on=award.expires_on,
            vests_on=award.vests_on, reward=award.reward, membership=award.membership, tier=award.tier,
            goodwill=award.goodwill)

    def _write(self) -> None:
        """Everything the run decided, a few statements per table, parents first."""
        session = self.session
        if bulk.claim_events(session, self.event_rows) != len(self.event_rows):
            raise _Raced()
        if not self.award_rows:
            return
        bulk.insert_awards(session, self.award_rows, self.received_at)
        earn_many(session, self.earnings, occurred_at=self.received_at, actor=ACTOR)
        bulk.insert_grants(session, self.grants, self.received_at)
        self.stock.write()
        bulk.insert_approvals(session, self.approvals, self.received_at)
        bulk.join_programmes(session, list(self.memberships.values()))
        bulk.set_tiers(session, list(self.tiers.items()))
        bulk.audit_awards(session, self.audit, self.received_at)


class _IdPool:
    """Award ids handed out in batch order, before the rows are written (results name them)."""

    def __init__(self, session: Session):
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.free: list[int] = []
        self.next_sqlite: int | None = None

    def take(self) -> int:
        if not self.postgres:
            if self.next_sqlite is None:  # the writer holds SQLite's lock: the ids after the largest are free
                self.next_sqlite = reserve_ids(self.session, Award.__table__, 1)[0]
            self.next_sqlite += 1
            return self.next_sqlite - 1
        if not self.free:
            self.free = reserve_ids(self.session, Award.__table__, ID_BLOCK)[::-1]
        return self.free.pop()


def _body(result: IngestResult) -> dict[str, Any]:
    """`result.as_dict()` but `replayed` (False: it is stored with the event and answered as created)."""
    body = result.as_dict()
    del body["replayed"]
    return body


def _within(day: date, first: date | None, last: date | None) -> bool:
    return first is None or first <= day <= last


def _snapshot(event: dict[str, Any], contract_id: str | None) -> EventSnapshot:
    """What `event_state` gives the rules for these types."""
    data = event["data"]
    if event["type"] == "invoice.paid":
        return EventSnapshot(type=event["type"], id=event["id"], contract_id=contract_id, amount=data["amount"])
    if event["type"] == "service.incident":
        return EventSnapshot(type=event["type"], id=event["id"], contract_id=contract_id,
                             outage_hours=data["outage_hours"], planned=data["planned"])
    return EventSnapshot(type=event["type"], id=event["id"])


def _out_of_order(event: dict[str, Any], missing: LoyaltyError) -> EventOutOfOrder:
    """`apply_event`'s refusal of an event that needs one the engine has not seen."""
    return EventOutOfOrder(
        f"Event {event['id']!r} ({event['type']}) came before an event it needs: {missing} "
        "Nothing was applied; send it again after the earlier event.")
