"""The common single event on PostgreSQL in two round trips: BEGIN, claim and read; award, answer, COMMIT.

`ingest`'s general path sends an awarded invoice in nine statements, each waiting for the one
before, and SQLAlchemy's ORM reads the customer: on PostgreSQL that made the p99 (decisions 24-27).
This lane does the same for the events most of billing's traffic is (a paid invoice, a service
incident, a converted referral: they change nothing about the customer) when every rule on the
event's type gives points and nothing else, in programmes without a budget:

1. one statement claims the event and locks the customer, the next reads it with its contracts,
   its accounts' ids and what each capped programme gave it this period, both sent in one round
   trip with the transaction's BEGIN (`loyalty.store.event_lane`, `explicit_begin`);
2. Python decides, with the same `compute_facts` and `decide`;
3. one statement inserts the award (its unique key decides `once_per`, as `_insert_award`) and,
   chained to it, the ledger posting, the award's audit row and the event's answer (as `earn`, `_deliver`
   and `STORE_RESULT`): the answer for either outcome of the unique key is built beforehand, and
   the statement keeps the one that happened. COMMIT goes in the same round trip. An event that
   gives nothing sends its answer with COMMIT instead (`with_commit`).

Whatever it cannot answer the same way hands on to the general path in the same transaction,
after the claim: an unknown customer or contract (the general path refuses it), a customer whose
local date differs from the one its caps were summed for, more than one award, an award a cap
stops (the general path says whether `once_per` was the real reason), the programme's first award
(no issuance account yet). A customer's credited account is created with the award when missing.
A test holds the rows and answers of both paths equal.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Callable

from sqlalchemy.orm import Session

from loyalty.engine.decide import CompiledRuleset, decide
from loyalty.engine.facts import compute_facts
from loyalty.engine.model import Programme, Rule
from loyalty.ledger import AVAILABLE, ISSUANCE, PENDING, REWARD, STATUS, customer_account, local_date, system_account
from loyalty.services.awarding import ACTOR, award_details, once_per_stop, passed_over_stop
from loyalty.services.customers import customer_snapshot
from loyalty.services.event_payloads import event_row
from loyalty.services.event_state import event_snapshot
from loyalty.services.ingest_result import GivenAward, IngestResult
from loyalty.services.limits import period
from loyalty.store.event_lane import CapPeriod, CustomerRead, claim_lock_and_read, write_award_and_commit
from loyalty.store.tables.customers import DEFAULT_TIME_ZONE

TYPES = ("invoice.paid", "service.incident", "referral.converted")
"""Events that change nothing about the customer: what the rules read is read in one statement."""
CLAIMED, NOT_CLAIMED = True, False
"""What the lane tells the general path when it hands on: the event's row is (not) this transaction's."""
CREDITED = (AVAILABLE, PENDING)
"""The customer accounts a lane award may credit: its points are spendable or pending, never status points."""
ISSUANCE_ACCOUNTS = tuple(system_account(ISSUANCE, currency) for currency in (REWARD, STATUS))
"""Both, as `earn` locks them: while either is missing the general path creates it, so the lane hands on."""


@dataclass(frozen=True)
class Lane:
    """An event type whose rules all give points only, without a budget: its rules and capped programmes."""

    rules: dict[str, Rule]
    caps: tuple[Programme, ...]


def lane_for(compiled: CompiledRuleset, event_type: str) -> Lane | None:
    """The lane for this type of event under this ruleset, or None: the general path takes it."""
    return _lanes(compiled).get(event_type)


@lru_cache(maxsize=8)
def _lanes(compiled: CompiledRuleset) -> dict[str, Lane]:
    lanes = {}
    for event_type in TYPES:
        rules = [rule for _predicate, rule, _first, _last in compiled.entries_for(event_type)]
        then_points_only = all(
            rule.then.points is not None and rule.then.status_points is None and rule.then.reward is None
            and rule.then.programme is None and rule.then.tier is None and rule.then.goodwill is None
            for rule in rules)
        programmes = {compiled.ruleset.programme(rule.programme) for rule in rules}
        if rules and then_points_only and all(p.budget is None for p in programmes):
            lanes[event_type] = Lane({rule.id: rule for rule in rules},
                                     tuple(sorted((p for p in programmes if p.cap is not None), key=lambda p: p.id)))
    return lanes


def attempt(session: Session, compiled: CompiledRuleset, lane: Lane, event: dict[str, Any], body_hash: str,
            received_at: datetime, store_result: Callable) -> IngestResult | bool:
    """The event's result, or `CLAIMED` / `NOT_CLAIMED` for the general path to go on from the claim."""
    customer_id = event["customer_id"]
    assumed_today = local_date(event["occurred_at"], DEFAULT_TIME_ZONE)  # confirmed once the zone is read
    caps = [CapPeriod(p.id, p.cap.per, *period(p.cap.per, assumed_today)) for p in lane.caps]
    codes = [customer_account(customer_id, kind).code for kind in CREDITED] + [ref.code for ref in ISSUANCE_ACCOUNTS]
    session.flush()
    claimed, read = claim_lock_and_read(session, event_row(event, body_hash, received_at), codes, caps)
    if not claimed:
        return NOT_CLAIMED
    if read is None:
        return CLAIMED  # no such customer: the general path refuses the event
    today = local_date(event["occurred_at"], read.customer.time_zone or DEFAULT_TIME_ZONE)
    contract_id = event["data"].get("contract_id")
    if today != assumed_today or (contract_id is not None and all(c.id != contract_id for c in read.contracts)):
        return CLAIMED
    return _decide_and_write(session, compiled, lane, event, read, codes, today, received_at, store_result)


