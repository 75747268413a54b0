"""Which nights `loyalty run-daily` runs: tonight's, and the recent ones that never finished.

A night is run by cron once, for its own date. If the machine was down at midnight, or the run was
killed or failed on a lost connection, that date's anniversaries, expiry and vesting would wait
for someone to notice and run it by hand, and until then the customers whose anniversary it was
go unthanked. So the run for today first finishes every unfinished night of the last
`CATCH_UP_NIGHTS` days, oldest first (each one resumable and idempotent, as any night is), under
the ruleset in force now. Nights before the first night the engine ever finished are not due (a new
install does not run the past); missed nights older than the window are reported, not run, since
a gap that long needs a person to decide (decision 34).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from loyalty.services.daily import PHASES
from loyalty.store import Store
from loyalty.store import daily_runs as runs

CATCH_UP_NIGHTS = 7
LAST_PHASE = PHASES[-1]
"""A night is finished when its last phase is: every phase records its end, even one with no work."""


@dataclass(frozen=True)
class NightsDue:
    """The nights to run, oldest first, ending with today's; and the older ones left for a person."""

    nights: list[date]
    left_unfinished: list[date]
    """Missed nights before the catch-up window, since the first finished night: run with `--date`."""


def nights_due(store: Store, today: date, catch_up: int = CATCH_UP_NIGHTS) -> NightsDue:
    """Today's night, after every unfinished night of the `catch_up` days before it."""
    return due_after(store.read(lambda session: runs.finished_nights(session, LAST_PHASE)), today, catch_up)


def due_after(finished: list[date], today: date, catch_up: int = CATCH_UP_NIGHTS) -> NightsDue:
    """`nights_due` given the nights that finished, oldest first."""
    if not finished:
        return NightsDue([today], [])
    done, window = set(finished), today - timedelta(days=catch_up)
    missed = [day for day in _days(finished[0] + timedelta(days=1), today) if day not in done]
    return NightsDue([day for day in missed if day >= window] + [today], [day for day in missed if day < window])


def _days(first: date, before: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((before - first).days)]
