"""The statements a batch of billing's events needs, each run once for the whole batch.

`loyalty.services.ingest_batch` decides every event in Python; this module reads what it needs
(the events and subjects already claimed, the locked customers with their contracts, the awards
already given, the points issued against budgets and caps) and writes what it decided (event rows,
awards, grants, approvals, memberships, tiers) in a few multi-row statements per table, on the
caller's transaction. Event rows go in with `INSERT ... ON CONFLICT DO NOTHING` and the count of
rows inserted is returned: fewer than asked means another transaction claimed one of them since the
batch read the table, and the caller must not trust its decisions (it reruns them one by one).
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session

from loyalty.store.bulk import insert_rows
from loyalty.store.bulk_rows import reserve_ids, stored_date, stored_time, update_rows
from loyalty.store.ledger_bulk import insert_audit
from loyalty.store.tables import Approval, Award, Contract, Customer, Event, Membership, RewardGrant

IN_BATCH = 5_000
"""Host parameters per IN list: well under SQLite's limit."""
_EVENTS, _CUSTOMERS, _CONTRACTS, _AWARDS = Event.__table__, Customer.__table__, Contract.__table__, Award.__table__
CLAIMED = select(_EVENTS.c.id, _EVENTS.c.body_hash, _EVENTS.c.result, _EVENTS.c.received_at).where(
    _EVENTS.c.id.in_(bindparam("ids", expanding=True)))
CUSTOMERS_LOCKED = (
    select(_CUSTOMERS.c.id, _CUSTOMERS.c.segment, _CUSTOMERS.c.customer_since, _CUSTOMERS.c.region,
           _CUSTOMERS.c.locale, _CUSTOMERS.c.tier, _CUSTOMERS.c.status_points, _CUSTOMERS.c.time_zone,
           _CUSTOMERS.c.main_contract_id)
    .where(_CUSTOMERS.c.id.in_(bindparam("ids", expanding=True))).order_by(_CUSTOMERS.c.id).with_for_update()
)
"""Read and lock at once, in id order, as `lock_customers` locks them."""
CONTRACTS_OF = (
    select(_CONTRACTS.c.customer_id, _CONTRACTS.c.id, _CONTRACTS.c.monthly_value, _CONTRACTS.c.term_months,
           _CONTRACTS.c.start, _CONTRACTS.c.renewals, _CONTRACTS.c.status)
    .where(_CONTRACTS.c.customer_id.in_(bindparam("ids", expanding=True)))
    .order_by(_CONTRACTS.c.customer_id, _CONTRACTS.c.id)
)
GIVEN = select(_AWARDS.c.customer_id, _AWARDS.c.rule_id, _AWARDS.c.once_key).where(
    _AWARDS.c.customer_id.in_(bindparam("ids", expanding=True)),
    _AWARDS.c.rule_id.in_(bindparam("rules", expanding=True)))
AWARD_COLUMNS = ("id", "customer_id", "rule_id", "programme_id", "ruleset_version", "event_id", "contract_id",
                 "once_key", "awarded_on", "points", "status_points", "expires_on", "vests_on", "reward",
                 "membership", "tier", "goodwill", "clawback_on", "status", "created_at")
EVENT_COLUMNS = ("id", "type", "body_hash", "customer_id", "subject", "occurred_at", "received_at", "result",
                 "snapshot")
PG_CASTS = {"occurred_at": "timestamptz", "received_at": "timestamptz", "result": "json", "snapshot": "json",
            "since": "date"}


def _chunks(values: Sequence, size: int = IN_BATCH) -> Iterable[Sequence]:
    for first in range(0, len(values), size):
        yield values[first:first + size]


def claimed_events(session: Session, ids: Sequence[str]) -> dict[str, tuple[str, Any, datetime]]:
    """Events already recorded under these ids: id -> (body hash, stored result, received_at)."""
    found: dict[str, tuple[str, Any, datetime]] = {}
    for part in _chunks(sorted(set(ids))):
        found.update({row.id: (row.body_hash, row.result, row.received_at)
                      for row in session.execute(CLAIMED, {"ids": list(part)})})
    return found


