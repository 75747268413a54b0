"""Marketing asks over HTTP whether the recent nights ran: GET /reports/nights."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from api_helpers import NOW, assert_problem, bearer, build_app

from loyalty.store import daily_runs as runs

YESTERDAY, TODAY = date(2026, 11, 24), date(2026, 11, 25)  # NOW is 10:00 on the 25th in Ho Chi Minh City


@pytest.fixture
def app(store):
    return build_app(store, LOYALTY_CLOCK=lambda: NOW)


def _night(store, day: date, *phases: str, awards: int = 0, points: int = 0) -> None:
    with store.transaction() as session:
        for phase in phases:
            runs.record_chunk(session, day, phase, "C9", customers=3, awards=awards, points=points)
            runs.finish_phase(session, day, phase, datetime(2026, 11, 23, 17, tzinfo=timezone.utc))


def test_last_nights_figures_and_a_killed_night_that_the_next_run_finishes(store, client, key_for):
    _night(store, date(2026, 11, 22), "contracts", "anniversaries", "vesting", "expiry", "tiers")
    _night(store, date(2026, 11, 23), "contracts", "anniversaries")  # killed after its anniversaries
    _night(store, YESTERDAY, "contracts", "anniversaries", "vesting", "expiry", "tiers", awards=2, points=150)

    response = client.get("/api/v1/reports/nights?days=5", headers=bearer(key_for("marketing")))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["today"], body["catch_up_days"], body["needing_attention"]) == (TODAY.isoformat(), 7, 2)  # the 23rd, and today's not run
    nights = {night["day"]: night for night in body["nights"]}
    assert [n["day"] for n in body["nights"]] == ["2026-11-25", "2026-11-24", "2026-11-23", "2026-11-22", "2026-11-21"]
    assert [(n["state"], n["catch_up"]) for n in body["nights"]] == [
        ("due", None), ("finished", None), ("unfinished", "automatic"), ("finished", None),
        ("before_first_night", None)]
    assert (nights["2026-11-24"]["awards"], nights["2026-11-24"]["points"]) == (10, 750)  # 2 and 150 per phase
    assert nights["2026-11-24"]["anniversaries"] == 3
    killed = nights["2026-11-23"]["phases"]
    assert [(p["phase"], p["finished"]) for p in killed] == [("contracts", True), ("anniversaries", True)]


def test_the_window_is_bounded_and_named_when_refused(client, key_for):
    response = client.get("/api/v1/reports/nights?days=400", headers=bearer(key_for("marketing")))
    assert "days" in assert_problem(response, 422)["errors"]


def test_today_is_the_local_date_where_the_customers_are(store, key_for):
    late_evening_utc = datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc)  # 01:00 on the 25th there
    client = build_app(store, LOYALTY_CLOCK=lambda: late_evening_utc).test_client()
    body = client.get("/api/v1/reports/nights?days=1", headers=bearer(key_for("marketing"))).get_json()
    assert body["today"] == TODAY.isoformat()
    assert [(n["day"], n["state"]) for n in body["nights"]] == [(TODAY.isoformat(), "due")]