def _decide_and_write(session: Session, compiled: CompiledRuleset, lane: Lane, event: dict[str, Any],
                      read: CustomerRead, codes: list[str], today: date, received_at: datetime,
                      store_result: Callable) -> IngestResult | bool:
    snapshot = event_snapshot(event, event["data"].get("contract_id"))
    facts = compute_facts(customer_snapshot(read.customer), read.contracts, today, snapshot)
    decision = decide(compiled, facts, snapshot, today, read.customer.main_contract_id)
    if len(decision.awards) > 1:
        return CLAIMED
    result = IngestResult(event_id=event["id"], stopped=[passed_over_stop(p) for p in decision.passed_over])
    system_codes = codes[len(CREDITED):]
    if decision.awards and any(code not in read.accounts for code in system_codes):
        return CLAIMED  # the programme's first award ever
    stored_snapshot = dict(vars(snapshot))
    if not decision.awards:
        store_result(session, {"event_id": event["id"], "result": result.as_dict(), "snapshot": stored_snapshot})
        return result
    (award,) = decision.awards
    cap = compiled.ruleset.programme(award.programme_id).cap
    if cap is not None and read.issued[award.programme_id] + award.points > cap.points:
        return CLAIMED
    rule = lane.rules[award.rule_id]
    given = GivenAward(award_id=0, rule_id=award.rule_id, programme_id=award.programme_id,
                       ruleset_version=award.ruleset_version, status="granted", contract_id=award.contract_id,
                       points=award.points, expires_on=award.expires_on, vests_on=award.vests_on)
    not_given = [*result.stopped, once_per_stop(award, rule)]
    answers = (replace(result, awards=[given]).as_dict(), replace(result, stopped=not_given).as_dict())
    credited = customer_account(read.customer.id, PENDING if award.vests_on is not None else AVAILABLE)
    award_id = write_award_and_commit(
        session, {**vars(award), "customer_id": read.customer.id, "awarded_on": today,
                  "clawback_on": rule.clawback_on, "created_at": received_at},
        reason=award.reason, actor=ACTOR, details=award_details(award),
        issuance_id=read.accounts[system_codes[0]], credited=credited,  # reward issuance, named first
        credited_id=read.accounts.get(credited.code),
        answers=answers, snapshot=stored_snapshot)
    if award_id is None:
        return replace(result, stopped=not_given)
    return replace(result, awards=[replace(given, award_id=award_id)])
