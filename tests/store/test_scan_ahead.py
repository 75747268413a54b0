"""The nightly run's scan ahead: used only by the chunk it was scanned for, equal to scanning inline."""
from __future__ import annotations

from datetime import date

from loyalty.services.daily_awarding import NightRules
from loyalty.services.demo import generate_demo
from loyalty.services.scan_ahead import ScanAhead
from loyalty.store import Store
from tests.store.test_daily import _ruleset

NIGHT = date(2026, 11, 25)


def _inline(store, rules, after):
    with store.reading() as session:
        return rules.next_chunk(session.connection(), after)


def test_the_scan_ahead_finds_what_the_chunk_would_find_itself(store):
    generate_demo(store, 120, 3, NIGHT)
    rules = NightRules(_ruleset(), "daily", NIGHT, None, 50)
    first = _inline(store, rules, None)
    with ScanAhead(store, rules) as ahead:
        ahead.start(first[1])
        assert ahead.take(first[1]) == _inline(store, rules, first[1])
        assert ahead.take(first[1]) is None, "a scan ahead is used once"


def test_a_scan_ahead_from_elsewhere_is_not_used(store):
    """Another run moved the phase on: the chunk starts somewhere else and scans for itself."""
    generate_demo(store, 120, 3, NIGHT)
    rules = NightRules(_ruleset(), "daily", NIGHT, None, 50)
    first = _inline(store, rules, None)
    with ScanAhead(store, rules) as ahead:
        ahead.start(None)
        assert ahead.take(first[1]) is None


def test_an_in_memory_database_scans_inline():
    """A second connection to an in-memory SQLite database would see another, empty database."""
    memory = Store("sqlite://")
    try:
        assert not ScanAhead.possible(memory)
    finally:
        memory.dispose()


def test_a_file_or_server_database_scans_ahead(store):
    assert ScanAhead.possible(store)
