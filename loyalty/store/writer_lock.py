"""One writer at a time on a SQLite file, queued by the kernel instead of SQLite's busy handler.

SQLite admits one writer. A second `BEGIN IMMEDIATE` does not queue: SQLite's busy handler sleeps
1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ... ms between attempts, so a writer that arrives just
after another often sleeps long after the lock came free. Under several gunicorn processes writing
events that sleep set the p99 (about 100 ms) and left the cores idle.

So every write transaction on a file database first takes `fcntl.flock(LOCK_EX)` on a file beside
it (`<database>-writer.lock`) and only then sends `BEGIN IMMEDIATE`; the lock is let go right after
COMMIT or ROLLBACK. Waiters sleep in the kernel and the next one wakes as soon as the lock is let go,
in this process or another. Read-only units of work (`BEGIN` deferred) and autocommit reads never
take it: in WAL mode readers do not wait for writers.

- Each transaction opens the lock file itself and closes it after: a new open file description per
  transaction, so two connections of one process exclude each other as two processes do, nothing is
  shared across `fork`, and a process that dies lets go of the lock with its descriptors.
- A thread that already holds the lock (a write transaction started inside another) does not wait
  for it again, which would wait for itself forever: that transaction meets SQLite's busy timeout as
  before.
- If the lock file cannot be opened (a read-only directory), the writer goes on without it: SQLite's
  own locking still keeps writers apart, only slower.
- SQLite's automatic checkpoint runs inside COMMIT, so under this lock: `loyalty.store.checkpoints`
  says when checkpoints run instead.
- A waiter waits as long as the writers before it hold the lock; SQLite's busy timeout no longer
  bounds that wait. Every holder is a transaction in progress, and a process that hangs in one
  holds SQLite's write lock too, so writers would stall behind it either way.
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading

log = logging.getLogger(__name__)

LOCK_SUFFIX = "-writer.lock"


def lock_path_for(database: str | None) -> str | None:
    """The lock file beside a SQLite database file; None for an in-memory database."""
    if database in (None, "", ":memory:") or database.startswith("file::memory:"):
        return None
    return f"{database}{LOCK_SUFFIX}"


class WriterLock:
    """The cross-process writer lock of one SQLite file, held per DBAPI connection."""

    def __init__(self, path: str):
        self.path = path
        self._held: dict[int, tuple[int, int]] = {}  # id(dbapi connection) -> (fd, thread ident)
        self._threads: dict[int, int] = {}  # thread ident -> locks it holds
        self._guard = threading.Lock()
        self._warned = False

    def acquire(self, dbapi_connection) -> None:
        """Wait for the lock on behalf of this connection (at once if its thread holds it already)."""
        key, thread = id(dbapi_connection), threading.get_ident()
        with self._guard:
            if key in self._held or self._threads.get(thread):
                return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            if not self._warned:
                self._warned = True
                log.warning("SQLite writer lock %s unavailable (%s): writers rely on the busy timeout",
                            self.path, error)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # sleeps in the kernel, GIL released
        except BaseException:
            os.close(fd)
            raise
        with self._guard:
            self._held[key] = (fd, thread)
            self._threads[thread] = self._threads.get(thread, 0) + 1

    def release(self, dbapi_connection) -> None:
        """Let go of the lock if this connection holds it; harmless otherwise."""
        if id(dbapi_connection) not in self._held:  # every pool check-in of a reader: no lock taken
            return
        with self._guard:
            entry = self._held.pop(id(dbapi_connection), None)
            if entry is None:
                return
            fd, thread = entry
            left = self._threads[thread] - 1
            if left:
                self._threads[thread] = left
            else:
                del self._threads[thread]
        os.close(fd)  # closing the only descriptor of this open file lets go of the flock

    def holds(self, dbapi_connection) -> bool:
        """Whether this connection holds the lock now (for tests)."""
        return id(dbapi_connection) in self._held
