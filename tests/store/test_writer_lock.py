"""SQLite writers queue on a lock file beside the database, across processes, and let go at once."""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from loyalty.store import Store
from loyalty.store.writer_lock import LOCK_SUFFIX, WriterLock, lock_path_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def file_store(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    with store.transaction() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    yield store
    store.dispose()


def lock_is_free(path: str) -> bool:
    """Whether another open file description could take the lock now."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_write_transaction_holds_the_lock_from_begin_to_commit_and_to_rollback(file_store, tmp_path):
    path = str(tmp_path / "w.db") + LOCK_SUFFIX
    assert lock_path_for(str(tmp_path / "w.db")) == path
    with file_store.transaction() as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        assert not lock_is_free(path)
    assert lock_is_free(path)
    with pytest.raises(RuntimeError):
        with file_store.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
            assert not lock_is_free(path)
            raise RuntimeError("roll back")
    assert lock_is_free(path)
    with file_store.engine.begin() as connection:  # every write transaction, not only the Store's
        connection.execute(text("INSERT INTO t VALUES (3)"))
        assert not lock_is_free(path)
    assert lock_is_free(path)


def test_readers_never_take_the_lock(file_store, tmp_path):
    path = str(tmp_path / "w.db") + LOCK_SUFFIX
    with file_store.transaction() as writer:
        writer.execute(text("INSERT INTO t VALUES (1)"))
        with file_store.reading() as reader:  # WAL: a reader does not wait for the writer
            assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    assert lock_is_free(path)


WRITER = """
import sys, time
from sqlalchemy import text
from loyalty.store import Store
store = Store(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
with store.transaction() as session:
    session.execute(text("INSERT INTO t VALUES (9)"))
print(time.time(), flush=True)
"""


def test_a_writer_in_another_process_waits_for_the_lock_and_goes_as_soon_as_it_is_let_go(file_store, tmp_path):
    path = str(tmp_path / "w.db") + LOCK_SUFFIX
    with subprocess.Popen([sys.executable, "-c", WRITER, file_store.url], cwd=ROOT, text=True,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          env=os.environ | {"PYTHONPATH": str(ROOT)}) as child:
        assert child.stdout.readline().strip() == "ready"
        fd = os.open(path, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)  # SQLite itself is free: only the lock file holds the child back
        child.stdin.write("go\n")
        child.stdin.flush()
        time.sleep(0.5)
        assert child.poll() is None
        with file_store.reading() as reader:
            assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        released = time.time()
        os.close(fd)
        committed = float(child.stdout.readline())
        assert child.wait(timeout=30) == 0
    assert committed >= released
    with file_store.reading() as reader:
        assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 1


def test_threads_writing_at_once_each_commit_once_and_leave_the_lock_free(file_store, tmp_path):
    def write(n: int) -> None:
        for i in range(20):
            file_store.run(lambda session: session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n * 100 + i}))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with file_store.reading() as reader:
        assert reader.execute(text("SELECT count(DISTINCT n) FROM t")).scalar_one() == 160
    assert lock_is_free(str(tmp_path / "w.db") + LOCK_SUFFIX)


def test_the_wal_is_checkpointed_every_so_many_commits_after_the_lock_is_let_go(file_store, tmp_path):
    checkpoints = file_store.engine.loyalty_checkpoints
    checkpoints.every = 10
    lock_free_at_checkpoint = []
    after_commit = checkpoints.after_commit

    def watched(dbapi_connection):
        if (checkpoints._commits + 1) % checkpoints.every == 0:
            lock_free_at_checkpoint.append(lock_is_free(str(tmp_path / "w.db") + LOCK_SUFFIX))
        after_commit(dbapi_connection)

    checkpoints.after_commit = watched
    for n in range(25):
        file_store.run(lambda session: session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n}))
    assert checkpoints.done == 2
    assert lock_free_at_checkpoint == [True, True]
    assert lock_is_free(str(tmp_path / "w.db") + LOCK_SUFFIX)


class Connection:
    """Stands for a DBAPI connection: the lock only needs its identity."""


def test_a_thread_holding_the_lock_does_not_wait_for_itself_on_a_second_connection(tmp_path):
    lock = WriterLock(str(tmp_path / "x.db") + LOCK_SUFFIX)
    first, second = Connection(), Connection()
    lock.acquire(first)
    lock.acquire(second)  # would wait forever if it queued behind its own thread
    assert lock.holds(first) and not lock.holds(second)
    lock.release(second)
    assert not lock_is_free(lock.path)
    lock.release(first)
    assert lock_is_free(lock.path)
    lock.release(first)  # releasing twice is harmless


def test_no_lock_file_for_an_in_memory_database():
    assert lock_path_for(":memory:") is None
    assert lock_path_for(None) is None
    assert lock_path_for("") is None
