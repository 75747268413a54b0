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

On PostgreSQL the first scans of a run are of smaller chunks (`RAMP`): the writer waits for the
first scan with nothing to hide it behind (0.6-0.9 s for 10,000 anniversaries on 1M customers), and
a sixteenth of a chunk is scanned in a fraction of that; writing a chunk takes several times as long
as scanning it, so each later scan, up to whole chunks, is done by the time the writer has written
the chunk before it. SQLite's first scan is 0.2-0.3 s, and there the two more transactions cost about
what they save (decision 39). A chunk's size changes nothing it gives.
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

RAMP = (16, 4)
"""PostgreSQL's first chunks of a run of scans are these fractions of a chunk (1/16, then 1/4); then whole ones."""

Chunk = tuple[int, str | None, list[tuple]]
"""`NightRules.next_chunk`'s answer: customers in the chunk, the last one's id, rows with candidates."""


class ScanAhead:
    """Scans of the chunks after the writer's, `DEPTH` at a time; a context manager that waits for
    them on the way out."""

    def __init__(self, store: Store, rules, depth: int = DEPTH, ramp: tuple[int, ...] | None = None):
        self._store, self._rules, self._depth = store, rules, depth
        self._ramp = (RAMP if store.dialect == "postgresql" else ()) if ramp is None else ramp
        self._pool = ThreadPoolExecutor(depth, thread_name_prefix="night-scan")
        self._guard = threading.Lock()
        self._pending: dict[str | None, Future[Chunk]] = {}
        """Scans under way or done, by the id they start after."""
        self._frontier: str | None = None
        self._started = 0
        """Scans started since the last start over: the first ones are smaller (`RAMP`)."""
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
                self._frontier, self._exhausted, self._started = after, False, 0
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
            ramp = self._ramp[self._started] if self._started < len(self._ramp) else 1
            self._started += 1
            with self._store.reading() as session:
                count, upto = self._rules.chunk_after(session.connection(), after, max(1, self._rules.chunk // ramp))
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
