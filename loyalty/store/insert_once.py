"""`INSERT ... ON CONFLICT DO NOTHING` on both databases: the way to do a thing exactly once.

A unique key decides who was first, inside the database, so two concurrent deliveries cannot
both pass a read-then-write check. On PostgreSQL the second insert waits for the first
transaction and then does nothing (or inserts, if the first rolled back).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loyalty.store.base import Base

DIALECT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_once(
    session: Session, table: type[Base], values: Mapping[str, Any], key: Sequence[str] | None
) -> Any | None:
    """Insert the row unless one with the same `key` columns exists: its primary key, or None.

    `key=None` yields to a row clashing on any unique constraint of the table.

    Core, not the ORM: the row is not added to the session, and the ORM's bulk-insert machinery
    (a third of the cost of an event) is skipped.
    """
    connection = session.connection()
    insert = DIALECT_INSERTS[connection.dialect.name]
    core_table = table.__table__
    statement = (
        insert(core_table).values(**values)
        .on_conflict_do_nothing(index_elements=list(key) if key is not None else None)
        .returning(core_table.primary_key.columns.values()[0])
    )
    session.flush()  # rows this one may refer to (a new customer) must be in the database first
    return connection.execute(statement).scalar_one_or_none()