def subject_owners(session: Session, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(customer, subject) -> id of the event that already reported it, for these pairs.

    A join against the pairs (UNIQUE(customer_id, subject) answers each probe), not two IN lists,
    which would match every subject of every customer named."""
    pairs = sorted(set(pairs))
    if not pairs:
        return {}
    connection = session.connection()
    cursor = connection.connection.driver_connection.cursor()
    found: dict[tuple[str, str], str] = {}
    try:
        for part in _chunks(pairs, 2_000):
            if connection.dialect.name == "postgresql":
                cursor.execute("SELECT e.customer_id, e.subject, e.id FROM events e JOIN unnest(%s::text[], "
                               "%s::text[]) AS v(c, s) ON e.customer_id = v.c AND e.subject = v.s",
                               ([p[0] for p in part], [p[1] for p in part]))
            else:
                values = ", ".join("(?, ?)" for _ in part)
                cursor.execute(f"SELECT e.customer_id, e.subject, e.id FROM (VALUES {values}) AS v "
                               "JOIN events e ON e.customer_id = v.column1 AND e.subject = v.column2",
                               [value for pair in part for value in pair])
            found.update({(customer, subject): event_id for customer, subject, event_id in cursor.fetchall()})
    finally:
        cursor.close()
    return found


def lock_and_read_customers(session: Session, ids: Sequence[str]) -> dict[str, Any]:
    """The customers (those that exist), locked in id order: id -> row."""
    session.flush()
    found: dict[str, Any] = {}
    for part in _chunks(sorted(set(ids))):
        found.update({row.id: row for row in session.execute(CUSTOMERS_LOCKED, {"ids": list(part)})})
    return found


def contracts_of(session: Session, ids: Sequence[str]) -> dict[str, list[Any]]:
    """Each customer's contracts as rows, in contract-id order (as `contract_snapshots` reads them)."""
    found: dict[str, list[Any]] = {}
    for part in _chunks(sorted(set(ids))):
        for row in session.execute(CONTRACTS_OF, {"ids": list(part)}):
            found.setdefault(row.customer_id, []).append(row)
    return found


def given_awards(session: Session, customer_ids: Sequence[str], rule_ids: Sequence[str]) -> set[tuple[str, str, str]]:
    """(customer, rule, once key) of the awards these customers already have from these rules."""
    if not rule_ids:
        return set()
    given: set[tuple[str, str, str]] = set()
    for part in _chunks(sorted(set(customer_ids))):
        given.update(tuple(row) for row in session.execute(GIVEN, {"ids": list(part), "rules": sorted(set(rule_ids))}))
    return given


def points_issued_by_customer(session: Session, programme_id: str, first: date | None, last: date | None,
                              customer_ids: Sequence[str]) -> dict[str, int]:
    """Points the programme's awards (not rejected) gave each of these customers in the period: caps."""
    issued: dict[str, int] = {}
    for part in _chunks(sorted(set(customer_ids))):
        where = [_AWARDS.c.programme_id == programme_id, _AWARDS.c.status != "rejected",
                 _AWARDS.c.customer_id.in_(list(part))]
        if first is not None:
            where += [_AWARDS.c.awarded_on >= first, _AWARDS.c.awarded_on <= last]
        query = select(_AWARDS.c.customer_id, func.sum(_AWARDS.c.points)).where(*where).group_by(_AWARDS.c.customer_id)
        issued.update({customer: int(points or 0) for customer, points in session.execute(query)})
    return issued


def claim_events(session: Session, rows: Sequence[tuple]) -> int:
    """Insert event rows (`EVENT_COLUMNS`, result and snapshot as dicts) unless their id or their
    (customer, subject) is taken: how many were inserted."""
    if not rows:
        return 0
    received = {}
    stamp = lambda moment: received.setdefault(moment, stored_time(session, moment))  # noqa: E731 - few distinct
    values = [(i, t, h, c, s, stamp(occurred), stamp(at), json.dumps(result), json.dumps(snapshot))
              for i, t, h, c, s, occurred, at, result, snapshot in rows]
    return insert_new_rows(session, _EVENTS, EVENT_COLUMNS, values)


def insert_new_rows(session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple]) -> int:
    """`INSERT ... ON CONFLICT DO NOTHING` of many rows in one executemany: how many were inserted."""
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    column_list = ", ".join(quote(name) for name in columns)
    postgres = connection.dialect.name == "postgresql"
    marks = ", ".join(f"%s::{PG_CASTS[name]}" if postgres and name in PG_CASTS else ("%s" if postgres else "?")
                      for name in columns)
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.executemany(f"INSERT INTO {quote(table.name)} ({column_list}) VALUES ({marks}) ON CONFLICT DO NOTHING",
                           rows)
        return cursor.rowcount
    finally:
        cursor.close()


