"""When a SQLite file's WAL is copied back into the database: after the writer lock, or beside the work.

A checkpoint copies the WAL's pages into the database file and syncs it. SQLite's automatic one
runs inside the COMMIT that fills the WAL past `wal_autocheckpoint` pages, so under the writer lock
(`loyalty.store.writer_lock`): every ~400 events all writers would wait some 50 ms for it.
`Checkpoints` instead runs a PASSIVE checkpoint every `CHECKPOINT_EVERY_COMMITS` commits of a
process, after the lock is let go; a passive checkpoint waits for no reader or writer, so writers
go on meanwhile (the automatic one stays as a backstop).

A bulk run (the nightly run, `Store.checkpoints_in_background`) writes tens of megabytes a chunk:
each of its commits filled the WAL and checkpointed inline, 1.7 s of an 8 s night on 1M customers,
with the second core idle. While such a run lasts, write transactions switch the automatic
checkpoint off on their connection, and every commit wakes a thread that checkpoints on a
connection of its own, while the run goes on with its next chunk (decision 38). The thread's
last checkpoint is part of the run: leaving the mode waits for it. A connection gets its automatic
checkpoint back at its next write transaction after the mode ends.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import contextmanager
from typing import Iterator

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_COMMITS = 400
"""2,000-6,000 WAL pages between checkpoints at an event's 5-14 pages (a 10,000- or 1M-customer
base), under the 10,000-page automatic backstop: on the 1M base each took about 30 ms, against 20 ms
every 200 commits, so the events that pay one are half as many and a page written by many events
is copied once."""


class Checkpoints:
    """The checkpoints of one SQLite file through one engine: every `every` commits after the lock,
    or, while `in_background`, after every commit on a thread of their own."""

    def __init__(self, database: str, automatic_pages: int, busy_timeout_s: float,
                 every: int = CHECKPOINT_EVERY_COMMITS):
        self.database, self.automatic_pages, self.busy_timeout_s = database, automatic_pages, busy_timeout_s
        self.every = every
        self.done = 0
        self._commits = 0  # counted without a lock: a lost increment only delays a checkpoint
        self._running = threading.Lock()
        self._background: _CheckpointThread | None = None
        self._users = 0
        self._guard = threading.Lock()
        self._automatic_off: set[int] = set()
        """ids of the DBAPI connections whose automatic checkpoint is off."""

    @contextmanager
    def in_background(self) -> Iterator[None]:
        """Checkpoint beside the caller's writes until the block ends (nested or concurrent blocks
        share one thread); the block's end waits for the last checkpoint."""
        with self._guard:
            self._users += 1
            if self._background is None:
                self._background = _CheckpointThread(self.database, self.busy_timeout_s)
                self._background.start()
        try:
            yield
        finally:
            with self._guard:
                self._users -= 1
                ending = self._background if not self._users else None
                if ending is not None:
                    self._background = None
            if ending is not None:
                ending.stop()
                self.done += ending.done

    def before_write(self, dbapi_connection) -> None:
        """At a write transaction's BEGIN: the automatic checkpoint off while in the background mode,
        back on the first time after it."""
        key, background = id(dbapi_connection), self._background is not None
        if background == (key in self._automatic_off):
            return
        pages = 0 if background else self.automatic_pages
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={pages}").close()
        with self._guard:
            (self._automatic_off.add if background else self._automatic_off.discard)(key)

    def forget(self, dbapi_connection) -> None:
        """A connection closed: its id may be reused by a new one, whose checkpoint is on."""
        if self._automatic_off:
            with self._guard:
                self._automatic_off.discard(id(dbapi_connection))

    def after_commit(self, dbapi_connection) -> None:
        """Count a commit; in the background mode wake the thread, else every `every`th commit
        checkpoint on this connection unless a thread here already is."""
        background = self._background
        if background is not None:
            background.wake()
            return
        self._commits += 1
        if self._commits % self.every or not self._running.acquire(blocking=False):
            return
        try:
            passive_checkpoint(dbapi_connection)
            self.done += 1
        finally:
            self._running.release()


def passive_checkpoint(dbapi_connection) -> bool:
    """Copy what the WAL holds back into the database, waiting for nobody; False if SQLite said busy."""
    try:
        dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
        return True
    except sqlite3.Error as error:  # another process checkpointing, say: the next one will do
        log.debug("passive WAL checkpoint skipped: %s", error)
        return False


class _CheckpointThread(threading.Thread):
    """Checkpoints on a connection of its own each time it is woken, until stopped."""

    def __init__(self, database: str, busy_timeout_s: float):
        super().__init__(name="sqlite-checkpoints", daemon=True)
        self.database, self.busy_timeout_s = database, busy_timeout_s
        self.done = 0
        self._wanted = threading.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wanted.set()

    def stop(self) -> None:
        """Checkpoint once more, for the last commits, and end."""
        self._stopping = True
        self._wanted.set()
        self.join()

    def run(self) -> None:
        try:
            connection = sqlite3.connect(self.database, timeout=self.busy_timeout_s, check_same_thread=False)
        except sqlite3.Error:  # the run goes on, its WAL copied back by the checkpoints after the mode
            log.exception("could not open %s to checkpoint it beside the run", self.database)
            return
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                stopping = self._stopping
                if passive_checkpoint(connection):
                    self.done += 1
                if stopping:
                    return
        finally:
            connection.close()
