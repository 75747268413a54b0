"""The arithmetic of an award: points formulas, expiry and vesting dates, goodwill, once keys.

All integers, all dates passed in: the same rule on the same facts and date always gives the
same amounts, whichever path (event or nightly batch) asks.
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Mapping

from loyalty.engine.model import Duration, Goodwill, PointsFormula, Scalar

HOURS_PER_DAY = 24


def points_for(formula: PointsFormula | None, facts: Mapping[str, Scalar | None]) -> int:
    """Points a formula gives: fixed, or `each` per whole `per` of fact `of`, capped at `max`.

    A fact with no value, a negative value or a non-integer value gives 0: a rule never takes
    points away, and a refund (a negative invoice) earns nothing.
    """
    if formula is None:
        return 0
    if formula.fixed is not None:
        return formula.fixed
    if formula.per is None or formula.of is None or formula.per <= 0:
        return 0
    value = facts.get(formula.of)
    if value is None or isinstance(value, (bool, str)) or value < 0:
        return 0
    points = (value // formula.per) * formula.each
    return points if formula.max is None else min(points, formula.max)


def add_months(day: date, months: int) -> date:
    """The same day of month `months` later, or the month's last day if it is shorter (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_duration(day: date, duration: Duration) -> date:
    """`day` plus a calendar duration: years and months month-end aware first, then days."""
    return add_months(day, duration.years * 12 + duration.months) + timedelta(days=duration.days)


def expiry_date(today: date, expires_after: Duration | None) -> date | None:
    """The last day earned points may be spent; `None` when they never expire."""
    return None if expires_after is None else add_duration(today, expires_after)


def vesting_date(today: date, pending_days: int | None) -> date | None:
    """The day pending points become spendable; `None` when they are spendable at once."""
    return None if not pending_days else today + timedelta(days=pending_days)


def outage_days(outage_hours: int | None) -> int:
    """Whole days of an outage, a started day counting as one (25 hours are 2 days)."""
    if outage_hours is None or outage_hours <= 0:
        return 0
    return -(-outage_hours // HOURS_PER_DAY)


def goodwill_amount(goodwill: Goodwill | None, outage_hours: int | None) -> int:
    """VND credited: `per_day` for each outage day beyond `after_days`, at most `max`."""
    if goodwill is None:
        return 0
    paid_days = max(0, outage_days(outage_hours) - goodwill.after_days)
    amount = goodwill.per_day * paid_days
    return amount if goodwill.max is None else min(amount, goodwill.max)


def needs_approval(goodwill: Goodwill | None, amount: int) -> bool:
    """A goodwill credit above the rule's `approve_above` waits for marketing."""
    return goodwill is not None and goodwill.approve_above is not None and amount > goodwill.approve_above


def once_key(once_per: str, today: date, event_id: str, contract_id: str | None) -> str | None:
    """The key that makes an award happen at most once per customer, contract, year or event.

    The store keeps UNIQUE(customer_id, rule_id, once_key) on awards. `None` means the rule is
    once per contract but there is no contract to key it on.
    """
    if once_per == "customer":
        return "customer"
    if once_per == "contract":
        return f"contract:{contract_id}" if contract_id else None
    if once_per == "year":
        return f"year:{today.year}"
    if once_per == "event":
        return f"event:{event_id}"
    raise ValueError(f"unknown once_per {once_per!r}")
