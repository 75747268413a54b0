"""The common single event on PostgreSQL in five round trips: BEGIN; claim; read; write; answer with COMMIT.

`ingest`'s general path sends an awarded invoice in nine statements, each waiting for the one
before, and SQLAlchemy's ORM reads the customer: on PostgreSQL that made the p99 (decisions 24-25).
This lane does the same for the events most of billing's traffic is (a paid invoice, a service
incident, a converted referral: they change nothing about the customer) when every rule on the
event's type gives points and nothing else, in programmes without a budget:

1. one statement claims the event (the same insert as `_claim`) and locks the customer (as
   `find_customer_with_contracts` does); the next reads it with its contracts, its accounts' ids and
   what each capped programme gave it this period;
2. Python decides, with the same `compute_facts` and `decide`;
3. one statement inserts the award (its unique key decides `once_per`, as `_insert_award`) and,
   chained to it, the ledger posting and both audit rows (as `earn` and `_deliver`);
4. the answer goes with COMMIT (`with_commit`).

Whatever it cannot answer the same way hands on to the general path in the same transaction,
after the claim: an unknown customer or contract (the general path refuses it), a customer whose
local date differs from the one its caps were summed for, more than one award, an award a cap
stops (the general path says whether `once_per` was the real reason), accounts not created yet.
A test holds the rows and answers of both paths equal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger, Integer, String, bindparam, cast, func, insert, literal, select, true, union_all, update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.orm import Session

from loyalty.engine.decide import CompiledRuleset, decide
from loyalty.engine.facts import ContractSnapshot, CustomerSnapshot, compute_facts
from loyalty.engine.model import Programme, Rule
from loyalty.ledger import AVAILABLE, CUSTOMER_ACCOUNTS, ISSUANCE, PENDING, AccountRef, customer_account, local_date
from loyalty.services.awarding import ACTOR, award_details, once_per_stop, passed_over_stop
from loyalty.services.event_payloads import event_subject
from loyalty.services.event_state import event_snapshot
from loyalty.services.ingest_result import GivenAward, IngestResult
from loyalty.services.limits import period
from loyalty.store.driver import DriverStatement
from loyalty.store.ledger.accounts import customer_accounts
from loyalty.store.ledger.operations import posting_accounts
from loyalty.store.tables import (
    Award, Contract, Customer, Event, LedgerAccount, LedgerEntry, LedgerTransaction, Lot, LotAllocation,
)
from loyalty.store.tables.audit import AuditRecord
from loyalty.store.tables.customers import DEFAULT_TIME_ZONE

TYPES = ("invoice.paid", "service.incident", "referral.converted")
"""Events that change nothing about the customer: what the rules read is read in the first statement."""
CUSTOMER_COLUMNS = ("id", "segment", "customer_since", "region", "locale", "time_zone", "tier", "status_points",
                    "main_contract_id")
CONTRACT_COLUMNS = ("id", "monthly_value", "term_months", "start", "renewals", "status")

_EVENTS, _CUSTOMERS, _CONTRACTS = Event.__table__, Customer.__table__, Contract.__table__
_ACCOUNTS, _AWARDS, _TRANSACTIONS = LedgerAccount.__table__, Award.__table__, LedgerTransaction.__table__
_ENTRIES, _LOTS, _ALLOCATIONS, _AUDIT = LedgerEntry.__table__, Lot.__table__, LotAllocation.__table__, AuditRecord.__table__
ACCOUNTS_NAMED = len(CUSTOMER_ACCOUNTS) + 2
"""The accounts an earning names: the customer's three and both issuance accounts (`posting_accounts`)."""
EVENT_COLUMNS = ("id", "type", "body_hash", "customer_id", "subject", "occurred_at", "received_at")
AWARD_COLUMNS = ("customer_id", "rule_id", "programme_id", "ruleset_version", "event_id", "contract_id", "once_key",
                 "awarded_on", "points", "expires_on", "vests_on", "clawback_on", "created_at")
