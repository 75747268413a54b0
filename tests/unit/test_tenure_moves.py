"""The start dates a night reviews for time alone hold every customer whose tenure moved."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.engine.facts import months_between
from loyalty.engine.tenure_moves import ANY_MONTH, tenure_moves

starts = st.dates(min_value=date(1995, 1, 1), max_value=date(2032, 12, 31))
nights = st.dates(min_value=date(2020, 1, 1), max_value=date(2031, 12, 31))


@settings(max_examples=600, deadline=None)
@given(since=starts, previous=nights, gap=st.integers(min_value=1, max_value=400))
def test_every_customer_whose_tenure_moved_between_two_nights_is_reviewed(since, previous, gap):
    day = previous + timedelta(days=gap)
    months = months_between(since, previous), months_between(since, day)
    if months[0] != months[1]:
        assert tenure_moves(previous, day, "months").includes(since)
    if months[0] // 12 != months[1] // 12:
        assert tenure_moves(previous, day, "years").includes(since)


def test_one_night_later_only_that_days_starts_move_in_years():
    moves = tenure_moves(date(2026, 11, 24), date(2026, 11, 25), "years")
    assert moves.starts == {(11, 25)}
    assert moves.includes(date(2019, 11, 25)) and not moves.includes(date(2019, 12, 25))


def test_on_a_months_last_day_the_later_starts_of_any_month_complete_a_month():
    moves = tenure_moves(date(2026, 4, 29), date(2026, 4, 30), "months")
    assert moves.starts == {(ANY_MONTH, 30), (ANY_MONTH, 31)}
    assert moves.includes(date(2025, 1, 31))


def test_a_customer_since_29_february_has_its_anniversary_on_28_february_of_a_common_year():
    moves = tenure_moves(date(2027, 2, 27), date(2027, 2, 28), "years")
    assert moves.includes(date(2024, 2, 29)) and not moves.includes(date(2024, 3, 1))
