"""Billing keeps posting while the night runs: no customer misses what the daily rules give it.

A thread signs large contracts for customers throughout a night that reads only the customers
whose facts moved (decision 29). Whether the night read a customer before or after billing moved
it, the night after must leave every customer with every award `decide` gives on its facts then.
"""
from __future__ import annotations

import random
import threading
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import select

from loyalty.engine.decide import decide
from loyalty.engine.facts import EventSnapshot, compute_facts
from loyalty.engine.loader import load_ruleset
from loyalty.services.customers import contract_snapshots, customer_snapshot
from loyalty.services.daily import run_daily
from loyalty.services.daily_awarding import night_event_id
from loyalty.services.demo import generate_demo
from loyalty.services.ingest import ingest
from loyalty.store.tables import Award, Customer
from tests.ingest_support import contract_signed, ledger_problems

RULES = load_ruleset(Path(__file__).resolve().parents[2] / "rules")
NIGHTS = (date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27))


def _daily_awards_missing(store, day: date) -> list[tuple[str, str, str]]:
    """(customer, rule, once key) of every award the daily rules give on `day` that is not in the store."""
    event = EventSnapshot(type="daily", id=night_event_id("daily", day))
    with store.reading() as session:
        given = {tuple(row) for row in session.execute(select(Award.customer_id, Award.rule_id, Award.once_key))}
        missing = []
        for customer in session.scalars(select(Customer).order_by(Customer.id)):
            facts = compute_facts(customer_snapshot(customer), contract_snapshots(session, customer.id), day)
            for award in decide(RULES, facts, event, day, customer.main_contract_id).awards:
                if (customer.id, award.rule_id, award.once_key) not in given:
                    missing.append((customer.id, award.rule_id, award.once_key))
    return missing


def test_a_night_that_reads_what_moved_misses_nobody_billing_moved_while_it_ran(store):
    generate_demo(store, 400, 6, NIGHTS[0])
    run_daily(store, RULES, NIGHTS[0], lambda *_: None)
    with store.reading() as session:
        ids = list(session.scalars(select(Customer.id).where(Customer.tier.is_distinct_from("kim-cuong"))))
    night_running, signed = threading.Event(), []

    def billing() -> None:
        rng = random.Random(3)
        while night_running.is_set() or len(signed) < 5:
            n = len(signed)
            customer_id = rng.choice(ids)
            ingest(store, RULES, contract_signed(f"busy-{n}", f"K-busy-{n}", 12_000_000, start="2026-11-26",
                                                 customer_id=customer_id),
                   datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc))
            signed.append(customer_id)

    night_running.set()
    poster = threading.Thread(target=billing)
    poster.start()
    try:
        moved = run_daily(store, RULES, NIGHTS[1], lambda *_: None, chunk_size=4)
    finally:
        night_running.clear()
        poster.join(30)
    assert moved.reviewed_since == NIGHTS[0] and moved.reviewed < moved.customers and len(signed) >= 5

    last = run_daily(store, RULES, NIGHTS[2], lambda *_: None)
    assert last.reviewed_since == NIGHTS[1]
    assert _daily_awards_missing(store, NIGHTS[2]) == []
    assert ledger_problems(store) == []
    with store.reading() as session:
        tiers = dict(session.execute(select(Customer.id, Customer.tier).where(Customer.id.in_(signed))).all())
    assert set(tiers.values()) <= {"vang", "kim-cuong"}, "every customer billing moved has at least gold"