CLAIMED, NOT_CLAIMED = True, False
"""What the lane tells the general path when it hands on: the event's row is (not) this transaction's."""


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
            received_at: datetime, store_result) -> IngestResult | bool:
    """The event's result, or `CLAIMED` / `NOT_CLAIMED` for the general path to go on from the claim."""
    customer_id, occurred_at = event["customer_id"], event["occurred_at"]
    assumed_today = local_date(occurred_at, DEFAULT_TIME_ZONE)
    refs = posting_accounts(customer_id, ISSUANCE)
    codes = [ref.code for ref in refs]
    parameters = {**{f"event_{c}": v for c, v in zip(EVENT_COLUMNS, (
        event["id"], event["type"], body_hash, customer_id, event_subject(event), occurred_at, received_at))},
        **{f"code{i}": code for i, code in enumerate(codes)}}
    for i, programme in enumerate(lane.caps):
        first, last = period(programme.cap.per, assumed_today)
        parameters |= {f"cap{i}_programme": programme.id, f"cap{i}_first": first, f"cap{i}_last": last}
    session.flush()
    (claimed, known), = LOCK.execute(session, parameters)
    if claimed is None:
        return NOT_CLAIMED
    if known is None:
        return CLAIMED  # no such customer: the general path refuses the event
    rows = _read_statement(tuple(programme.cap.per for programme in lane.caps)).execute(session, parameters)
    return _decide_and_write(session, compiled, lane, event, rows, refs, assumed_today, received_at, store_result)


def _decide_and_write(session: Session, compiled: CompiledRuleset, lane: Lane, event: dict[str, Any], rows: list,
                      refs: list[AccountRef], assumed_today: date, received_at: datetime,
                      store_result) -> IngestResult | bool:
    first = rows[0]
    customer = dict(zip(CUSTOMER_COLUMNS, first[:len(CUSTOMER_COLUMNS)]))
    today = local_date(event["occurred_at"], customer["time_zone"] or DEFAULT_TIME_ZONE)
    offset = len(CUSTOMER_COLUMNS)
    contracts = [ContractSnapshot(*row[offset:offset + len(CONTRACT_COLUMNS)]) for row in rows
                 if row[offset] is not None]
    contract_id = event["data"].get("contract_id")
    if today != assumed_today or (contract_id is not None and all(c.id != contract_id for c in contracts)):
        return CLAIMED
    accounts = first[offset + len(CONTRACT_COLUMNS)] or {}
    issued = dict(zip((p.id for p in lane.caps), first[offset + len(CONTRACT_COLUMNS) + 1:]))
    snapshot = event_snapshot(event, contract_id)
    facts = compute_facts(CustomerSnapshot(
        id=customer["id"], segment=customer["segment"], customer_since=customer["customer_since"],
        region=customer["region"], locale=customer["locale"], tier=customer["tier"],
        status_points=customer["status_points"] or 0), contracts, today, snapshot)
    decision = decide(compiled, facts, snapshot, today, customer["main_contract_id"])
    if len(decision.awards) > 1:
        return CLAIMED
    result = IngestResult(event_id=event["id"], stopped=[passed_over_stop(p) for p in decision.passed_over])
    customer_refs, system_refs = refs[:len(CUSTOMER_ACCOUNTS)], refs[len(CUSTOMER_ACCOUNTS):]
    held = [ref.code in accounts for ref in customer_refs]
    if decision.awards and (any(ref.code not in accounts for ref in system_refs) or (any(held) and not all(held))):
        return CLAIMED  # the programme's first award ever, or a customer with some accounts only
    for award in decision.awards:
        programme = compiled.ruleset.programme(award.programme_id)
        cap = programme.cap
        if cap is not None and issued[programme.id] + award.points > cap.points:
            return CLAIMED
        rule = lane.rules[award.rule_id]
        where = customer_account(customer["id"], PENDING if award.vests_on is not None else AVAILABLE)
        award_id = _write(session, award, rule.clawback_on, customer["id"], today, received_at,
                          where, accounts.get(where.code), accounts[system_refs[0].code])
        if award_id is None:
            result.stopped.append(once_per_stop(award, rule))
        else:
            result.awards.append(GivenAward(
                award_id=award_id, rule_id=award.rule_id, programme_id=award.programme_id,
                ruleset_version=award.ruleset_version, status="granted", contract_id=award.contract_id,
                points=award.points, expires_on=award.expires_on, vests_on=award.vests_on))
    store_result(session, {"event_id": event["id"], "result": result.as_dict(), "snapshot": dict(vars(snapshot))})
    return result


