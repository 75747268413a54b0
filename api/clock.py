"""The API's clock: views read the time here and pass it to the services, which never read one.

`LOYALTY_CLOCK` in the app's config (a callable returning an aware datetime) replaces the real
clock, so tests can stand on a chosen day.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app

CLOCK_SETTING = "LOYALTY_CLOCK"


def now() -> datetime:
    """The current moment, aware, in UTC unless a configured clock says otherwise."""
    clock = current_app.config.get(CLOCK_SETTING)
    moment = clock() if clock is not None else datetime.now(timezone.utc)
    if moment.tzinfo is None:
        raise ValueError(f"{CLOCK_SETTING} must return an aware datetime")
    return moment
