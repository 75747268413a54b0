"""The three statements of PostgreSQL's lane for a single event (`loyalty.services.ingest_fast`).

Each replaces several of the general path's round trips: the claim with the customer's row lock;
the customer with its contracts, accounts and cap sums (both with BEGIN); the award with its whole
posting, both audit rows and the event's answer (with COMMIT). They write exactly the rows the
general path writes (a test compares every row), and return plain values: no ORM object is loaded.
The general path reads the customer of an event that changes nothing about it (a paid invoice, an
incident, a referral) with the same read.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Sequence

from sqlalchemy import (
    BigInteger, Integer, String, bindparam, cast, func, insert, literal, literal_column, select, true, union_all,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert as postgresql_insert
from sqlalchemy.orm import Session

from loyalty.engine.facts import ContractSnapshot
from loyalty.ledger import AccountRef
from loyalty.store.driver import DriverStatement, execute_together
from loyalty.store.tables import (
    Award, Contract, Customer, Event, LedgerAccount, LedgerEntry, LedgerTransaction, Lot, LotAllocation,
)
from loyalty.store.tables.audit import AuditRecord

_EVENTS, _CUSTOMERS, _CONTRACTS = Event.__table__, Customer.__table__, Contract.__table__
_ACCOUNTS, _AWARDS, _TRANSACTIONS = LedgerAccount.__table__, Award.__table__, LedgerTransaction.__table__
_ENTRIES, _LOTS, _ALLOCATIONS, _AUDIT = LedgerEntry.__table__, Lot.__table__, LotAllocation.__table__, AuditRecord.__table__
EVENT_COLUMNS = ("id", "type", "body_hash", "customer_id", "subject", "occurred_at", "received_at")
CUSTOMER_COLUMNS = ("id", "segment", "customer_since", "region", "locale", "tier", "status_points",
                    "time_zone", "main_contract_id")
CONTRACT_COLUMNS = ("id", "monthly_value", "term_months", "start", "renewals", "status")
AWARD_COLUMNS = ("customer_id", "rule_id", "programme_id", "ruleset_version", "event_id", "contract_id", "once_key",
                 "awarded_on", "points", "expires_on", "vests_on", "clawback_on", "created_at")


@dataclass(frozen=True)
class CapPeriod:
    """A capped programme and the period its cap counts: `per` as the rule language says, and its days."""

    programme_id: str
    per: str
    first: date | None
    last: date | None


@dataclass
class CustomerRow:
    """The customer's columns that an event's rules and awards read, as plain values (a batch of
    events keeps its customers' tier and status points current on them, `ingest_batch`)."""

    id: str
    segment: str
    customer_since: date
    region: str | None
    locale: str | None
    tier: str | None
    status_points: int | None
    time_zone: str | None
    main_contract_id: str | None


@dataclass(frozen=True)
class CustomerRead:
    """What is read of a locked customer: its row and contracts, and what the lane asked for besides."""

    customer: CustomerRow
    contracts: list[ContractSnapshot]
    accounts: dict[str, int]
    """The ids of the accounts asked for that exist, by code."""
    issued: dict[str, int]
    """Each capped programme's points given to the customer in its period."""


def claim_lock_and_read(session: Session, event_row: dict[str, Any], account_codes: Sequence[str],
                        caps: Sequence[CapPeriod]) -> tuple[bool, CustomerRead | None]:
    """Insert the event's row (as `_claim`) and lock its customer's row (as `find_customer_with_contracts`),
    then read the customer with the ids of the accounts named that exist and each capped programme's
    sum, both sent in one round trip with the transaction's BEGIN: whether this transaction owns the
    event, and the customer (None if there is no such customer). The read is a statement of its
    own, after the lock's: in READ COMMITTED a statement that waited for a lock still reads what was
    committed when it began, which could miss the awards and accounts of the transaction it waited
    for. The accounts are locked later, by the write's UPDATEs, after the customer, as every writer
    does."""
    claim = {f"event_{c}": event_row[c] for c in EVENT_COLUMNS}
    read_statement, read_parameters = _read(event_row["customer_id"], account_codes, caps, lock=False)
    (((claimed, _locked),), rows) = execute_together(
        session, [(CLAIM_AND_LOCK, claim), (read_statement, read_parameters)], begin=True)
    return claimed is not None, _customer_read(rows, account_codes, caps)


def read_customer(session: Session, customer_id: str) -> CustomerRead | None:
    """The customer, locked, with its contracts in id order; None if there is no such customer."""
    statement, parameters = _read(customer_id, (), (), lock=True)
    return _customer_read(statement.execute(session, parameters), (), ())


def _read(customer_id: str, account_codes: Sequence[str], caps: Sequence[CapPeriod],
          *, lock: bool) -> tuple[DriverStatement, dict[str, Any]]:
    parameters: dict[str, Any] = {"customer_id": customer_id}
    parameters |= {f"code{i}": code for i, code in enumerate(account_codes)}
    for i, cap in enumerate(caps):
        parameters |= {f"cap{i}_programme": cap.programme_id, f"cap{i}_first": cap.first, f"cap{i}_last": cap.last}
    return _read_statement(len(account_codes), tuple(cap.per != "programme" for cap in caps), lock), parameters


def _customer_read(rows: list[tuple], account_codes: Sequence[str], caps: Sequence[CapPeriod]) -> CustomerRead | None:
    if not rows:
        return None
    first = rows[0]
    offset, codes_at = len(CUSTOMER_COLUMNS), len(CUSTOMER_COLUMNS) + len(CONTRACT_COLUMNS)
    return CustomerRead(
        customer=CustomerRow(*first[:offset]),
        contracts=[ContractSnapshot(*row[offset:codes_at]) for row in rows if row[offset] is not None],
        accounts={code: account_id for code, account_id in zip(account_codes, first[codes_at:])
                  if account_id is not None},
        issued={cap.programme_id: issued for cap, issued in zip(caps, first[codes_at + len(account_codes):])},
    )


def write_award_and_commit(session: Session, award_row: dict[str, Any], *, reason: str, actor: str,
                           details: dict, issuance_id: int, credited: AccountRef, credited_id: int | None,
                           answers: tuple[dict, dict], snapshot: dict) -> int | None:
    """Insert the award and, chained to it, its earning: the ledger transaction, both entries and
    balances, the lot and its allocation, the `award.granted` audit row (as `earn` and `_deliver`
    write them); store the event's answer and snapshot (as `STORE_RESULT`); COMMIT,
    in the same round trip. The award's id, or None when its unique key says it was given before:
    nothing of the award is written then. `answers`: the event's answer if the award is given (its
    first award's id is set here) and if it is not. `credited_id` None: the customer has no
    `credited` account yet, and it is created here holding the points, as `earn` creates it."""
    parameters = {**{f"a_{c}": award_row[c] for c in AWARD_COLUMNS}, "reason": reason, "actor": actor,
                  "issuance": issuance_id, "award_details": details,
                  "answer_given": answers[0], "answer_not_given": answers[1], "snapshot": snapshot}
    if credited_id is None:
        parameters |= {"new_code": credited.code, "new_kind": credited.kind, "new_currency": credited.currency}
    else:
        parameters["credited"] = credited_id
    statement = _write_statement(new_account=credited_id is None)
    (rows,) = execute_together(session, [(statement, parameters)], commit=True)
    return rows[0][0] if rows else None


def _claim_and_lock_statement() -> DriverStatement:
    """The claim's id (None: another delivery has it) and the locked customer's (None: unknown)."""
    claim = (postgresql_insert(_EVENTS).values({c: bindparam(f"event_{c}", type_=_EVENTS.c[c].type)
                                                for c in EVENT_COLUMNS})
             .on_conflict_do_nothing().returning(_EVENTS.c.id).cte("claim"))
    customer_id = bindparam("event_customer_id", type_=_CUSTOMERS.c.id.type)
    return DriverStatement(select(
        select(claim.c.id).scalar_subquery(),
        select(_CUSTOMERS.c.id).where(_CUSTOMERS.c.id == customer_id).with_for_update().scalar_subquery()))


CLAIM_AND_LOCK = _claim_and_lock_statement()


@lru_cache(maxsize=16)
def _read_statement(accounts: int, caps_dated: tuple[bool, ...], lock: bool) -> DriverStatement:
    """Each account by its code alone (an equality on a unique key: its index whatever the table's
    statistics say, where `code IN (...)` was planned as a scan of a table analysed while small)."""
    customer_id = bindparam("customer_id", type_=_CUSTOMERS.c.id.type)
    account_ids = [select(_ACCOUNTS.c.id).where(_ACCOUNTS.c.code == bindparam(f"code{i}", type_=_ACCOUNTS.c.code.type))
                   .scalar_subquery() for i in range(accounts)]
    sums = [
        select(func.coalesce(func.sum(_AWARDS.c.points), 0)).where(
            _AWARDS.c.customer_id == customer_id, _AWARDS.c.programme_id == bindparam(f"cap{i}_programme"),
            _AWARDS.c.status != "rejected",
            *([_AWARDS.c.awarded_on >= bindparam(f"cap{i}_first", type_=_AWARDS.c.awarded_on.type),
               _AWARDS.c.awarded_on <= bindparam(f"cap{i}_last", type_=_AWARDS.c.awarded_on.type)]
              if dated else []),
        ).scalar_subquery()
        for i, dated in enumerate(caps_dated)
    ]
    read = (select(*(_CUSTOMERS.c[c] for c in CUSTOMER_COLUMNS), *(_CONTRACTS.c[c] for c in CONTRACT_COLUMNS),
                   *account_ids, *sums)
            .select_from(_CUSTOMERS.outerjoin(_CONTRACTS, _CONTRACTS.c.customer_id == _CUSTOMERS.c.id))
            .where(_CUSTOMERS.c.id == customer_id).order_by(_CONTRACTS.c.id))
    return DriverStatement(read.with_for_update(of=_CUSTOMERS) if lock else read)


@lru_cache(maxsize=2)
def _write_statement(new_account: bool) -> DriverStatement:
    """`write_award_and_commit`'s statement: the credited account first when it is new, holding the
    award's points; the event's answer last."""
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
    if new_account:  # created only with the award
        created = (insert(_ACCOUNTS).from_select(
            ["code", "kind", "currency", "customer_id", "balance"],
            select(*(bindparam(f"new_{c}", type_=_ACCOUNTS.c[c].type).label(c) for c in ("code", "kind", "currency")),
                   customer_id.label("customer_id"), points.label("balance")).select_from(award))
            .returning(_ACCOUNTS.c.id).cte("created"))
        credited = select(created.c.id).scalar_subquery()
        ctes.append(created)
    else:
        credited = bindparam("credited", type_=BigInteger)
    moves = [(issuance, -points), (credited, points)]  # a new account's id is above the issuance account's
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
        .order_by(ordered.c.n if new_account else ordered.c.account_id)).cte("entries")
    ctes += [tx, entries]
    ctes += [update(_ACCOUNTS).where(_ACCOUNTS.c.id == account, select(tx.c.id).exists())
             .values(balance=_ACCOUNTS.c.balance + amount).cte(f"balance{n}")
             for n, (account, amount) in enumerate(moves[:1] if new_account else moves)]
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
    audit_columns = ("occurred_at", "actor", "action", "subject_type", "subject_id", "customer_id", "reason",
                     "ruleset_version", "details")
    audit = insert(_AUDIT).from_select(audit_columns, select(  # the award's row stands for its posting's too
        received_at, actor, literal("award.granted", String), literal("award", String), cast(award.c.id, String),
        customer_id, reason, version, bindparam("award_details", type_=_AUDIT.c.details.type))
        .select_from(award).join(tx, true())).cte("audit")
    answer_given = func.jsonb_set(cast(bindparam("answer_given", type_=_EVENTS.c.result.type), JSONB),
                                  literal_column("CAST('{awards,0,award_id}' AS TEXT[])"), func.to_jsonb(award.c.id))
    answer = (update(_EVENTS).where(_EVENTS.c.id == bindparam("a_event_id", type_=_EVENTS.c.id.type))
              .values(result=func.coalesce(select(cast(answer_given, _EVENTS.c.result.type)).scalar_subquery(),
                                           bindparam("answer_not_given", type_=_EVENTS.c.result.type)),
                      snapshot=bindparam("snapshot", type_=_EVENTS.c.snapshot.type))
              .cte("answer"))
    return DriverStatement(select(award.c.id).add_cte(*ctes, lot, allocation, audit, answer))
