"""The recent nights as an operator checks them in the morning: which finished, which did not, what each gave.

`run-daily` prints a night's summary once, to whoever reads cron's mail. The progress rows it
commits with every chunk (`loyalty.store.daily_runs`) say the same afterwards, for any night, so
this report reads them rather than a log: a night is finished when its last phase is; started but
not finished when some phase has a row (killed, failed on a lost database, or running now);
missed when nothing of it ran although the engine had run an earlier night. What happens next to
an unfinished or missed night is what `nights_due` decides: tonight's `run-daily` catches it up
when it is recent, a person runs it with `--date` when it is older (decision 34).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from loyalty.services.daily import PHASES
from loyalty.services.nights_due import CATCH_UP_NIGHTS, LAST_PHASE, NightsDue, due_after
from loyalty.store import Store
from loyalty.store import daily_runs as runs
from loyalty.store.daily_runs import PhaseProgress

FINISHED, UNFINISHED, MISSED, DUE, BEFORE_FIRST = "finished", "unfinished", "missed", "due", "before_first_night"
STATES = (FINISHED, UNFINISHED, MISSED, DUE, BEFORE_FIRST)
"""`due`: today's night, not started yet (cron runs it); `before_first_night`: a date before the
engine first finished a night, when nothing was expected to run."""
AUTOMATIC, BY_HAND = "automatic", "by_hand"
MAX_DAYS = 366


@dataclass(frozen=True)
class NightStatus:
    """One local date's night: its state, what the next `run-daily` does about it, and its figures."""

    day: date
    state: str
    catch_up: str | None
    """For an unfinished or missed night: `automatic` (the next `run-daily` runs it first) or
    `by_hand` (older than the catch-up window: `run-daily --date`); None otherwise."""
    phases: list[PhaseProgress] = field(default_factory=list)
    """The phases that have a row, in the order they run."""

    @property
    def needs_attention(self) -> bool:
        """Unfinished, missed, or today's not started: the night of a date runs just after its local
        midnight, so by the time anyone looks, a `due` night means cron did not run it."""
        return self.state in (UNFINISHED, MISSED, DUE)

    def moved(self, phase: str) -> int:
        return sum(p.moved for p in self.phases if p.phase == phase)

    @property
    def anniversaries(self) -> int:
        return sum(p.customers for p in self.phases if p.phase == "anniversaries")

    @property
    def awards(self) -> int:
        return sum(p.awards for p in self.phases)

    @property
    def points(self) -> int:
        return sum(p.points for p in self.phases)

    @property
    def tier_changes(self) -> int:
        return self.moved("anniversaries") + self.moved("tiers")

    @property
    def phases_finished(self) -> list[str]:
        return [p.phase for p in self.phases if p.finished]


@dataclass(frozen=True)
class NightsReport:
    today: date
    nights: list[NightStatus]
    """Newest first: today's, then each day before it."""
    catch_up_days: int

    @property
    def needing_attention(self) -> list[NightStatus]:
        return [night for night in self.nights if night.needs_attention]


def recent_nights(store: Store, today: date, days: int = 14, catch_up: int = CATCH_UP_NIGHTS) -> NightsReport:
    """The `days` nights up to and including `today`'s (a local date), newest first."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1 to {MAX_DAYS}, not {days}")
    first = today - timedelta(days=days - 1)
    progress, finished = store.read(lambda session: (runs.nights_run(session, first, today),
                                                     runs.finished_nights(session, LAST_PHASE)))
    recorded: dict[date, list[PhaseProgress]] = {}
    for phase in progress:
        recorded.setdefault(phase.day, []).append(phase)
    due = due_after(finished, today, catch_up)
    first_finished = finished[0] if finished else None
    nights = []
    for n in range(days):
        day = today - timedelta(days=n)
        phases = sorted(recorded.get(day, []), key=lambda p: PHASES.index(p.phase))
        state = _state(day, today, phases, first_finished)
        nights.append(NightStatus(day, state, _catch_up(day, state, due), phases))
    return NightsReport(today, nights, catch_up)


def _state(day: date, today: date, phases: list[PhaseProgress], first_finished: date | None) -> str:
    if any(p.phase == LAST_PHASE and p.finished for p in phases):
        return FINISHED
    if phases:
        return UNFINISHED
    if day == today:
        return DUE
    if first_finished is None or day < first_finished:
        return BEFORE_FIRST
    return MISSED


def _catch_up(day: date, state: str, due: NightsDue) -> str | None:
    """Who finishes an unfinished or missed night: the next run if it is due, else a person (the run
    goes back neither past its window nor before the first night that finished)."""
    if state not in (UNFINISHED, MISSED):
        return None
    return AUTOMATIC if day in due.nights else BY_HAND
