"""A PostgreSQL connection the server dropped while it sat in the pool costs the work nothing.

Connections are not pinged on every checkout (0.22 ms a transaction): one idle for a while is
pinged and replaced, and one that fails on its first statement makes `Store.run` start the work
again on a new connection, before anything was committed.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from daily_support import SETTLING_ONLY
from ledger_helpers import add_customer
from lost_connection import only_pooled_connection, terminate
from loyalty.services.daily import run_daily
from loyalty.services.demo import generate_demo
from loyalty.store import Store, daily_runs as runs, session as store_session
from loyalty.store.tables import Customer

NIGHT = date(2026, 11, 25)


def _rename(store: Store, name: str, runs: list | None = None) -> int:
    """Rename customer c1 in one unit of work; the server process that did it."""
    def work(session) -> int:
        (runs if runs is not None else []).append(1)
        session.get(Customer, "c1").name = name
        return session.scalar(select(func.pg_backend_pid()))
    return store.run(work)


def test_a_connection_lost_just_after_use_fails_once_and_the_work_runs_again(postgresql_store):
    postgresql_store.engine.dispose()  # one connection in the pool: the one the server drops
    add_customer(postgresql_store)
    first = _rename(postgresql_store, "Công ty TNHH An Phát")
    terminate(postgresql_store, first)

    runs: list = []
    second = _rename(postgresql_store, "Công ty TNHH An Phát Lộc", runs)

    assert second != first and len(runs) == 2
    with postgresql_store.reading() as session:
        assert session.get(Customer, "c1").name == "Công ty TNHH An Phát Lộc"


def test_a_connection_lost_while_idle_is_pinged_and_replaced_before_the_work(postgresql_store, monkeypatch):
    postgresql_store.engine.dispose()
    add_customer(postgresql_store)
    first = _rename(postgresql_store, "Nhà hàng Sông Hồng")
    terminate(postgresql_store, first)
    monkeypatch.setattr(store_session, "PING_AFTER_IDLE_SECONDS", 0.0)
    runs: list = []

    assert _rename(postgresql_store, "Nhà hàng Sông Hồng 2", runs) != first
    assert len(runs) == 1  # the ping found the lost connection: the work itself never failed


def test_a_read_on_a_connection_lost_just_after_use_reads_again_on_a_new_one(postgresql_store):
    add_customer(postgresql_store)
    lost = only_pooled_connection(postgresql_store)
    terminate(postgresql_store, lost)
    runs: list = []

    def read(session) -> tuple[str, int]:
        runs.append(1)
        return session.get(Customer, "c1").name, session.scalar(select(func.pg_backend_pid()))

    name, pid = postgresql_store.read(read)

    assert name == "Công ty TNHH An Phát" and pid != lost and len(runs) == 2


def test_a_night_whose_pooled_connection_was_lost_runs_all_the_same(postgresql_store):
    generate_demo(postgresql_store, 50, 3, NIGHT)
    lost = only_pooled_connection(postgresql_store)
    terminate(postgresql_store, lost)

    summary = run_daily(postgresql_store, SETTLING_ONLY, NIGHT)

    assert summary.customers == 50 and not summary.phases_already_done
    assert [p.finished for p in postgresql_store.read(runs.nights_run)] == [True] * 5
