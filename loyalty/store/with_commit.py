"""A unit of work's last write, sent with its COMMIT on PostgreSQL: one round trip, not two.

Over a network every statement waits for its answer. The answer an event stores for its resends is
written last, and nothing reads it back before the commit, so on PostgreSQL it is held back and sent
with COMMIT as one simple query (`UPDATE ...; COMMIT`), its values bound by psycopg's client-side
binding (`ClientCursor.mogrify`). If it fails, COMMIT is not run: the error is raised by the commit
and the transaction rolls back whole, as any failed unit of work does (decision 25). On SQLite
there is no network to save: the write runs at once.
"""
from __future__ import annotations

import weakref
from typing import Any

from psycopg import ClientCursor
from sqlalchemy import Engine
from sqlalchemy.orm import Session

_held: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Each psycopg connection's writes held back for its COMMIT, as SQL text."""


def install(engine: Engine) -> None:
    """Make this PostgreSQL engine's commit send the held writes with it, and its rollback drop them."""
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection) -> None:
        held = _held.pop(driver_of(dbapi_connection), None)
        if held:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("; ".join([*held, "COMMIT"]))
        commit(dbapi_connection)  # after COMMIT went with the writes, the driver has nothing to send

    def do_rollback(dbapi_connection) -> None:
        _held.pop(driver_of(dbapi_connection), None)
        rollback(dbapi_connection)

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback


def hold(session: Session, sql: str, arguments: Any) -> None:
    """Keep `sql` with its arguments (the driver's form) for this PostgreSQL session's COMMIT."""
    connection = session.connection().connection.driver_connection
    text = ClientCursor(connection).mogrify(sql, arguments)
    _held.setdefault(connection, []).append(text)


def holds(connection: Any) -> bool:
    """Whether writes are held for this psycopg connection's COMMIT."""
    return bool(_held.get(connection))


def driver_of(dbapi_connection: Any) -> Any:
    """The psycopg connection, of a pool's connection or of itself."""
    return getattr(dbapi_connection, "driver_connection", dbapi_connection)
