"""Whose tenure differs between two local dates: the customers a night must review for time alone.

`facts.months_between(since, day)` only ever moves on a day whose day of month is the start's, or
on a month's last day for starts later in the month (a customer since the 31st completes a month
on 30 April). It moves to a whole number of years only on such a day in the start's own month. So
the start dates whose tenure can differ between `previous` and `day` are a set of (month, day of
month) pairs, known before any customer is read; the night's SQL keeps the customers whose start
falls in it (`loyalty.store.fact_epochs`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from loyalty.engine.facts import is_last_day_of_month

ANY_MONTH = 0
"""The month of a pair that holds in every month: tenure in months moves whatever the start's month."""
LAST_DAY_OF_ANY_MONTH = 31


@dataclass(frozen=True)
class TenureMoves:
    """The (month or ANY_MONTH, day of month) of every start whose tenure may have moved."""

    starts: frozenset[tuple[int, int]]

    def includes(self, since: date) -> bool:
        return (ANY_MONTH, since.day) in self.starts or (since.month, since.day) in self.starts


def tenure_moves(previous: date, day: date, unit: Literal["months", "years"]) -> TenureMoves:
    """Every start whose tenure in `unit` may differ on `day` from what it was on `previous` (before it)."""
    starts: set[tuple[int, int]] = set()
    moment = previous + timedelta(days=1)
    while moment <= day and len(starts) < 12 * LAST_DAY_OF_ANY_MONTH:
        month = ANY_MONTH if unit == "months" else moment.month
        last = LAST_DAY_OF_ANY_MONTH if is_last_day_of_month(moment) else moment.day
        starts.update((month, day_of_month) for day_of_month in range(moment.day, last + 1))
        moment += timedelta(days=1)
    return TenureMoves(frozenset(starts))
