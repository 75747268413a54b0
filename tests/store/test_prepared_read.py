"""The balance's prepared read: the ledger's own balance, one statement, SQLAlchemy's errors."""
from __future__ import annotations

import gc
import os
import sqlite3
import threading
from datetime import date

import pytest
from sqlalchemy import literal_column, select
from sqlalchemy.exc import DBAPIError, OperationalError

from ledger_helpers import add_customer
from loyalty.errors import UnknownCustomer
from loyalty.store import Store, prepared
from loyalty.store.ledger import balance
from loyalty.store.ledger.queries import held_points, summarise
from loyalty.store.prepared import PreparedRead, read_connections
from loyalty.store.schema import create_schema
from loyalty.store.tables import Customer

TODAY = date(2026, 11, 25)


def test_a_customer_without_points_holds_nothing_and_an_unknown_one_is_refused(store):
    add_customer(store, "c-1")
    held = held_points(store.engine, "c-1")
    assert (held.lots, held.status_points, held.tier) == ([], 0, None)
    with store.reading() as session:
        assert summarise("c-1", held.lots, held.status_points, TODAY) == balance(session, "c-1", TODAY)
    with pytest.raises(UnknownCustomer):
        held_points(store.engine, "nobody")


def test_a_database_that_does_not_answer_raises_sqlalchemys_operational_error(tmp_path):
    unreachable = Store(f"sqlite:///{tmp_path / 'missing' / 'loyalty.db'}")
    with pytest.raises(OperationalError):
        held_points(unreachable.engine, "c-1")


# --- the per-thread connection prepared reads run on ----------------------------------------------

def _thread_connection(store):
    held = read_connections(store.engine)._local.__dict__.get("held")
    return None if held is None else held.connection


def test_a_thread_reuses_one_connection_that_holds_no_pool_slot(store):
    add_customer(store, "c-1")
    held_points(store.engine, "c-1")
    first = _thread_connection(store)
    held_points(store.engine, "c-1")
    assert first is not None and _thread_connection(store) is first
    assert store.engine.pool.checkedout() == 0


def test_threads_do_not_share_a_connection(store):
    add_customer(store, "c-1")
    seen = []

    def read():
        held_points(store.engine, "c-1")
        seen.append(_thread_connection(store))

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    held_points(store.engine, "c-1")
    assert len({id(connection) for connection in seen + [_thread_connection(store)]}) == 3


def test_a_read_sees_what_another_connection_committed_after_the_previous_read(store):
    add_customer(store, "c-1")
    assert held_points(store.engine, "c-1").tier is None
    with store.transaction() as session:
        session.get(Customer, "c-1").tier = "gold"
    assert held_points(store.engine, "c-1").tier == "gold"


def test_a_connection_that_died_is_replaced_and_the_read_answers(store):
    add_customer(store, "c-1")
    held_points(store.engine, "c-1")
    dead = _thread_connection(store)
    dead.close()
    assert held_points(store.engine, "c-1").tier is None
    assert _thread_connection(store) is not dead


def test_after_a_failed_read_the_thread_gets_a_new_connection(store):
    add_customer(store, "c-1")
    held_points(store.engine, "c-1")
    before = _thread_connection(store)
    broken = PreparedRead(select(literal_column("no_such_column")).select_from(Customer.__table__))
    with pytest.raises(DBAPIError):
        broken.rows(store.engine, {})
    assert _thread_connection(store) is None
    assert held_points(store.engine, "c-1").tier is None
    assert _thread_connection(store) is not before


def test_a_connection_from_before_a_fork_is_left_alone_and_replaced(store, monkeypatch):
    add_customer(store, "c-1")
    held_points(store.engine, "c-1")
    parents = _thread_connection(store)
    monkeypatch.setattr(prepared, "_PID", -1)  # as a forked child sees it
    held_points(store.engine, "c-1")
    try:
        assert _thread_connection(store) is not parents
        assert parents in prepared._INHERITED  # not closed by the child
    finally:
        connections = read_connections(store.engine)
        connections._discard(connections._local.held)  # the "child's", closed while it is still the child
        monkeypatch.undo()
        prepared._INHERITED.remove(parents)
        parents.close()


def test_the_remembered_process_id_follows_a_real_fork(store):
    """Reads compare against `_PID`, not `os.getpid()`: a fork hook keeps it the child's own."""
    add_customer(store, "c-1")
    held_points(store.engine, "c-1")
    assert prepared._PID == os.getpid()
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and exits at once
        os.close(reader)
        os.write(writer, b"1" if prepared._PID == os.getpid() else b"0")
        os._exit(0)
    os.close(writer)
    try:
        assert os.read(reader, 1) == b"1"
    finally:
        os.close(reader)
        os.waitpid(child, 0)
    assert prepared._PID == os.getpid()


def test_connections_close_when_their_thread_ends_and_when_the_engine_is_disposed(tmp_path):
    own = Store(f"sqlite:///{tmp_path / 'loyalty.db'}")
    create_schema(own.engine)
    add_customer(own, "c-1")
    opened = []

    def read():
        held_points(own.engine, "c-1")
        opened.append(_thread_connection(own))

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    gc.collect()
    held_points(own.engine, "c-1")
    mine = _thread_connection(own)
    own.dispose()
    for connection in (opened[0], mine):
        with pytest.raises(sqlite3.ProgrammingError):
            connection.cursor()
    assert held_points(own.engine, "c-1").tier is None  # a new connection after dispose


def test_an_in_memory_database_keeps_the_pool(tmp_path):
    memory = Store("sqlite://")
    try:
        assert read_connections(memory.engine) is None
    finally:
        memory.dispose()
