"""The daily rules read only the customers whose facts moved, and give exactly what reading all gives.

A night carries on from the last night that ran the daily rules: it reads the customers the
database stamped as changed since (segment, region, start date, contracts; tier and status points
when a rule reads them) and those whose tenure moved with the calendar. Every test here holds that
against the night that reads every customer, on both databases.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from sqlalchemy import Column, select, update
from sqlalchemy.sql import visitors

from loyalty.engine.loader import load_ruleset_from_texts
from loyalty.services.daily import run_daily
from loyalty.services.daily_scope import STANDING_FACTS, STORED_FACTS, TENURE_FACTS
from loyalty.services.demo import generate_demo
from loyalty.services.ingest import ingest
from loyalty.store import daily_runs, fact_epochs
from loyalty.store.fact_columns import fact_columns
from loyalty.store.tables import Customer
from tests.conftest import empty_all_tables
from tests.daily_support import ledger_snapshot
from tests.ingest_support import contract_signed, event, ledger_problems

SHIPPED = Path(__file__).resolve().parents[2] / "rules"
REVIEWED = """\
programme: review
name: "Tri ân theo hạng và thời gian"
rules:
  - id: gold-sme-bonus
    description: reads the tier, which the night itself moves
    on: daily
    when:
      all:
        - tier: {eq: vang}
        - segment: {eq: sme}
    then: {status_points: 5}
    once_per: year
  - id: half-a-year
    description: reads tenure in months, which moves on month ends
    on: daily
    when:
      tenure_months: {gte: 6}
    then: {points: 100}
    once_per: customer
  - id: hanoi-second-year
    on: daily
    when:
      all:
        - region: {eq: "Hà Nội"}
        - tenure_years: {gte: 2}
    then: {points: 50}
    once_per: year
  - id: big-contract
    on: daily
    when:
      total_monthly_value: {gte: 5000000}
    then: {points: 10}
    once_per: contract
"""
RULES = load_ruleset_from_texts({**{p.name: p.read_text(encoding="utf-8") for p in SHIPPED.glob("*.yaml")},
                                 "zz-review.yaml": REVIEWED})
NIGHTS = [date(2028, 1, 30), date(2028, 1, 31), date(2028, 2, 1), date(2028, 2, 28), date(2028, 2, 29),
          date(2028, 3, 1), date(2028, 3, 31), date(2028, 4, 30), date(2028, 5, 2)]
"""A leap year's month ends, its 29 February among them, and a night skipped (1 May)."""
REGIONS = ("Hà Nội", "Đà Nẵng", "Cần Thơ")


def _day_after(day: date) -> datetime:
    return datetime.combine(day, time(9), timezone.utc)


def _changes(store, rng: random.Random, night: int, day: date) -> None:
    """What billing tells the engine during the day after a night: moves of every kind."""
    with store.reading() as session:
        customers = session.execute(select(Customer.id, Customer.name, Customer.customer_since)
                                    .order_by(Customer.id)).all()
    stamp = (day + timedelta(days=1)).isoformat() + "T02:00:00Z"
    for k, (customer_id, name, since) in enumerate(rng.sample(customers, 10)):
        changed = {"name": name, "customer_since": since.isoformat()}
        kind = k % 5
        if kind == 0:
            changed["segment"] = rng.choice(("home", "sme", "enterprise"))
        elif kind == 1:
            changed["region"] = rng.choice(REGIONS)
        elif kind == 2:
            changed["customer_since"] = (since - timedelta(days=rng.randrange(20, 400))).isoformat()
        if kind <= 2:
            sent = event(f"move-{night}-{k}", "customer.upserted", changed, customer_id, stamp)
        else:
            sent = contract_signed(f"sign-{night}-{k}", f"K-{night}-{k}", rng.choice((900_000, 6_000_000)),
                                   start=(day + timedelta(days=1)).isoformat(), customer_id=customer_id)
        ingest(store, RULES, sent, _day_after(day))
    newcomer = {"name": f"Khách mới {night}", "segment": "sme", "region": "Hà Nội",
                "customer_since": (day - timedelta(days=400)).isoformat()}
    ingest(store, RULES, event(f"new-{night}", "customer.upserted", newcomer, f"NEW-{night}", stamp), _day_after(day))


