"""Which nights `run-daily` runs for today: tonight's, after the recent ones that never finished."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from loyalty.services.nights_due import nights_due
from loyalty.store import daily_runs as runs

TODAY = date(2026, 11, 28)
AT = datetime(2026, 11, 27, 17, 0, tzinfo=timezone.utc)


def _finished(store, *days: date, phase: str = "tiers") -> None:
    with store.transaction() as session:
        for day in days:
            runs.finish_phase(session, day, phase, AT)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_a_new_install_runs_tonight_only(store):
    due = nights_due(store, TODAY)
    assert (due.nights, due.left_unfinished) == ([TODAY], [])


def test_after_last_nights_run_tonight_is_all_that_is_due(store):
    _finished(store, date(2026, 11, 26), date(2026, 11, 27))
    assert nights_due(store, TODAY).nights == [TODAY]


def test_nights_missed_while_the_machine_was_down_run_first_oldest_first(store):
    _finished(store, date(2026, 11, 24))
    assert nights_due(store, TODAY).nights == _days(date(2026, 11, 25), TODAY)


def test_a_night_killed_halfway_is_finished_even_after_later_nights_ran(store):
    _finished(store, date(2026, 11, 24), date(2026, 11, 26), date(2026, 11, 27))
    _finished(store, date(2026, 11, 25), phase="anniversaries")  # killed before its last phase
    assert nights_due(store, TODAY).nights == [date(2026, 11, 25), TODAY]


def test_nights_older_than_the_window_are_left_for_a_person_and_named(store):
    _finished(store, date(2026, 11, 1))
    due = nights_due(store, TODAY, catch_up=7)
    assert due.nights == _days(date(2026, 11, 21), TODAY)
    assert due.left_unfinished == _days(date(2026, 11, 2), date(2026, 11, 20))
    assert nights_due(store, TODAY, catch_up=0).nights == [TODAY]
