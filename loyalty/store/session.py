"""Engines and the unit of work: one transaction per use case, retried when the database asks.

SQLite: WAL, a busy timeout, foreign keys on, and write transactions that begin IMMEDIATE, because
pysqlite's deferred BEGIN lets two writers read the same balance and both spend it (and SQLite
ignores FOR UPDATE). Read-only units of work begin DEFERRED so readers never queue behind writers.
On a SQLite file, writers first queue on a lock file beside it (`loyalty.store.writer_lock`), so
they wake as soon as the writer before them commits instead of sleeping in SQLite's busy handler.
PostgreSQL: READ COMMITTED with explicit row locks taken by the ledger in a fixed order; a
serialization failure or deadlock rolls back and the whole unit of work runs again.
"""
from __future__ import annotations

import os
import random
import sqlite3
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from loyalty.store import explicit_begin, with_commit
from loyalty.store.checkpoints import Checkpoints
from loyalty.store.writer_lock import WriterLock, lock_path_for

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
RETRYABLE_PG_CODES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
PING_AFTER_IDLE_SECONDS = 1.0
IDLE_SINCE = "loyalty_idle_since"


def default_database_url() -> str:
    """`LOYALTY_DATABASE_URL`, or a SQLite file `loyalty.db` in the working directory."""
    return os.environ.get("LOYALTY_DATABASE_URL") or "sqlite:///loyalty.db"


def make_engine(url: str, **kwargs) -> Engine:
    """An engine configured for the engine's transaction discipline on either database."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    with_commit.install(engine)
    explicit_begin.install(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ask the server whether a connection still works when it has been idle a while, not every time.

    `pool_pre_ping` pinged on every checkout: 0.22 ms of each PostgreSQL transaction, about a tenth
    of a single event's (decision 25). A connection back from use within `PING_AFTER_IDLE_SECONDS`
    is handed out as it is; if the server went away meanwhile, its first statement fails, SQLAlchemy
    throws the pool's connections away, and `Store.run` runs the work again on a new one.
    """
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        since = record.info.get(IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:  # the pool replaces it and tries again
            raise DisconnectionError(f"the connection was lost while idle: {error}") from error


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # The commit that fills the WAL copies it back and fsyncs: at SQLite's default of 1,000
            # pages, 8 ms every ~40 events, which set ingest's p99 (6-7 ms, 1.8 without); at 10,000 pages
            # (40 MB of WAL at most) it is every ~400 events (about 50 ms) and hot pages are copied once.
            cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    path = lock_path_for(engine.url.database)
    writers = WriterLock(path) if path else None
    checkpoints = engine.loyalty_checkpoints = Checkpoints(
        engine.url.database, SQLITE_WAL_AUTOCHECKPOINT_PAGES, SQLITE_BUSY_TIMEOUT_MS / 1000) if path else None

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if connection.get_execution_options().get("loyalty_read_only", False):
            _begin(dbapi_connection, "BEGIN")
            return
        if writers is None:
            _begin(dbapi_connection, "BEGIN IMMEDIATE")
            return
        checkpoints.before_write(dbapi_connection)
        writers.acquire(dbapi_connection)
        try:
            _begin(dbapi_connection, "BEGIN IMMEDIATE")
        except BaseException:
            writers.release(dbapi_connection)
            raise

    if writers is not None:
        _release_after_transactions(engine, writers, checkpoints)


def _begin(dbapi_connection, statement: str) -> None:
    """BEGIN on the DBAPI connection itself: SQLAlchemy's execution path cost more than the statement
    (every unit of work runs it). Errors are raised as SQLAlchemy's, so `Store.run` retries them."""
    try:
        dbapi_connection.execute(statement).close()
    except sqlite3.Error as error:
        raise DBAPIError.instance(statement, (), error, sqlite3.Error) from error


def _release_after_transactions(engine: Engine, writers: WriterLock, checkpoints: Checkpoints) -> None:
    """Let go of the writer lock right after COMMIT or ROLLBACK, and whenever a connection leaves use.

    SQLAlchemy's `commit` and `rollback` events fire before the statement is sent, so the dialect's
    own `do_commit`/`do_rollback` (this engine's instance only) are wrapped to release after it. A
    commit may then run a passive WAL checkpoint, outside the lock (`Checkpoints`).
    """
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection) -> None:
        raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
        try:
            commit(dbapi_connection)
        finally:
            writers.release(raw)
        checkpoints.after_commit(raw)

    def do_rollback(dbapi_connection) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            writers.release(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback

    # a connection invalidated mid-transaction is closed without a ROLLBACK through the dialect
    for name in ("checkin", "invalidate", "soft_invalidate", "close", "close_detached"):
        event.listen(engine, name, lambda dbapi_connection, *_: writers.release(dbapi_connection))
    for name in ("close", "close_detached"):
        event.listen(engine, name, lambda dbapi_connection, *_: checkpoints.forget(dbapi_connection))


class Store:
    """The database, as the services use it: units of work for writing and for reading."""

    def __init__(self, url: str | None = None, **engine_kwargs):
        self.url = url or default_database_url()
        self.engine = make_engine(self.url, **engine_kwargs)
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = sessionmaker(
            self.engine.execution_options(loyalty_read_only=True), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self._writer.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only transaction that never blocks writers on SQLite."""
        with self._reader.begin() as session:
            yield session

    def run(self, work: Callable[[Session], T], attempts: int = 8) -> T:
        """Run `work` in one write transaction, again from the start if the database says to retry,
        or if the connection was lost before the commit (after it, whether it committed is unknown). A
        work that sends its own COMMIT with its last statements (`execute_together(commit=True)`) is
        run again if that round trip loses the connection, so it must be safe to: the single-event
        lane is, since its first statement claims the event, and a second run finds it claimed."""
        for attempt in range(1, attempts + 1):
            committing = False
            try:
                with self.transaction() as session:
                    result = work(session)
                    committing = True
                return result
            except (OperationalError, DBAPIError) as error:
                lost = error.connection_invalidated and not committing
                if attempt == attempts or not (lost or self._is_retryable(error)):
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    def read(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one read-only transaction, again on a new connection if the one it was given
        turned out lost (a server restart while the connection sat in the pool for less than
        `PING_AFTER_IDLE_SECONDS`, so it was not pinged): a read is always safe to run again, and
        its caller would otherwise answer "unavailable" while the database is up."""
        try:
            with self.reading() as session:
                return work(session)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        with self.reading() as session:
            return work(session)

    def _is_retryable(self, error: DBAPIError) -> bool:
        code = getattr(error.orig, "sqlstate", None)
        if code in RETRYABLE_PG_CODES:
            return True
        return self.dialect == "sqlite" and "database is locked" in str(error.orig)

    @contextmanager
    def checkpoints_in_background(self) -> Iterator[None]:
        """For a run of large write transactions (the night): a SQLite file's WAL is checkpointed on
        a thread beside them rather than inside their commits (`loyalty.store.checkpoints`);
        elsewhere nothing changes."""
        checkpoints: Checkpoints | None = getattr(self.engine, "loyalty_checkpoints", None)
        if checkpoints is None:
            yield
            return
        with checkpoints.in_background():
            yield

    def dispose(self) -> None:
        self.engine.dispose()
