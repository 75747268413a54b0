"""Benchmark the rule engine: per-event decision latency and batch rule-evaluations per second.

Prints one JSON line. Targets: p99 <= 20 µs per event for 50 rules; >= 10 M rule-evaluations/s
through the SQL path (customers x rules evaluated in one scan). Usage:

    python bench/engine.py [--customers 1000000] [--events 20000] [--rules-dir rules]

Latency (`decide` alone, facts computed beforehand) for the shipped rules, 50 generated rules
spread over the event types, and the same 50 all on one event; each p50/p99 with the garbage
collector on and (`_gc_off`) off. Batch: one `select_rule_masks` scan of every customer for the
50 rules, every row read (`stream_rows`) and its matches counted; `rule_evaluations_per_s` is
customers x rules / wall seconds, and `..._per_client_cpu_s` the same per CPU second of this
process (which, for SQLite, includes the query itself). `load_average` is the machine's 1/5/15
minute load at the end: on shared cores, wall figures are mostly the scheduler's.

PostgreSQL is measured too when LOYALTY_BENCH_POSTGRES_URL or LOYALTY_TEST_POSTGRES_URL is set,
in a temporary schema that is dropped afterwards.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loyalty.engine.decide import compile_ruleset, decide  # noqa: E402
from loyalty.engine.facts import ContractSnapshot, CustomerSnapshot, EventSnapshot, compute_facts  # noqa: E402
from loyalty.engine.loader import load_ruleset  # noqa: E402
from loyalty.engine.model import (  # noqa: E402
    AllOf, AnyOf, Comparison, Not, PointsFormula, Programme, Rule, Ruleset, SourceRef, Then, Validity,
)
from loyalty.store import Store  # noqa: E402
from loyalty.store.fact_columns import select_rule_masks, stream_rows  # noqa: E402
from loyalty.store.schema import create_schema  # noqa: E402
from loyalty.store.scratch import scratch_postgres_store  # noqa: E402

TODAY = date(2026, 3, 15)
HERE = SourceRef("generated.yaml", 1)
REGIONS = ("Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Thừa Thiên Huế", "Cần Thơ", "Hải Phòng")
TIERS = ("silver", "gold", "platinum")
EVENT_MIX = (("anniversary", 15), ("daily", 10), ("invoice.paid", 8), ("contract.signed", 5),
             ("contract.renewed", 5), ("service.incident", 4), ("referral.converted", 3))


# --- a generated, realistic 50-rule set -------------------------------------------------

def leaf(rng: random.Random) -> Comparison:
    """One realistic test: tenure, segment, region, tier, contract figures."""
    choice = rng.randrange(8)
    if choice == 0:
        return Comparison("tenure_months", rng.choice(("gte", "lt")), rng.choice((6, 12, 24, 36, 60)), HERE)
    if choice == 1:
        return Comparison("tenure_years", "eq", rng.randrange(1, 6), HERE)
    if choice == 2:
        return Comparison("segment", "in", tuple(rng.sample(("home", "sme", "enterprise"), 2)), HERE)
    if choice == 3:
        return Comparison("region", rng.choice(("in", "not_in")), tuple(rng.sample(REGIONS, 2)), HERE)
    if choice == 4:
        return Comparison("tier", "eq", rng.choice(TIERS), HERE)
    if choice == 5:
        return Comparison("contract_value", "gte", rng.choice((500_000, 2_000_000, 5_000_000)), HERE)
    if choice == 6:
        return Comparison("renewals", "gte", rng.randrange(1, 4), HERE)
    low = rng.choice((1_000_000, 3_000_000))
    return Comparison("total_monthly_value", "between", (low, low * 4), HERE)


def condition(rng: random.Random):
    """Mostly `all` of two to four tests, sometimes with a nested `any` or a `not`."""
    parts = [leaf(rng) for _ in range(rng.randrange(2, 5))]
    if rng.random() < 0.4:
        parts.append(AnyOf((leaf(rng), leaf(rng)), HERE))
    if rng.random() < 0.3:
        parts.append(Not(leaf(rng), HERE))
    return AllOf(tuple(parts), HERE)


def generated_ruleset(count: int = 50, one_event: str | None = None, seed: int = 7) -> Ruleset:
    """`count` rules spread over the event types as in EVENT_MIX (or all `on` one event)."""
    rng = random.Random(seed)
    kinds = [kind for kind, n in EVENT_MIX for _ in range(n)]
    rules = []
    for i in range(count):
        on = one_event or kinds[i % len(kinds)]
        points = PointsFormula(per=10_000, of="event.amount", max=2000) if on == "invoice.paid" else \
            PointsFormula(fixed=rng.choice((50, 100, 200, 500)))
        rules.append(Rule(
            id=f"rule-{i}", programme="bench", on=on, then=Then(points=points), source=HERE,
            order=i, when=condition(rng), once_per=rng.choice(("event", "year", "customer")),
            group=f"group-{i % 6}" if i % 3 == 0 else None, priority=rng.randrange(10),
            valid=Validity(until=date(2030, 12, 31)) if i % 5 == 0 else Validity(),
        ))
    return Ruleset("bench-50", (Programme("bench", "Bench", HERE, tuple(rules)),))


# --- per-event decision latency -----------------------------------------------------------

def sample_customer(rng: random.Random, n: int) -> tuple[CustomerSnapshot, list[ContractSnapshot]]:
    since = TODAY - timedelta(days=rng.randrange(0, 4000))
    customer = CustomerSnapshot(
        id=f"c{n}", segment=rng.choice(("home", "home", "sme", "enterprise")), customer_since=since,
        region=rng.choice(REGIONS + (None,)), locale="vi", tier=rng.choice(TIERS + (None,)),
        status_points=rng.randrange(0, 20_000))
    contracts = [ContractSnapshot(f"c{n}-k{i}", rng.choice((300_000, 900_000, 2_500_000, 8_000_000)),
                                  rng.choice((12, 24, 36)), since, rng.randrange(0, 4))
                 for i in range(rng.randrange(0, 3))]
    return customer, contracts


def sample_event(rng: random.Random, n: int, event_types: list[str]) -> EventSnapshot:
    kind = rng.choice(event_types)
    return EventSnapshot(type=kind, id=f"ev-{n}", amount=rng.randrange(0, 5_000_000),
                         outage_hours=rng.randrange(0, 200), planned=rng.random() < 0.2)


def decision_latency(ruleset: Ruleset, events: int, seed: int = 11) -> dict:
    """p50/p99 of `decide` (facts already computed), in µs, over `events` varied events.

    Timed twice over the same events: with the garbage collector on, as a server runs, and off
    (collected before, disabled while timing), which leaves out the collector's pauses over the
    benchmark's own 20,000 prepared events; a 1% tail on a shared machine is also where the
    scheduler's preemptions land, so `max_us` says little.
    """
    rng = random.Random(seed)
    compiled = compile_ruleset(ruleset)
    kinds = sorted({rule.on for rule in ruleset.rules})
    cases = []
    for n in range(events):
        customer, contracts = sample_customer(rng, n)
        event = sample_event(rng, n, kinds)
        cases.append((compute_facts(customer, contracts, TODAY, event), event))
    figures: dict = {"rules": len(ruleset.rules), "events": events}
    for label in ("", "_gc_off"):
        timings = []
        awarded = 0
        clock = time.perf_counter_ns
        gc.collect()
        if label:
            gc.disable()
        try:
            for facts, event in cases:
                start = clock()
                decision = decide(compiled, facts, event, TODAY, "k-main")
                timings.append(clock() - start)
                awarded += len(decision.awards)
        finally:
            gc.enable()
        timings.sort()
        figures.update({"awards": awarded, f"p50_us{label}": round(timings[len(timings) // 2] / 1000, 2),
                        f"p99_us{label}": round(timings[int(len(timings) * 0.99)] / 1000, 2),
                        f"max_us{label}": round(timings[-1] / 1000, 1)})
    return figures


# --- batch rule-evaluations over N customers ------------------------------------------------

COLUMNS = ("id, name, segment, customer_since, region, locale, time_zone, tier, status_points, "
           "since_month_index, since_month, since_day, active_contracts, total_monthly_value, "
           "main_contract_id, main_contract_value, main_term_months, main_renewals")


def _values(n: str, since: str, year: str, month: str, day: str, cat: str) -> str:
    """The SELECT list that derives every column from the row number `n` (dialect bits passed in)."""
    h = f"(({n} * 2654435761) % 1000003)"
    region = " ".join(f"WHEN {i} THEN '{r}'" for i, r in enumerate(REGIONS))
    tier = " ".join(f"WHEN {i} THEN '{t}'" for i, t in enumerate(TIERS))
    active = f"({h} % 4)"
    main = f"(CASE {h} % 5 WHEN 0 THEN 300000 WHEN 1 THEN 900000 WHEN 2 THEN 2500000 " \
           f"WHEN 3 THEN 5000000 ELSE 8000000 END)"
    return (f"{cat('c', n)}, {cat('Khách hàng ', n)}, "
            f"CASE {h} % 10 WHEN 0 THEN 'enterprise' WHEN 1 THEN 'sme' WHEN 2 THEN 'sme' "
            f"WHEN 3 THEN 'sme' ELSE 'home' END, {since}, "
            f"CASE {h} % 7 {region} ELSE NULL END, 'vi', 'Asia/Ho_Chi_Minh', "
            f"CASE {h} % 4 {tier} ELSE NULL END, {h} % 20000, "
            f"{year} * 12 + {month} - 1, {month}, {day}, {active}, {active} * {main}, "
            f"CASE WHEN {active} = 0 THEN NULL ELSE {cat('k', n)} END, "
            f"CASE WHEN {active} = 0 THEN NULL ELSE {main} END, "
            f"CASE WHEN {active} = 0 THEN NULL ELSE 12 * (1 + {h} % 3) END, "
            f"CASE WHEN {active} = 0 THEN NULL ELSE {h} % 4 END")


def fill_sqlite(store: Store, count: int) -> None:
    """1M customers from a recursive CTE, derived in SQL: no Python row loop."""
    since = "s.since"
    values = _values("s.n", since, "CAST(strftime('%Y', s.since) AS INTEGER)",
                     "CAST(strftime('%m', s.since) AS INTEGER)", "CAST(strftime('%d', s.since) AS INTEGER)",
                     lambda prefix, n: f"'{prefix}' || {n}")
    statement = (f"INSERT INTO customers ({COLUMNS}) "
                 f"WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < :count) "
                 f"SELECT {values} FROM (SELECT n, date('2012-01-01', '+' || ((n * 7919) % 5200) || ' days') "
                 f"AS since FROM seq) AS s")
    with store.engine.begin() as connection:
        connection.execute(text(statement), {"count": count})


def fill_postgresql(store: Store, count: int) -> None:
    """1M customers from generate_series."""
    values = _values("s.n", "s.since", "CAST(extract(year FROM s.since) AS INTEGER)",
                     "CAST(extract(month FROM s.since) AS INTEGER)", "CAST(extract(day FROM s.since) AS INTEGER)",
                     lambda prefix, n: f"'{prefix}' || {n}::text")
    statement = (f"INSERT INTO customers ({COLUMNS}) SELECT {values} FROM "
                 f"(SELECT n::bigint AS n, DATE '2012-01-01' + ((n::bigint * 7919) % 5200)::int AS since "
                 f"FROM generate_series(0, :last) AS n) AS s")
    with store.engine.begin() as connection:
        connection.execute(text(statement), {"last": count - 1})
        connection.exec_driver_sql("ANALYZE customers")


def batch_throughput(store: Store, ruleset: Ruleset) -> dict:
    """Rule-evaluations per second of one scan that evaluates every rule for every customer.

    Uses `select_rule_masks` (one bit per rule), reads every row through `stream_rows` (the
    driver's cursor, plain tuples) and counts the matches, as the nightly run would. Both the wall
    clock and this process's CPU are reported: SQLite runs inside this process, so its CPU figure
    is the query plus the fetch; PostgreSQL's scan runs in the server (its CPU is not counted).
    """
    rules = list(ruleset.rules)
    statement = select_rule_masks(rules, TODAY)
    start, cpu = time.perf_counter(), time.process_time()
    scanned = matches = 0
    with store.engine.connect() as connection:
        for row in stream_rows(connection, statement):
            scanned += 1
            for mask in row[1:]:
                matches += mask.bit_count()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    evaluations = scanned * len(rules)
    return {"customers": scanned, "rules": len(rules), "matches": matches, "seconds": round(seconds, 2),
            "rule_evaluations_per_s": round(evaluations / seconds),
            "client_cpu_seconds": round(cpu, 2),
            "rule_evaluations_per_client_cpu_s": round(evaluations / cpu)}


def bench_sqlite(count: int, ruleset: Ruleset) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/bench.db")
        create_schema(store.engine)
        start = time.perf_counter()
        fill_sqlite(store, count)
        filled = time.perf_counter() - start
        figures = batch_throughput(store, ruleset)
        store.dispose()
    return {"fill_seconds": round(filled, 1), **figures}


def bench_postgresql(url: str, count: int, ruleset: Ruleset) -> dict:
    with scratch_postgres_store(url, "loyalty_bench") as store:
        create_schema(store.engine)
        start = time.perf_counter()
        fill_postgresql(store, count)
        filled = time.perf_counter() - start
        figures = batch_throughput(store, ruleset)
    return {"fill_seconds": round(filled, 1), **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rules-dir", type=Path, default=Path("rules"))
    args = parser.parse_args()
    fifty = generated_ruleset(50)
    figures = {
        "default_ruleset": decision_latency(load_ruleset(args.rules_dir), args.events),
        "generated_50_rules": decision_latency(fifty, args.events),
        "generated_50_rules_one_event": decision_latency(generated_ruleset(50, "anniversary"), args.events),
        "batch_sqlite": bench_sqlite(args.customers, fifty),
    }
    url = os.environ.get("LOYALTY_BENCH_POSTGRES_URL") or os.environ.get("LOYALTY_TEST_POSTGRES_URL")
    if url:
        figures["batch_postgresql"] = bench_postgresql(url, args.customers, fifty)
    figures["load_average"] = [round(load, 2) for load in os.getloadavg()]
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
