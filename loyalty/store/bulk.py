"""Loading many rows at once, for demo data and benchmarks: no ORM object per row.

SQLite gets one `executemany` per chunk, PostgreSQL one `COPY`; both run on the connection of the
caller's unit of work, so a load is one transaction. Values must be what both drivers accept as
they are: integers, strings and `None`, with dates as ISO strings ("2024-02-29").
"""
from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy import Table
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Insert `rows` (tuples in the order of `columns`) into `table` inside the session's transaction."""
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    column_list = ", ".join(quote(table.c[name].name) for name in columns)
    target = quote(table.name)
    driver_connection = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {target} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    placeholders = ", ".join("?" for _ in columns)
    cursor = driver_connection.cursor()
    try:
        cursor.executemany(f"INSERT INTO {target} ({column_list}) VALUES ({placeholders})", rows)
    finally:
        cursor.close()
