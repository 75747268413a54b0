"""The nightly run's next scans, read while the current chunk's awards are written.

A rule phase alternates between a scan (which customers of the next chunk could get something)
and writing that chunk's awards. Scans are reads: on read transactions of their own, on two
threads, the next `DEPTH` chunks are scanned while the writer works (SQLite's WAL lets readers and
a writer run at once, and the driver lets go of the interpreter while the database works;
PostgreSQL runs each in its own backend). A night then costs about the larger of writing and
scanning, and scanning is shared by both cores, instead of their sum.

What this changes: a chunk is scanned on a snapshot taken while earlier chunks are being written.
Those write only their own customers (and programme totals, which the writer checks itself), so
nothing they write changes what the scan finds; an event that changes one of the chunk's customers
in between is not seen, exactly as if it had arrived a moment after that customer was judged. A
scan is used only by the chunk that starts where it was scanned from (another run may have moved
the phase on since), and UNIQUE(customer, rule, once key) still guards every award.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy.exc import SQLAlchemyError

from loyalty.store import Store
from loyalty.store.daily_awards import without_jit

log = logging.getLogger(__name__)

DEPTH = 2
"""Chunks scanned ahead of the writer at once, one per thread: two cores, two scans."""

Chunk = tuple[int, str | None, list[tuple]]
"""`NightRules.next_chunk`'s answer: customers in the chunk, the last one's id, rows with candidates."""


class ScanAhead:
    """Scans of the chunks after the writer's, `DEPTH` at a time; a context manager that waits for
    them on the way out."""

    def __init__(self, store: Store, rules, depth: int = DEPTH):
        self._store, self._rules, self._depth = store, rules, depth
        self._pool = ThreadPoolExecutor(depth, thread_name_prefix="night-scan")
        self._guard = threading.Lock()
        self._pending: dict[str | None, Future[Chunk]] = {}
        """Scans under way or done, by the id they start after."""
        self._frontier: str | None = None
        self._exhausted = False
        self._closed = False

    @staticmethod
    def possible(store: Store) -> bool:
        """A second connection sees the same database (not so for an in-memory SQLite database)."""
        return store.engine.url.database not in (None, "", ":memory:") or store.dialect != "sqlite"

    def take(self, after: str | None) -> Chunk | None:
        """The scan of the chunk after `after` (waiting for it if need be), the next ones started.

        Asking from anywhere but where the last chunk ended starts the scans over from there (the
        phase moved on elsewhere). None only when the scan failed: the caller scans itself."""
        with self._guard:
            if after not in self._pending:
                self._pending.clear()
                self._frontier, self._exhausted = after, False
                self._fill()
            future = self._pending.pop(after)
            self._fill()
        try:
            return future.result()
        except SQLAlchemyError:
            log.warning("a scan ahead failed; the chunk scans again in its own transaction", exc_info=True)
            return None

    def _fill(self) -> None:
        """Under the guard: keep `DEPTH` scans going, each after the last one's chunk."""
        while not self._closed and not self._exhausted and len(self._pending) < self._depth:
            after = self._frontier
            with self._store.reading() as session:
                count, upto = self._rules.chunk_after(session.connection(), after)
            if not count:
                self._exhausted = True
                self._pending[after] = _done((0, None, []))
                return
            self._pending[after] = self._pool.submit(self._scan, after, count, upto)
            self._frontier = upto

    def _scan(self, after: str | None, count: int, upto: str) -> Chunk:
        with self._store.reading() as session:
            without_jit(session)
            return count, upto, self._rules.rows_between(session.connection(), after, upto)

    def __enter__(self) -> ScanAhead:
        return self

    def __exit__(self, *_exc) -> None:
        with self._guard:
            self._closed = True
            self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _done(chunk: Chunk) -> Future[Chunk]:
    future: Future[Chunk] = Future()
    future.set_result(chunk)
    return future
