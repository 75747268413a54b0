"""The nightly run's scans ahead: each used only by the chunk it was scanned for, equal to scanning inline."""
from __future__ import annotations

from datetime import date

import pytest

from loyalty.services.daily_awarding import NightRules
from loyalty.services.demo import generate_demo
from loyalty.services.scan_ahead import RAMP, ScanAhead
from loyalty.store import Store
from tests.store.test_daily import _ruleset

NIGHT = date(2026, 11, 25)


def _inline(store, rules, after, size=None):
    with store.reading() as session:
        return rules.next_chunk(session.connection(), after, size)


@pytest.mark.parametrize(("ramp", "sizes"), [
    (RAMP, [3, 12, 48, 48, 48, 48, 23]),  # a sixteenth of a chunk, a quarter, then whole ones
    ((), [48, 48, 48, 48, 38]),
])
def test_the_scans_ahead_find_what_each_chunk_would_find_itself(store, ramp, sizes):
    generate_demo(store, 230, 3, NIGHT)
    rules = NightRules(_ruleset(), "daily", NIGHT, None, 48)
    with ScanAhead(store, rules, ramp=ramp) as ahead:
        after, taken = None, []
        while True:
            chunk = ahead.take(after)
            assert chunk == _inline(store, rules, after, chunk[0] or None)
            if not chunk[0]:
                break
            after = chunk[1]
            taken.append(chunk[0])
    assert taken == sizes


def test_only_postgresql_starts_with_smaller_scans(store):
    """Where the first scan is long enough for a smaller one to save the writer's wait (decision 39)."""
    generate_demo(store, 230, 3, NIGHT)
    rules = NightRules(_ruleset(), "daily", NIGHT, None, 48)
    with ScanAhead(store, rules) as ahead:
        assert ahead.take(None)[0] == (3 if store.dialect == "postgresql" else 48)


def test_a_chunk_starting_elsewhere_starts_the_scans_over_from_there(store):
    """Another run moved the phase on: what was scanned ahead is not used, and the scans start small again."""
    generate_demo(store, 230, 3, NIGHT)
    rules = NightRules(_ruleset(), "daily", NIGHT, None, 48)
    first = _inline(store, rules, None, 3)
    elsewhere = _inline(store, rules, None, 100)[1]
    with ScanAhead(store, rules, ramp=RAMP) as ahead:
        assert ahead.take(None) == first
        assert ahead.take(elsewhere) == _inline(store, rules, elsewhere, 3)
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