def _nights(store, *, full_review: bool):
    generate_demo(store, 150, 21, NIGHTS[0])
    rng = random.Random(5)
    summaries = []
    for n, day in enumerate(NIGHTS):
        summaries.append(run_daily(store, RULES, day, lambda *_: None, chunk_size=17, full_review=full_review))
        _changes(store, rng, n, day)
    return summaries


def test_night_after_night_reading_what_moved_gives_what_reading_everyone_gives(store):
    everyone = _nights(store, full_review=True)
    expected = ledger_snapshot(store)

    empty_all_tables(store)
    moved = _nights(store, full_review=False)

    assert ledger_snapshot(store) == expected
    assert ledger_problems(store) == []
    assert [s.awards for s in moved] == [s.awards for s in everyone]
    assert all(s.reviewed_since is None and s.reviewed == s.customers for s in everyone)
    assert moved[0].reviewed_since is None, "the first night has nothing to carry on from"
    assert all(s.reviewed_since == before for s, before in zip(moved[1:], NIGHTS))
    # the night after the first reads most customers again: the first gave them tiers, which a rule
    # here reads; after a month's gap, tenure in months has moved for nearly everyone
    short_gaps = [s for s, before in zip(moved[2:], NIGHTS[1:]) if (s.day - before).days <= 2]
    assert len(short_gaps) == 4 and all(s.reviewed < s.customers / 2 for s in short_gaps), \
        [(s.day, s.reviewed, s.customers) for s in moved]
    assert sum(s.awards for s in moved[1:]) > 20, "later nights still find customers something moved for"


def test_a_change_made_while_the_night_runs_is_read_the_next_night(store):
    """Billing moves two customers between two chunks of the daily rules: the night may have read
    them already (the scans run ahead of the writes), so the next night must read them again."""
    generate_demo(store, 120, 4, NIGHTS[0])
    run_daily(store, RULES, NIGHTS[0], lambda *_: None)
    with store.reading() as session:
        ids = list(session.scalars(select(Customer.id).where(Customer.total_monthly_value < 5_000_000,
                                                             Customer.tier.is_distinct_from("vang"))
                                   .order_by(Customer.id)))
    assert len(ids) > 20
    early, late = ids[0], ids[-1]
    moved = []

    def billing_moves_both(phase, done, _total):
        if phase == "tiers" and not moved:
            for n, customer_id in enumerate((early, late)):
                ingest(store, RULES, contract_signed(f"during-{n}", f"K-during-{n}", 7_000_000, start="2028-01-31",
                                                     customer_id=customer_id), _day_after(NIGHTS[0]))
            moved.append(done)

    run_daily(store, RULES, NIGHTS[1], billing_moves_both, chunk_size=10)
    assert moved and moved[0] < 120, "the moves came between two chunks of the daily rules"
    run_daily(store, RULES, NIGHTS[2], lambda *_: None)

    with store.reading() as session:
        given = set(session.execute(select(Customer.id).where(Customer.id.in_((early, late)),
                                                              Customer.tier == "vang")).scalars())
    assert given == {early, late}


def _columns_read(fact: str) -> set[str]:
    """The customer columns the night's SQL reads a fact from."""
    return {e.name for e in visitors.iterate(fact_columns(NIGHTS[0])[fact]) if isinstance(e, Column)}


def _another(column: str, value):
    if column == "segment":
        return "enterprise" if value != "enterprise" else "home"
    if Customer.__table__.c[column].type.python_type is int:
        return (value or 0) % 27 + 1  # a day of month too
    return f"{value or ''}-khác"