def insert_awards(session: Session, rows: Sequence[tuple], at: datetime) -> None:
    """Award rows (`AWARD_COLUMNS` but created_at, ids reserved by the caller, dates as `date`).

    Plain inserts: UNIQUE(customer_id, rule_id, once_key) was checked against the awards read under
    the customers' locks, and no other writer gives an event rule's award without that lock (the
    nightly run's rules are `on` its own events)."""
    stamp = stored_time(session, at)
    insert_rows(session, _AWARDS, AWARD_COLUMNS,
                [(i, c, r, p, v, e, k, o, stored_date(on), pts, sp, stored_date(exp), stored_date(vest), rew, mem,
                  tier, gw, claw, status, stamp)
                 for i, c, r, p, v, e, k, o, on, pts, sp, exp, vest, rew, mem, tier, gw, claw, status in rows])


def insert_grants(session: Session, rows: Sequence[tuple], at: datetime) -> None:
    """Reward grants: (customer, award id, kind, reward id, amount), all pending, granted at `at`."""
    ids = reserve_ids(session, RewardGrant.__table__, len(rows))
    stamp = stored_time(session, at)
    insert_rows(session, RewardGrant.__table__,
                ("id", "customer_id", "award_id", "kind", "reward_id", "amount", "status", "granted_at"),
                [(i, *row, "pending", stamp) for i, row in zip(ids, rows)])


def insert_approvals(session: Session, rows: Sequence[tuple], at: datetime) -> None:
    """Goodwill waiting for marketing: (award id, customer, amount), pending, requested at `at`."""
    ids = reserve_ids(session, Approval.__table__, len(rows))
    stamp = stored_time(session, at)
    insert_rows(session, Approval.__table__, ("id", "award_id", "customer_id", "kind", "amount", "status",
                                              "requested_at"),
                [(i, award, customer, "goodwill", amount, "pending", stamp) for i, (award, customer, amount)
                 in zip(ids, rows)])


def join_programmes(session: Session, rows: Sequence[tuple[str, str, int, date]]) -> None:
    """Memberships (customer, programme, award id, since); a customer already a member keeps its row."""
    if rows:
        insert_new_rows(session, Membership.__table__, ("customer_id", "programme_id", "award_id", "since"),
                        [(c, p, a, stored_date(since)) for c, p, a, since in rows])


def set_tiers(session: Session, tiers: Sequence[tuple[str, str]]) -> None:
    """Each customer's tier as its last tier award in the batch set it."""
    update_rows(session, _CUSTOMERS, "tier", sorted(tiers))


def audit_awards(session: Session, rows: Sequence[tuple], at: datetime) -> None:
    """`award.granted` / `award.pending_approval` rows: (action, award id, customer, reason, version, details)."""
    stamp = stored_time(session, at)
    insert_audit(session, [(stamp, "rules", action, "award", str(award_id), customer, reason, version,
                            json.dumps(details)) for action, award_id, customer, reason, version, details in rows])