def _write(session: Session, award, clawback_on: str | None, customer_id: str, today: date, received_at: datetime,
           where: AccountRef, account_id: int | None, issuance_id: int) -> int | None:
    """The award's id, or None when its unique key says it was given before (nothing is written then).
    `account_id` None: the customer's first award, whose three accounts this statement creates, the
    one credited with the points as its balance (a row cannot be inserted and updated in one statement)."""
    parameters = {
        "a_customer_id": customer_id, "a_rule_id": award.rule_id, "a_programme_id": award.programme_id,
        "a_ruleset_version": award.ruleset_version, "a_event_id": award.event_id, "a_contract_id": award.contract_id,
        "a_once_key": award.once_key, "a_awarded_on": today, "a_points": award.points,
        "a_expires_on": award.expires_on, "a_vests_on": award.vests_on, "a_clawback_on": clawback_on,
        "a_created_at": received_at, "reason": award.reason, "actor": ACTOR, "issuance": issuance_id,
        "available": award.points if where.kind == AVAILABLE else 0,
        "pending": award.points if where.kind == PENDING else 0,
        "award_details": award_details(award),
    }
    if account_id is None:
        parameters |= {f"new{i}_{c}": v for i, ref in enumerate(customer_accounts(customer_id))
                       for c, v in (("code", ref.code), ("kind", ref.kind), ("currency", ref.currency),
                                    ("balance", award.points if ref == where else 0))}
        parameters["credited_code"] = where.code
    else:
        parameters["credited"] = account_id
    rows = _write_statement(account_id is None).execute(session, parameters)
    return rows[0][0] if rows else None


def _lock_statement() -> DriverStatement:
    """The claim (the insert `_claim` makes) and the customer's row lock (`find_customer_with_contracts`'s).
    What is read under the lock is read by the next statement: in READ COMMITTED a statement that
    waited for a lock still reads what was committed when it began, which could miss the awards and
    accounts of the transaction it waited for."""
    claim = (postgresql_insert(_EVENTS).values({c: bindparam(f"event_{c}", type_=_EVENTS.c[c].type)
                                                for c in EVENT_COLUMNS})
             .on_conflict_do_nothing().returning(_EVENTS.c.id).cte("claim"))
    customer_id = bindparam("event_customer_id", type_=_CUSTOMERS.c.id.type)
    return DriverStatement(select(
        select(claim.c.id).scalar_subquery(),
        select(_CUSTOMERS.c.id).where(_CUSTOMERS.c.id == customer_id).with_for_update().scalar_subquery()))


LOCK = _lock_statement()


