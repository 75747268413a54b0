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
from datetime import date, datetime, timezone
from typing import Any, Iterable, Sequence

from sqlalchemy import Table
from sqlalchemy.orm import Session

from loyalty.store.bulk import insert_rows
from loyalty.store.bulk_rows import reserve_ids, stored_date, stored_time, update_rows
from loyalty.store.daily_awards import AWARD_COLUMNS
from loyalty.store.audit import insert_audit
from loyalty.store.tables import Approval, Award, Customer, Event, Membership, RewardGrant

IN_BATCH = 5_000
"""Host parameters per IN list: well under SQLite's limit."""
_EVENTS, _CUSTOMERS, _AWARDS = Event.__table__, Customer.__table__, Award.__table__
CLAIMED = "SELECT id, body_hash, result, received_at FROM events WHERE id {in_ids}"
CUSTOMERS_LOCKED = (
    "SELECT c.id, c.segment, c.customer_since, c.region, c.locale, c.tier, c.status_points, c.time_zone, "
    "c.main_contract_id, k.id, k.monthly_value, k.term_months, k.start, k.renewals, k.status "
    "FROM customers c LEFT JOIN contracts k ON k.customer_id = c.id WHERE c.id {in_ids} ORDER BY c.id, k.id")
"""The customers with their contracts, one list of ids bound once; the customers read and locked at
once, in id order, as `lock_customers` locks them (FOR UPDATE OF c on PostgreSQL)."""
GIVEN = "SELECT customer_id, rule_id, once_key FROM awards WHERE customer_id {in_ids} AND rule_id {in_rules}"
ISSUED = ("SELECT customer_id, SUM(points) FROM awards WHERE programme_id = {mark} AND status <> 'rejected' "
          "AND customer_id {in_ids}{period} GROUP BY customer_id")
EVENT_COLUMNS = ("id", "type", "body_hash", "customer_id", "subject", "occurred_at", "received_at", "result",
                 "snapshot")
PG_CASTS = {"occurred_at": "timestamptz", "received_at": "timestamptz", "result": "json", "snapshot": "json",
            "since": "date"}


def _chunks(values: Sequence, size: int = IN_BATCH) -> Iterable[Sequence]:
    for first in range(0, len(values), size):
        yield values[first:first + size]


class _Cursor:
    """The session's DBAPI cursor, and how this database takes a list of values as one parameter.

    The reads bind a thousand ids each: SQLAlchemy renders an expanding IN's thousand placeholders
    on every execution and builds a Row per row, which cost more than the query (decision 20)."""

    def __init__(self, session: Session):
        connection = session.connection()
        self.postgres = connection.dialect.name == "postgresql"
        self.mark = "%s" if self.postgres else "?"
        self.cursor = connection.connection.driver_connection.cursor()

    def in_list(self, values: Sequence) -> tuple[str, list]:
        """(the `IN` of a WHERE for these values, its parameters)."""
        if self.postgres:
            return "= ANY(%s::text[])", [list(values)]
        return f"IN ({', '.join('?' * len(values))})", list(values)

    def rows(self, statement: str, parameters: Sequence) -> list[tuple]:
        self.cursor.execute(statement, parameters)
        return self.cursor.fetchall()

    def __enter__(self) -> "_Cursor":
        return self

    def __exit__(self, *_exc) -> None:
        self.cursor.close()


def _day(value: Any) -> date | None:
    """A `Date` column as the driver returns it (text on SQLite) as a date."""
    return date.fromisoformat(value) if type(value) is str else value


def _utc(value: Any) -> datetime | None:
    """A `UTCDateTime` column as the driver returns it as `UTCDateTime` would: aware UTC."""
    if value is None:
        return None
    if type(value) is str:
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def claimed_events(session: Session, ids: Sequence[str]) -> dict[str, tuple[str, Any, datetime]]:
    """Events already recorded under these ids: id -> (body hash, stored result, received_at)."""
    found: dict[str, tuple[str, Any, datetime]] = {}
    with _Cursor(session) as cursor:
        for part in _chunks(sorted(set(ids))):
            in_ids, parameters = cursor.in_list(part)
            for event_id, body_hash, result, received_at in cursor.rows(CLAIMED.format(in_ids=in_ids), parameters):
                found[event_id] = (body_hash, json.loads(result) if type(result) is str else result,
                                   _utc(received_at))
    return found


