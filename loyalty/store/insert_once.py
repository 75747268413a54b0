"""`INSERT ... ON CONFLICT DO NOTHING` on both databases: the way to do a thing exactly once.

A unique key decides who was first, inside the database, so two concurrent deliveries cannot
both pass a read-then-write check. On PostgreSQL the second insert waits for the first
transaction and then does nothing (or inserts, if the first rolled back).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping, Sequence

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loyalty.store.base import Base
from loyalty.store.driver import DriverStatement

DIALECT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_once(
    session: Session, table: type[Base], values: Mapping[str, Any], key: Sequence[str] | None
) -> Any | None:
    """Insert the row unless one with the same `key` columns exists: its primary key, or None.

    `key=None` yields to a row clashing on any unique constraint of the table.

    Core at driver level (`DriverStatement`), not the ORM, one statement per table and key built once:
    building the statement and adding the row to the session cost more than running it.
    """
    statement = _statement(session.get_bind().dialect.name, table, tuple(key) if key is not None else None)
    session.flush()  # rows this one may refer to (a new customer) must be in the database first
    inserted = statement.execute(session, values)
    return inserted[0][0] if inserted else None


@lru_cache(maxsize=64)
def _statement(dialect: str, table: type[Base], key: tuple[str, ...] | None) -> DriverStatement:
    core_table = table.__table__
    return DriverStatement(
        DIALECT_INSERTS[dialect](core_table)
        .on_conflict_do_nothing(index_elements=list(key) if key is not None else None)
        .returning(core_table.primary_key.columns.values()[0])
    )