@lru_cache(maxsize=16)
def _read_statement(cap_periods: tuple[str, ...]) -> DriverStatement:
    """The locked customer with its contracts, its accounts' ids, and each capped programme's sum this
    period. The accounts are locked by the write's UPDATEs, after the customer, as every writer does."""
    codes = [bindparam(f"code{i}", type_=_ACCOUNTS.c.code.type) for i in range(ACCOUNTS_NAMED)]
    accounts = select(_ACCOUNTS.c.id, _ACCOUNTS.c.code).where(_ACCOUNTS.c.code.in_(codes)).subquery("accounts")
    customer_id = bindparam("event_customer_id", type_=_CUSTOMERS.c.id.type)
    sums = [
        select(func.coalesce(func.sum(_AWARDS.c.points), 0)).where(
            _AWARDS.c.programme_id == bindparam(f"cap{i}_programme"), _AWARDS.c.status != "rejected",
            _AWARDS.c.customer_id == customer_id,
            *([_AWARDS.c.awarded_on >= bindparam(f"cap{i}_first", type_=_AWARDS.c.awarded_on.type),
               _AWARDS.c.awarded_on <= bindparam(f"cap{i}_last", type_=_AWARDS.c.awarded_on.type)]
              if per != "programme" else []),
        ).scalar_subquery()
        for i, per in enumerate(cap_periods)
    ]
    return DriverStatement(
        select(*(_CUSTOMERS.c[c] for c in CUSTOMER_COLUMNS), *(_CONTRACTS.c[c] for c in CONTRACT_COLUMNS),
               select(func.json_object_agg(accounts.c.code, accounts.c.id)).scalar_subquery(), *sums)
        .select_from(_CUSTOMERS.outerjoin(_CONTRACTS, _CONTRACTS.c.customer_id == _CUSTOMERS.c.id))
        .where(_CUSTOMERS.c.id == customer_id).order_by(_CONTRACTS.c.id)
    )


