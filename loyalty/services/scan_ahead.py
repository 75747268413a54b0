"""The nightly run's next scan, read while the current chunk's awards are written.

A rule phase alternates between a scan (which customers of the next chunk could get something)
and writing that chunk's awards. The scan is a read: on its own read transaction, in a second
thread, it runs while the writer works (SQLite's WAL lets a reader and a writer run at once, and
the driver lets go of the interpreter while the database works; PostgreSQL runs it in a second
backend), so a night costs nearly the larger of the two instead of their sum.

What this changes: chunk k+1 is scanned on a snapshot taken while chunk k is being written. Chunk k
writes only its own customers (and programme totals, which the writer checks itself), so nothing
it writes changes what the scan finds; an event that changes one of chunk k+1's customers in
between is not seen, exactly as if it had arrived a moment after that customer was judged. A scan
is used only by the chunk that starts where it was scanned from (another run may have moved the
phase on since), and UNIQUE(customer, rule, once key) still guards every award.
"""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy.exc import SQLAlchemyError

from loyalty.store import Store
from loyalty.store.daily_awards import without_jit

log = logging.getLogger(__name__)

Chunk = tuple[int, str | None, list[tuple]]
"""`NightRules.next_chunk`'s answer: customers in the chunk, the last one's id, rows with candidates."""


class ScanAhead:
    """One scan at a time, ahead of the writer; a context manager that waits for it on the way out."""

    def __init__(self, store: Store, rules):
        self._store, self._rules = store, rules
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="night-scan")
        self._pending: tuple[str | None, Future[Chunk]] | None = None

    @staticmethod
    def possible(store: Store) -> bool:
        """A second connection sees the same database (not so for an in-memory SQLite database)."""
        return store.engine.url.database not in (None, "", ":memory:") or store.dialect != "sqlite"

    def start(self, after: str | None) -> None:
        """Scan the chunk after `after` in the background."""
        self._pending = (after, self._pool.submit(self._scan, after))

    def take(self, after: str | None) -> Chunk | None:
        """The background scan from `after`, or None when there is none (the caller scans itself)."""
        pending, self._pending = self._pending, None
        if pending is None or pending[0] != after:
            return None
        try:
            return pending[1].result()
        except SQLAlchemyError:
            log.warning("the scan ahead failed; the chunk scans again in its own transaction", exc_info=True)
            return None

    def _scan(self, after: str | None) -> Chunk:
        with self._store.reading() as session:
            without_jit(session)
            return self._rules.next_chunk(session.connection(), after)

    def __enter__(self) -> ScanAhead:
        return self

    def __exit__(self, *_exc) -> None:
        self._pending = None
        self._pool.shutdown(wait=True, cancel_futures=True)
