"""The arithmetic of awards: formulas, expiry and vesting dates, goodwill credits, once keys."""
from __future__ import annotations

from datetime import date

import pytest
from rulebuilders import goodwill, months, points

from loyalty.engine.awards import (
    add_duration,
    add_months,
    expiry_date,
    goodwill_amount,
    needs_approval,
    once_key,
    outage_days,
    points_for,
    vesting_date,
)
from loyalty.engine.model import Duration


def test_fixed_points_are_given_whatever_the_facts():
    assert points_for(points(500), {}) == 500


def test_per_amount_points_count_whole_steps_and_stop_at_the_cap():
    formula = points(per=10_000, of="event.amount", each=2, max=2000)
    assert points_for(formula, {"event.amount": 129_999}) == 24
    assert points_for(formula, {"event.amount": 50_000_000}) == 2000


@pytest.mark.parametrize("amount", [None, -250_000])
def test_a_missing_or_negative_amount_earns_nothing(amount):
    assert points_for(points(per=10_000, of="event.amount"), {"event.amount": amount}) == 0


def test_points_expire_month_end_aware():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert expiry_date(date(2026, 3, 15), months(12)) == date(2027, 3, 15)
    assert expiry_date(date(2026, 3, 15), None) is None


def test_durations_add_years_and_months_before_days():
    assert add_duration(date(2026, 1, 31), Duration(years=1, months=1, days=1)) == date(2027, 3, 1)
    assert add_duration(date(2026, 12, 20), Duration(days=90)) == date(2027, 3, 20)


def test_pending_points_vest_after_the_cooling_off_days():
    assert vesting_date(date(2026, 12, 15), 30) == date(2027, 1, 14)
    assert vesting_date(date(2026, 12, 15), None) is None


@pytest.mark.parametrize(("hours", "days"), [(None, 0), (0, 0), (1, 1), (24, 1), (25, 2), (72, 3)])
def test_a_started_outage_day_counts_as_a_whole_day(hours, days):
    assert outage_days(hours) == days


def test_goodwill_pays_per_day_beyond_the_threshold_up_to_the_cap():
    rule = goodwill(per_day=50_000, after_days=2, max=1_000_000, approve_above=500_000)
    assert goodwill_amount(rule, 48) == 0
    assert goodwill_amount(rule, 49) == 50_000
    assert goodwill_amount(rule, 24 * 12) == 500_000
    assert goodwill_amount(rule, 24 * 100) == 1_000_000
    assert not needs_approval(rule, 500_000)
    assert needs_approval(rule, 550_000)
    assert not needs_approval(goodwill(per_day=1), 10**9)


def test_once_keys_name_the_scope_of_once():
    today = date(2026, 6, 1)
    assert once_key("customer", today, "ev-1", "k-9") == "customer"
    assert once_key("contract", today, "ev-1", "k-9") == "contract:k-9"
    assert once_key("contract", today, "ev-1", None) is None
    assert once_key("year", today, "ev-1", None) == "year:2026"
    assert once_key("event", today, "ev-1", None) == "event:ev-1"
