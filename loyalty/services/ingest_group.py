"""Single events that arrive together share one transaction: group commit for `ingest`.

Each transaction has costs that do not depend on what it writes: on a SQLite file the writer lock,
BEGIN and COMMIT, and a page cache that another process's commit emptied; on PostgreSQL a durable
commit. When billing sends events one by one from several connections, a server thread would pay
them for every event, and SQLite's one writer makes every other thread wait meanwhile.

So the threads of one process ingest through an `IngestGroups`: the first thread with an event
becomes the leader and runs every event waiting at that moment as one group; the threads whose
events it carries wait for their own answer. A group of one runs `ingest`'s own path; a larger group
runs `ingest_many`'s set-based path (decision 20), where every event is still all or nothing and
answered as `ingest` one after the other would answer it. When the leader is done it hands the lead
to the first thread that arrived meanwhile, so nobody serves others for longer than one group.

What changes for an event is only its `received_at` in a group of several: one moment, the latest
arrival in the group, is written for all of them (`ingest_many` records one per transaction). It is
never earlier than an event's own arrival and later by at most the wait for the group before.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loyalty.engine.decide import CompiledRuleset, compile_ruleset
from loyalty.engine.model import Ruleset
from loyalty.errors import LoyaltyError
from loyalty.services.event_check import checked
from loyalty.services.ingest import MAX_BATCH, ingest_loaded
from loyalty.services.ingest_batch import ingest_loaded_batch
from loyalty.services.ingest_result import IngestResult
from loyalty.store import Store


@dataclass(eq=False)
class _Waiting:
    """One thread's event, and later its answer (or the lead, handed over by the previous leader)."""

    compiled: CompiledRuleset
    event: dict[str, Any]
    body_hash: str
    received_at: datetime
    done: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    outcome: IngestResult | BaseException | None = None

    def answer(self) -> IngestResult:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        assert self.outcome is not None, "an event's group ended without an answer for it"
        return self.outcome


class IngestGroups:
    """`ingest` for many threads of one process, events that arrive together committed together."""

    def __init__(self, store: Store, largest: int = MAX_BATCH):
        self.store = store
        self.largest = largest
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._leading = False  # a thread is running a group; while False the queue is empty
        self.groups = 0
        self.events = 0
        """Groups run and events they carried: the mean group size shows what the grouping buys."""

    @property
    def waiting(self) -> int:
        """Events queued behind the group being run."""
        with self._lock:
            return len(self._queue)

    def ingest(self, ruleset: Ruleset | CompiledRuleset, event: Any, received_at: datetime) -> IngestResult:
        """What `ingest(store, ruleset, event, received_at)` answers or raises, sharing a transaction
        with the events other threads send meanwhile."""
        if received_at.tzinfo is None:
            raise ValueError("received_at must be an aware datetime")
        waiting = _Waiting(compile_ruleset(ruleset), *checked(event), received_at)
        with self._lock:
            self._queue.append(waiting)
            leads = not self._leading
            self._leading = True
        if not leads:
            waiting.done.wait()
            if not waiting.leads:
                return waiting.answer()
        self._lead()
        return waiting.answer()

    def _lead(self) -> None:
        """Run the group at the head of the queue (the leader's own event first), answer it, hand over."""
        with self._lock:
            compiled = self._queue[0].compiled  # a group is decided by one ruleset
            group = [w for w in self._queue[:self.largest] if w.compiled is compiled]
            self._queue = [w for w in self._queue if w not in group]  # _Waiting compares by identity
            self.groups += 1
            self.events += len(group)
        try:
            outcomes = self._run(compiled, group)
        except BaseException as error:  # the database failed: every event of the group is unanswered
            outcomes = [error] * len(group)
        with self._lock:
            successor = self._queue[0] if self._queue else None
            if successor is None:
                self._leading = False
            else:
                successor.leads = True
        for waiting, outcome in zip(group, outcomes):
            waiting.outcome = outcome
            waiting.done.set()
        if successor is not None:
            successor.done.set()

    def _run(self, compiled: CompiledRuleset, group: list[_Waiting]) -> list[IngestResult | BaseException]:
        if len(group) == 1:
            only = group[0]
            try:
                return [ingest_loaded(self.store, compiled, only.event, only.body_hash, only.received_at)]
            except LoyaltyError as refusal:
                return [refusal]
        received_at = max(w.received_at for w in group)
        return ingest_loaded_batch(self.store, compiled, [(w.event, w.body_hash) for w in group], received_at)
