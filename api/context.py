"""What the app factory builds once and views read: the store, the ruleset, the key authenticator.

Views reach them through these accessors, never through globals or by constructing them.
"""
from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app

from loyalty.engine.model import Ruleset
from loyalty.services.ingest_group import IngestGroups
from loyalty.services.keys import Authenticator
from loyalty.store import Store

EXTENSION = "loyalty"


@dataclass
class LoyaltyApp:
    """The engine as one Flask app holds it, in `app.extensions["loyalty"]`."""

    store: Store
    ruleset: Ruleset
    authenticator: Authenticator
    time_zone: ZoneInfo
    events: IngestGroups
    """Single events, committed together with those other threads of this process send meanwhile."""


def loyalty_app() -> LoyaltyApp:
    """The engine the current app was built with."""
    return current_app.extensions[EXTENSION]


def current_store() -> Store:
    """The store to hand to services."""
    return loyalty_app().store


def current_ruleset() -> Ruleset:
    """The ruleset in force."""
    return loyalty_app().ruleset


def current_events() -> IngestGroups:
    """Where `POST /events` ingests."""
    return loyalty_app().events


def current_time_zone() -> ZoneInfo:
    """The zone customer-facing times are shown in (Asia/Ho_Chi_Minh unless configured)."""
    return loyalty_app().time_zone