def test_a_write_to_any_column_a_followed_fact_reads_stamps_the_customer_and_nothing_else_does(store):
    """Derived from the night's own SQL: a fact added later without its column in the triggers fails here."""
    followed = sorted(STORED_FACTS | STANDING_FACTS | TENURE_FACTS.keys())
    columns = {c: fact in STANDING_FACTS for fact in followed for c in _columns_read(fact)}
    generate_demo(store, len(columns) + 2, 1, NIGHTS[0])
    epoch = store.run(fact_epochs.advance)
    table = Customer.__table__.c
    with store.reading() as session:
        rows = session.execute(select(table.id, *(table[c] for c in columns)).order_by(table.id)).all()
    with store.transaction() as session:
        session.execute(update(Customer).where(Customer.id == rows[0].id).values(name="Tên mới",
                                                                                time_zone="Asia/Bangkok"))
        session.execute(update(Customer).where(Customer.id == rows[1].id).values(segment=table.segment))
        for row, column in zip(rows[2:], columns):
            session.execute(update(Customer).where(Customer.id == row.id)
                            .values({column: _another(column, getattr(row, column))}))
    with store.reading() as session:
        stamps = {row.id: (row.facts_epoch, row.standing_epoch)
                  for row in session.execute(select(table.id, table.facts_epoch, table.standing_epoch))}
    assert max(stamps[rows[0].id] + stamps[rows[1].id]) < epoch, "a name, a zone or the same value moves no fact"
    for row, (column, standing) in zip(rows[2:], columns.items()):
        facts, standing_epoch = stamps[row.id]
        assert (facts == epoch, standing_epoch == epoch) == (not standing, standing), column


def test_a_night_reads_everyone_when_the_rules_changed_or_a_new_year_began(store):
    generate_demo(store, 60, 2, NIGHTS[0])
    count = 60
    run_daily(store, RULES, NIGHTS[0], lambda *_: None)
    changed_rules = load_ruleset_from_texts({"zz.yaml": REVIEWED.replace("points: 10}", "points: 11}")})
    assert run_daily(store, changed_rules, NIGHTS[1], lambda *_: None).review.startswith(
        f"all of them: the rules changed since the night of {NIGHTS[0]}")
    assert run_daily(store, changed_rules, NIGHTS[2], lambda *_: None).reviewed < count
    new_year = run_daily(store, changed_rules, date(2029, 1, 2), lambda *_: None)
    assert new_year.reviewed == count and "a new year" in new_year.review
    asked = run_daily(store, changed_rules, date(2029, 1, 3), lambda *_: None, full_review=True)
    assert asked.reviewed == count and asked.review == "all of them: a full review was asked for"
    with store.reading() as session:
        nights = [p for p in daily_runs.nights_run(session) if p.phase == "tiers"]
    assert all(p.facts_epoch is not None and p.ruleset_version for p in nights)
    assert len({p.facts_epoch for p in nights}) == len(nights), "each night advanced the clock once"


class _Stopped(Exception):
    pass


def test_a_night_resumed_under_other_rules_has_the_next_night_read_everyone(store):
    generate_demo(store, 80, 3, NIGHTS[0])
    run_daily(store, RULES, NIGHTS[0], lambda *_: None)

    def stop_after_a_chunk_of_daily_rules(phase, _done, _total):
        if phase == "tiers":
            raise _Stopped

    try:
        run_daily(store, RULES, NIGHTS[1], stop_after_a_chunk_of_daily_rules, chunk_size=2)
    except _Stopped:
        pass
    edited = load_ruleset_from_texts({**{p.name: p.read_text(encoding="utf-8") for p in SHIPPED.glob("*.yaml")},
                                      "zz-review.yaml": REVIEWED.replace("points: 50}", "points: 60}")})
    resumed = run_daily(store, edited, NIGHTS[1], lambda *_: None, chunk_size=2)
    following = run_daily(store, edited, NIGHTS[2], lambda *_: None)

    assert resumed.review == f"all of them: the rules changed since the night of {NIGHTS[0]}"
    assert following.reviewed == following.customers
    assert following.review == f"all of them: the rules changed since the night of {NIGHTS[1]}"
