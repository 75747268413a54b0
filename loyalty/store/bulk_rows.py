"""Bulk statements the nightly run needs beyond `bulk.insert_rows`: reserving ids, updating many rows,
and phrasings that keep the databases' planners on the right index (`one_of`, `without_index`).

Rows are written with ids chosen up front, so that children (entries, lots, grants) can name their
parents without a round trip per row: on PostgreSQL the table's own sequence hands them out; on
SQLite the writer holds the database lock (BEGIN IMMEDIATE), so the next ids after the largest are free.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Sequence

from sqlalchemy import ColumnElement, Table, any_, bindparam, literal_column, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.types import String


NEXT_IDS = text(
    "WITH s AS MATERIALIZED (SELECT CAST(CAST(pg_get_serial_sequence(:table, 'id') AS regclass) AS oid) AS o) "
    "SELECT nextval(CAST(s.o AS regclass)) FROM s, generate_series(1, :n)")
"""The table's sequence is looked up once, not for every id: `nextval(pg_get_serial_sequence(...))`
resolved its name per row, 2.5 us an id against 0.5 (a night reserves about 400,000)."""


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` new primary keys for `table`, in increasing order, that no other writer will use."""
    if count == 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return sorted(session.scalars(NEXT_IDS, {"table": table.name, "n": count}))
    # on the DBAPI cursor: a small batch asks this of seven tables, and SQLAlchemy's path cost ten
    # times the lookup (the last entry of the primary key's b-tree)
    cursor = connection.connection.driver_connection.cursor()
    try:
        largest = cursor.execute(f"SELECT max(id) FROM {connection.dialect.identifier_preparer.quote(table.name)}"
                                 ).fetchone()[0] or 0
    finally:
        cursor.close()
    return list(range(largest + 1, largest + 1 + count))


def update_rows(session: Session, table: Table, column: str, rows: Sequence[tuple[Any, Any]], *,
                add: bool = False) -> None:
    """Set (or, with `add`, increase) `column` of each row named by its `id`: rows are (id, value)."""
    if not rows:
        return
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    target, name = quote(table.name), quote(column)
    value = f"{name} + v.value" if add else "v.value"
    if connection.dialect.name == "postgresql":
        id_type, value_type = _pg_type(table, "id"), _pg_type(table, column)
        statement = (f"UPDATE {target} SET {name} = {value.replace(name, target + '.' + name)} "
                     f"FROM unnest(%s::{id_type}[], %s::{value_type}[]) AS v(id, value) WHERE {target}.id = v.id")
        with connection.connection.driver_connection.cursor() as cursor:
            cursor.execute(statement, ([r[0] for r in rows], [r[1] for r in rows]))
        return
    statement = f"UPDATE {target} SET {name} = {'{name} + ?'.format(name=name) if add else '?'} WHERE id = ?"
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.executemany(statement, [(r[1], r[0]) for r in rows])
    finally:
        cursor.close()


def without_index(column: ColumnElement[str]) -> ColumnElement[str]:
    """A text column as `column || ''`: the same values in the same order, but no index on it.

    Ordering and ranging by it keeps both databases from walking the column's index in order
    (SQLite does so to spare a sort, whatever else the WHERE has) when a few rows are to be found
    from another, selective index and then sorted: the night's review of the customers whose facts
    moved (0.2 s a chunk on 1M customers against 0.01 s), the contracts due to end."""
    return column.op("||", return_type=String)(literal_column("''"))


def one_of(session: Session, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values` for many values: on PostgreSQL `= ANY(array)`, one parameter instead of
    thousands to bind and plan (a 5,000-value IN list cost PostgreSQL more than the lookups)."""
    if session.get_bind().dialect.name == "postgresql":
        array_type = postgresql.ARRAY(column.type)
        return column == any_(bindparam(None, list(values), type_=array_type))
    return column.in_(list(values))


def _pg_type(table: Table, column: str) -> str:
    return "text" if isinstance(table.c[column].type, String) else "bigint"


def stored_time(session: Session, moment: datetime) -> str:
    """An aware time as `UTCDateTime` stores it on this database, for `insert_rows`."""
    text_ = moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    return text_ + "+00:00" if session.get_bind().dialect.name == "postgresql" else text_


def stored_date(day: date | None) -> str | None:
    """A date as `insert_rows` passes it to both drivers."""
    return day.isoformat() if day is not None else None
