"""A SQLite file's WAL checkpoints during a bulk run: beside the run's commits, not inside them."""
from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import text

from loyalty.store import Store
from loyalty.store.session import SQLITE_WAL_AUTOCHECKPOINT_PAGES


@pytest.fixture
def file_store(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    with store.transaction() as session:
        session.execute(text("CREATE TABLE t (n INTEGER, filler TEXT)"))
    yield store
    store.dispose()


def _automatic_pages_seen_by_a_write(store: Store) -> int:
    with store.transaction() as session:
        session.execute(text("INSERT INTO t VALUES (0, '')"))
        return session.execute(text("PRAGMA wal_autocheckpoint")).scalar_one()


def _write_chunks(store: Store, chunks: int) -> None:
    for chunk in range(chunks):
        with store.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (:n, :filler)"),
                            [{"n": chunk * 1000 + i, "filler": "x" * 500} for i in range(1000)])


def _wal_frames(path: str) -> tuple[int, int]:
    """(frames in the WAL, frames of it already copied back), as a passive checkpoint reports them."""
    connection = sqlite3.connect(path)
    try:
        _busy, log, checkpointed = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return log, checkpointed
    finally:
        connection.close()


def test_in_the_background_mode_commits_leave_the_wal_to_a_thread_that_copies_it_all_back(file_store):
    checkpoints = file_store.engine.loyalty_checkpoints
    assert _automatic_pages_seen_by_a_write(file_store) == SQLITE_WAL_AUTOCHECKPOINT_PAGES
    with file_store.checkpoints_in_background():
        assert _automatic_pages_seen_by_a_write(file_store) == 0  # no checkpoint inside COMMIT
        _write_chunks(file_store, 5)
    assert checkpoints.done >= 1  # the thread's, the last of them when the block ended
    with file_store.reading() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 5_002
    log, checkpointed = _wal_frames(file_store.engine.url.database)
    assert log == checkpointed > 0
    assert _automatic_pages_seen_by_a_write(file_store) == SQLITE_WAL_AUTOCHECKPOINT_PAGES  # back on


def test_runs_at_once_share_one_thread_which_ends_with_the_last(file_store):
    inside, leave = threading.Barrier(3, timeout=10), threading.Event()

    def run() -> None:
        with file_store.checkpoints_in_background():
            _write_chunks(file_store, 2)
            inside.wait()
            leave.wait(timeout=10)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait()  # both runs are in the mode
    assert len(_checkpoint_threads()) == 1
    leave.set()
    for thread in threads:
        thread.join()
    assert _checkpoint_threads() == []
    with file_store.reading() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 4_000


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sqlite-checkpoints"]


def test_an_in_memory_database_has_no_wal_and_the_mode_changes_nothing():
    memory = Store("sqlite://")
    with memory.checkpoints_in_background():
        assert _checkpoint_threads() == []
    memory.dispose()
