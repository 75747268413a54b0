"""The nights report: what an operator reads in the morning about the recent nightly runs."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from loyalty.engine.loader import load_ruleset
from loyalty.services.daily import run_daily
from loyalty.services.demo import generate_demo
from loyalty.services.nights_report import (
    AUTOMATIC, BEFORE_FIRST, BY_HAND, DUE, FINISHED, MISSED, UNFINISHED, recent_nights,
)
from loyalty.store import daily_runs as runs

TODAY = date(2026, 11, 28)
AT = datetime(2026, 11, 27, 17, 0, tzinfo=timezone.utc)
SHIPPED = Path(__file__).resolve().parents[2] / "rules"


def _finished(store, *days: date, phase: str = "tiers") -> None:
    with store.transaction() as session:
        for day in days:
            runs.finish_phase(session, day, phase, AT)


def _states(report) -> dict[date, tuple[str, str | None]]:
    return {night.day: (night.state, night.catch_up) for night in report.nights}


def test_a_new_install_shows_tonight_due_and_nothing_expected_before_it(store):
    report = recent_nights(store, TODAY, days=3)
    assert [n.day for n in report.nights] == [TODAY, date(2026, 11, 27), date(2026, 11, 26)]
    assert _states(report) == {TODAY: (DUE, None), date(2026, 11, 27): (BEFORE_FIRST, None),
                               date(2026, 11, 26): (BEFORE_FIRST, None)}
    assert [n.day for n in report.needing_attention] == [TODAY]  # until cron has run it


def test_a_killed_night_and_a_missed_one_need_attention_and_say_who_runs_them(store):
    _finished(store, date(2026, 11, 10), date(2026, 11, 26), TODAY)
    _finished(store, date(2026, 11, 27), phase="anniversaries")  # killed after its anniversaries
    report = recent_nights(store, TODAY, days=20, catch_up=7)
    states = _states(report)
    assert states[TODAY] == (FINISHED, None)
    assert states[date(2026, 11, 27)] == (UNFINISHED, AUTOMATIC)
    assert states[date(2026, 11, 26)] == (FINISHED, None)
    assert states[date(2026, 11, 25)] == (MISSED, AUTOMATIC)
    assert states[date(2026, 11, 20)] == (MISSED, BY_HAND)  # older than the catch-up window
    assert states[date(2026, 11, 10)] == (FINISHED, None)
    assert states[date(2026, 11, 9)] == (BEFORE_FIRST, None)
    killed = next(n for n in report.nights if n.day == date(2026, 11, 27))
    assert killed.phases_finished == ["anniversaries"]
    assert [n.day for n in report.needing_attention][:2] == [date(2026, 11, 27), date(2026, 11, 25)]
    assert len(report.needing_attention) == 1 + 15  # the 27th, then the 11th to the 25th


def test_a_finished_night_gives_the_figures_its_run_reported(store):
    night = date(2026, 11, 25)
    generate_demo(store, 120, 4, night)
    summary = run_daily(store, load_ruleset(SHIPPED), night)
    (status,) = [n for n in recent_nights(store, night, days=1).nights]
    assert status.state == FINISHED
    assert [p.phase for p in status.phases] == ["contracts", "anniversaries", "vesting", "expiry", "tiers"]
    assert (status.anniversaries, status.awards, status.points, status.tier_changes) == (
        summary.anniversaries, summary.awards, summary.points, summary.tier_changes)
    assert (status.moved("contracts"), status.moved("vesting"), status.moved("expiry")) == (
        summary.contracts_ended, summary.vested, summary.expired)
    assert summary.awards > 0 and summary.anniversaries > 0


@pytest.mark.parametrize("days", [0, 367])
def test_a_window_out_of_bounds_is_refused(store, days):
    with pytest.raises(ValueError, match="days must be 1 to 366"):
        recent_nights(store, TODAY, days=days)
