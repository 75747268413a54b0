"""A unit of work's BEGIN sent with its first statements on PostgreSQL: one round trip, not two.

psycopg begins a transaction by itself before a connection's first statement and waits for BEGIN's
answer before sending anything else, in a pipeline too (it must learn that the transaction began):
for the single-event lane, whose work is two round trips besides, that wait was a tenth of an
event. `begin_explicitly` puts the connection in autocommit for the transaction instead, so psycopg
sends no BEGIN of its own and the caller sends BEGIN first in its own pipeline. psycopg's commit and
rollback go by the server's transaction status, not by autocommit, so the unit of work ends as any
other does; then the connection is put back as it was (autocommit cannot change inside a
transaction, hence after the end). A connection that could not be put back is closed at check-in,
never handed out in autocommit.
"""
from __future__ import annotations

import weakref
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, event

from loyalty.store.with_commit import driver_of

_explicit: weakref.WeakSet = weakref.WeakSet()
"""The psycopg connections in autocommit for a transaction begun explicitly."""


def install(engine: Engine) -> None:
    """Make this PostgreSQL engine put a connection back out of autocommit once its transaction ends."""
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection) -> None:
        try:
            commit(dbapi_connection)
        finally:
            _put_back(driver_of(dbapi_connection))

    def do_rollback(dbapi_connection) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            _put_back(driver_of(dbapi_connection))

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, _record) -> None:
        if dbapi_connection is None:
            return
        connection = driver_of(dbapi_connection)
        if connection in _explicit and not _put_back(connection):
            connection.close()  # the pool then opens a new one in its place


def begin_explicitly(connection: Any) -> bool:
    """Whether the caller sends BEGIN itself, first of its statements: True when no transaction has
    begun on this psycopg connection, which stays in autocommit until the transaction ends."""
    if connection.autocommit or connection.info.transaction_status != TransactionStatus.IDLE:
        return False
    connection.autocommit = True
    _explicit.add(connection)
    return True


def _put_back(connection: Any) -> bool:
    """Out of autocommit if it was put in for a transaction that has ended; False if it has not."""
    if connection not in _explicit:
        return True
    if connection.closed or connection.info.transaction_status != TransactionStatus.IDLE:
        return False
    connection.autocommit = False
    _explicit.discard(connection)
    return True