@lru_cache(maxsize=2)
def _write_statement(new_customer: bool) -> DriverStatement:
    """The award, and chained to it (nothing when its unique key says it was given before) the earn
    transaction, its two entries in account-id order, both balances, the lot and its allocation, and
    the audit rows `earn` and `_deliver` write, in their order; for a customer's first award, its
    three accounts first, as `lock_accounts` creates them."""
    award = (postgresql_insert(_AWARDS).values(
        {**{c: bindparam(f"a_{c}", type_=_AWARDS.c[c].type) for c in AWARD_COLUMNS},
         "status_points": 0, "status": "granted"})
        .on_conflict_do_nothing(index_elements=["customer_id", "rule_id", "once_key"])
        .returning(_AWARDS.c.id).cte("award"))
    reference = literal("award:", String) + cast(award.c.id, String)
    customer_id = bindparam("a_customer_id", type_=_AWARDS.c.customer_id.type)
    received_at = bindparam("a_created_at", type_=_AWARDS.c.created_at.type)
    reason = bindparam("reason", type_=_TRANSACTIONS.c.reason.type)
    version = bindparam("a_ruleset_version", type_=_AWARDS.c.ruleset_version.type)
    actor = bindparam("actor", type_=_TRANSACTIONS.c.actor.type)
    points = bindparam("a_points", type_=BigInteger)
    issuance = bindparam("issuance", type_=BigInteger)
    ctes = []
    if new_customer:  # created only with the award: ids in this order, as `lock_accounts` inserts them
        new = union_all(*(
            select(*(bindparam(f"new{i}_{c}", type_=_ACCOUNTS.c[c].type).label(c) for c in ("code", "kind", "currency")),
                   customer_id.label("customer_id"), bindparam(f"new{i}_balance", type_=BigInteger).label("balance"),
                   literal(i, Integer).label("n")).select_from(award)
            for i in range(len(CUSTOMER_ACCOUNTS)))).subquery("new")
        created = (insert(_ACCOUNTS).from_select(
            ["code", "kind", "currency", "customer_id", "balance"],
            select(*(new.c[c] for c in ("code", "kind", "currency", "customer_id", "balance"))).order_by(new.c.n))
            .returning(_ACCOUNTS.c.id, _ACCOUNTS.c.code).cte("created"))
        credited = select(created.c.id).where(
            created.c.code == bindparam("credited_code", type_=_ACCOUNTS.c.code.type)).scalar_subquery()
        moves = [(issuance, -points), (credited, points)]  # a new account's id is above the issuance account's
        ctes.append(created)
    else:
        credited = bindparam("credited", type_=BigInteger)
        moves = [(issuance, -points), (credited, points)]
    tx = (insert(_TRANSACTIONS).from_select(
        ["kind", "customer_id", "occurred_at", "reference", "reason", "actor", "ruleset_version", "shortfall"],
        select(literal("earn", String), customer_id, received_at, reference, reason, actor, version,
               literal(0, BigInteger)).select_from(award))
        .returning(_TRANSACTIONS.c.id).cte("tx"))
    ordered = union_all(*(
        select(tx.c.id.label("transaction_id"), account.label("account_id"), amount.label("amount"),
               literal(n, Integer).label("n"))
        for n, (account, amount) in enumerate(moves))).subquery("moves")
    entries = insert(_ENTRIES).from_select(  # in account-id order when not new: sorted in SQL, not guessed
        ["transaction_id", "account_id", "amount"],
        select(ordered.c.transaction_id, ordered.c.account_id, ordered.c.amount)
        .order_by(ordered.c.n if new_customer else ordered.c.account_id)).cte("entries")
    ctes += [tx, entries]
    ctes += [update(_ACCOUNTS).where(_ACCOUNTS.c.id == account, select(tx.c.id).exists())
             .values(balance=_ACCOUNTS.c.balance + amount).cte(f"balance{n}")
             for n, (account, amount) in enumerate(moves if not new_customer else moves[:1])]
    lot = (insert(_LOTS).from_select(
        ["customer_id", "account_id", "amount", "remaining", "earned_at", "expires_on", "vests_on", "programme",
         "reference", "created_by_id"],
        select(customer_id, credited, points, points, received_at,
               bindparam("a_expires_on", type_=_LOTS.c.expires_on.type),
               bindparam("a_vests_on", type_=_LOTS.c.vests_on.type),
               bindparam("a_programme_id", type_=_LOTS.c.programme.type), reference, tx.c.id)
        .select_from(award).join(tx, true()))
        .returning(_LOTS.c.id, _LOTS.c.amount).cte("lot"))
    allocation = insert(_ALLOCATIONS).from_select(
        ["transaction_id", "lot_id", "amount"], select(tx.c.id, lot.c.id, lot.c.amount)).cte("allocation")
    ledger_details = cast(func.json_build_object(  # as posting's `_audit_row`, with the reference only known here
        "points", bindparam("available", type_=BigInteger), "pending_points", bindparam("pending", type_=BigInteger),
        "status_points", literal(0, BigInteger), "reference", reference), _AUDIT.c.details.type)
    audit_rows = union_all(*(
        select(received_at.label("occurred_at"), actor.label("actor"), literal(action, String).label("action"),
               literal(subject_type, String).label("subject_type"), cast(subject, String).label("subject_id"),
               customer_id.label("customer_id"), reason.label("reason"), version.label("ruleset_version"),
               details.label("details"), literal(n, Integer).label("n"))
        .select_from(award).join(tx, true())
        for n, (action, subject_type, subject, details) in enumerate((
            ("ledger.earn", "ledger_transaction", tx.c.id, ledger_details),
            ("award.granted", "award", award.c.id, bindparam("award_details", type_=_AUDIT.c.details.type)))))
    ).subquery("audit_rows")
    audit = insert(_AUDIT).from_select(
        ["occurred_at", "actor", "action", "subject_type", "subject_id", "customer_id", "reason", "ruleset_version",
         "details"],
        select(*(audit_rows.c[c] for c in ("occurred_at", "actor", "action", "subject_type", "subject_id",
                                           "customer_id", "reason", "ruleset_version", "details")))
        .order_by(audit_rows.c.n)).cte("audit")
    return DriverStatement(select(award.c.id).add_cte(*ctes, lot, allocation, audit))