def subject_owners(session: Session, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(customer, subject) -> id of the event that already reported it, for these pairs.

    A join against the pairs (UNIQUE(customer_id, subject) answers each probe), not two IN lists,
    which would match every subject of every customer named."""
    pairs = sorted(set(pairs))
    if not pairs:
        return {}
    found: dict[tuple[str, str], str] = {}
    with _Cursor(session) as cursor:
        for part in _chunks(pairs, 2_000):
            if cursor.postgres:
                rows = cursor.rows("SELECT e.customer_id, e.subject, e.id FROM events e JOIN unnest(%s::text[], "
                                   "%s::text[]) AS v(c, s) ON e.customer_id = v.c AND e.subject = v.s",
                                   ([p[0] for p in part], [p[1] for p in part]))
            else:
                values = ", ".join("(?, ?)" for _ in part)
                rows = cursor.rows(f"SELECT e.customer_id, e.subject, e.id FROM (VALUES {values}) AS v "
                                   "JOIN events e ON e.customer_id = v.column1 AND e.subject = v.column2",
                                   [value for pair in part for value in pair])
            found.update({(customer, subject): event_id for customer, subject, event_id in rows})
    return found


def lock_and_read_customers(session: Session, ids: Sequence[str]) -> dict[str, tuple[tuple, list[tuple]]]:
    """The customers (those that exist), locked in id order: id -> ((`CUSTOMERS_LOCKED`'s customer
    columns), [(contract id, monthly value, term, start, renewals, status), ...] in contract-id order,
    as `contract_snapshots` reads them)."""
    session.flush()
    found: dict[str, tuple[tuple, list[tuple]]] = {}
    with _Cursor(session) as cursor:
        lock = " FOR UPDATE OF c" if cursor.postgres else ""  # SQLite's writer holds the database
        for part in _chunks(sorted(set(ids))):
            in_ids, parameters = cursor.in_list(part)
            for row in cursor.rows(CUSTOMERS_LOCKED.format(in_ids=in_ids) + lock, parameters):
                customer = found.get(row[0])
                if customer is None:
                    customer = found[row[0]] = ((*row[:2], _day(row[2]), *row[3:9]), [])
                if row[9] is not None:
                    customer[1].append((*row[9:12], _day(row[12]), *row[13:]))
    return found


def given_awards(session: Session, customer_ids: Sequence[str], rule_ids: Sequence[str]) -> set[tuple[str, str, str]]:
    """(customer, rule, once key) of the awards these customers already have from these rules."""
    if not rule_ids:
        return set()
    given: set[tuple[str, str, str]] = set()
    with _Cursor(session) as cursor:
        in_rules, rule_parameters = cursor.in_list(sorted(set(rule_ids)))
        for part in _chunks(sorted(set(customer_ids))):
            in_ids, parameters = cursor.in_list(part)
            given.update(cursor.rows(GIVEN.format(in_ids=in_ids, in_rules=in_rules), parameters + rule_parameters))
    return given


def points_issued_by_customer(session: Session, programme_id: str, first: date | None, last: date | None,
                              customer_ids: Sequence[str]) -> dict[str, int]:
    """Points the programme's awards (not rejected) gave each of these customers in the period: caps."""
    issued: dict[str, int] = {}
    with _Cursor(session) as cursor:
        period = "" if first is None else f" AND awarded_on >= {cursor.mark} AND awarded_on <= {cursor.mark}"
        dates = [] if first is None else [first, last] if cursor.postgres else [stored_date(first), stored_date(last)]
        for part in _chunks(sorted(set(customer_ids))):
            in_ids, parameters = cursor.in_list(part)
            statement = ISSUED.format(mark=cursor.mark, in_ids=in_ids, period=period)
            issued.update({customer: int(points or 0)
                           for customer, points in cursor.rows(statement, [programme_id, *parameters, *dates])})
    return issued


def claim_events(session: Session, rows: Sequence[tuple]) -> int:
    """Insert event rows (`EVENT_COLUMNS`, the result as JSON text, the snapshot as a dict) unless their
    id or their (customer, subject) is taken: how many were inserted."""
    if not rows:
        return 0
    stamps: dict[datetime, str] = {}  # a batch has few distinct times: each formatted once

    def stamp(moment: datetime) -> str:
        text = stamps.get(moment)
        if text is None:
            text = stamps[moment] = stored_time(session, moment)
        return text

    values = [(i, t, h, c, s, stamp(occurred), stamp(at), result, json.dumps(snapshot))
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
