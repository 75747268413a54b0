"""The nightly run's scans ahead: each used only by the chunk it was scanned for, equal to scanning inline."""
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


def test_the_scans_ahead_find_what_each_chunk_would_find_itself(store):
    generate_demo(store, 230, 3, NIGHT)
    rules = NightRules(_ruleset(), "daily", NIGHT, None, 50)
    with ScanAhead(store, rules) as ahead:
        after, chunks = None, 0
        while True:
            chunk = ahead.take(after)
            assert chunk == _inline(store, rules, after)
            if not chunk[0]:
                break
            after, chunks = chunk[1], chunks + 1
    assert chunks == 5


def test_a_chunk_starting_elsewhere_starts_the_scans_over_from_there(store):
    """Another run moved the phase on: what was scanned ahead is not used."""
    generate_demo(store, 230, 3, NIGHT)
    rules = NightRules(_ruleset(), "daily", NIGHT, None, 50)
    first = _inline(store, rules, None)
    third = _inline(store, rules, _inline(store, rules, first[1])[1])
    with ScanAhead(store, rules) as ahead:
        assert ahead.take(None) == first
        assert ahead.take(third[1]) == _inline(store, rules, third[1])
        assert ahead.take(None) == first


def test_an_in_memory_database_scans_inline():
    """A second connection to an in-memory SQLite database would see another, empty database."""
    memory = Store("sqlite://")
    try:
        assert not ScanAhead.possible(memory)
    finally:
        memory.dispose()


def test_a_file_or_server_database_scans_ahead(store):
    assert ScanAhead.possible(store)
