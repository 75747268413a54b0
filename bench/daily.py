"""Benchmark the nightly run over a demo customer base, and event ingestion at service level.

Prints one JSON line. Targets: the 1M-customer evaluation and award writing (the anniversary and
daily-rule phases) <= 5 s on SQLite and <= 10 s on PostgreSQL, <= 300 MB peak memory, ingest
p99 <= 2 ms. Usage:

    python bench/daily.py [--customers 1000000] [--events 2000]

Demo customers are generated (default seed) for the anniversary night D in a child process, so
the peak resident memory (`ru_maxrss`) is the nights' and the ingest's alone. Between the nights
PostgreSQL is vacuumed and analysed, as autovacuum would in the day between them. Wall seconds and
this process's CPU seconds are both given: on a shared machine the wall clock also counts waiting
for a core, and on SQLite (in-process) the CPU time is the work itself. Two nights run:
D-1, the first night, which gives every customer its first tier; then D, the demo's anniversary
night (about 2.5% of the base), the heavy night of a normal year. The ruleset is the shipped
programmes plus generated anniversary and daily rules, 50 in all. PostgreSQL is measured too when
LOYALTY_BENCH_POSTGRES_URL or LOYALTY_TEST_POSTGRES_URL is set, in a schema dropped afterwards.
After the nights, ingest is measured twice on the same base: as the machine is (`ingest`, the
headline), then with its idle CPUs kept polling (`ingest_cpus_awake`, root only: what a
latency-tuned database host sees, decision 32; "not held" and no figures otherwise).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loyalty.engine.loader import load_ruleset_from_texts  # noqa: E402
from loyalty.services.catalogue import sync_catalogue  # noqa: E402
from loyalty.services.daily import run_daily  # noqa: E402
from loyalty.services.demo import generate_demo  # noqa: E402
from loyalty.store import Store  # noqa: E402
from loyalty.store.schema import create_schema  # noqa: E402
from loyalty.store.tables import AuditRecord, RewardGrant  # noqa: E402
from loyalty.store.scratch import scratch_postgres_store  # noqa: E402

from cpus_awake import cpus_awake  # noqa: E402
from ingest import server_settings, single_figures as ingest_figures  # noqa: E402  (one place measures ingest)

NIGHT = date(2026, 11, 25)
RULES = 50
SEED = 1
REGIONS = ("Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Cần Thơ", "Hải Phòng")


def generated_programme(count: int, seed: int = 5) -> str:
    """`count` more rules: anniversary thanks in three groups and rare daily status-point rules."""
    rng = random.Random(seed)
    lines = ["programme: bench-generated", 'name: "Tri ân thêm"', "rules:"]
    for n in range(count):
        anniversary = n < count * 2 // 3
        conditions = [f"tenure_years: {{{'eq' if anniversary else 'gte'}: {rng.randrange(1, 8)}}}",
                      f"segment: {{in: [{', '.join(rng.sample(('home', 'sme', 'enterprise'), 2))}]}}"]
        if rng.random() < 0.5:
            conditions.append(f"region: {{in: [{', '.join(rng.sample(REGIONS, 2))}]}}")
        if not anniversary:
            conditions.append(f"total_monthly_value: {{gte: {rng.choice((30_000_000, 60_000_000))}}}")
        lines += [f"  - id: bench-{n}", f"    on: {'anniversary' if anniversary else 'daily'}", "    when:",
                  "      all:", *[f"        - {c}" for c in conditions],
                  f"    then: {{points: {rng.randrange(1, 20) * 50}, expires_after: P12M}}"
                  if anniversary else "    then: {status_points: 10}",
                  "    once_per: year"]
        if anniversary and n % 4:
            lines += [f"    group: bench-gift-{n % 3}", f"    priority: {rng.randrange(100)}"]
    return "\n".join(lines) + "\n"


def bench_ruleset():
    """The shipped programmes plus generated rules, 50 rules in all."""
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "rules").glob("*.yaml"))}
    shipped = load_ruleset_from_texts(texts)
    return load_ruleset_from_texts({**texts, "zz-bench.yaml": generated_programme(RULES - len(shipped.rules))})


def night_figures(store: Store, ruleset, day: date) -> dict:
    """Run one night; the rule phases' seconds are measured between the progress reports."""
    marks: dict[str, float] = {}
    gifts_before = free_gifts(store)
    started, cpu = time.perf_counter(), time.process_time()
    summary = run_daily(store, ruleset, day, lambda phase, _done, _total: marks.__setitem__(phase, time.perf_counter()))
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    order = ["contracts", "anniversaries", "vesting", "expiry", "tiers"]
    ends = [started] + [marks.get(p) for p in order]
    for i in range(1, len(ends)):
        ends[i] = ends[i] or ends[i - 1]
    phase = {p: ends[i + 1] - ends[i] for i, p in enumerate(order)}
    rules_seconds = phase["anniversaries"] + phase["tiers"]
    return {"date": day.isoformat(), "seconds": round(total, 2), "rule_phases_seconds": round(rules_seconds, 2),
            "client_cpu_seconds": round(cpu, 2),
            "phase_seconds": {p: round(s, 2) for p, s in phase.items()},
            "anniversaries": summary.anniversaries, "awards": summary.awards, "points": summary.points,
            "tier_changes": summary.tier_changes, "contracts_ended": summary.contracts_ended,
            "awards_per_second": round(summary.awards / rules_seconds) if rules_seconds else None,
            **{key: after - before for (key, before), after in zip(gifts_before.items(), free_gifts(store).values())}}


def free_gifts(store: Store) -> dict[str, int]:
    """Free rewards given so far, and awards given without theirs because the stock ran out (decision 33)."""
    with store.reading() as session:
        return {"free_rewards_given": session.scalar(
                    select(func.count()).select_from(RewardGrant).where(RewardGrant.kind == "reward")),
                "given_without_reward": session.scalar(
                    select(func.count()).select_from(AuditRecord).where(
                        AuditRecord.action == "award.reward_out_of_stock"))}


def between_nights(store: Store) -> float | None:
    """What the day between two nights does to PostgreSQL: autovacuum clears the first night's
    900,000 superseded customer rows (a tier each) and analyses the tables. Without it the second
    night, right after the first, reads past every dead row version (2.9 s more on PostgreSQL);
    SQLite updates in place and needs nothing. Only the tables autovacuum would take, by its own
    thresholds (this machine's server runs without it): an analysis of a table that is nearly
    empty, such as `events`, makes every plan after it read the whole table as it grows."""
    if store.engine.dialect.name != "postgresql":
        return None
    started = time.perf_counter()
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table, vacuum, analyze in connection.execute(AUTOVACUUM_WOULD).all():
            if vacuum:
                connection.exec_driver_sql(f'VACUUM {"(ANALYZE) " if analyze else ""}"{table}"')
            elif analyze:
                connection.exec_driver_sql(f'ANALYZE "{table}"')
    return round(time.perf_counter() - started, 1)


AUTOVACUUM_WOULD = text("""
    SELECT s.relname,
           s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float
                          + current_setting('autovacuum_vacuum_scale_factor')::float * greatest(c.reltuples, 0)
        OR s.n_ins_since_vacuum > current_setting('autovacuum_vacuum_insert_threshold')::float
                          + current_setting('autovacuum_vacuum_insert_scale_factor')::float * greatest(c.reltuples, 0),
           s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float
                          + current_setting('autovacuum_analyze_scale_factor')::float * greatest(c.reltuples, 0)
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.schemaname = current_schema()
    ORDER BY s.relname""")
"""Each table of the schema: whether autovacuum would vacuum it, and analyse it (PostgreSQL's
documented thresholds, `autovacuum_*` settings as the server has them)."""


def measure(store: Store, customers: int, events: int, ruleset) -> dict:
    """Demo data in a child process, then two nights and the ingest benchmark here."""
    create_schema(store.engine)
    started = time.perf_counter()
    # store.url names the schema on PostgreSQL, so the child fills the same one.
    subprocess.run([sys.executable, __file__, "--generate", store.url, str(customers)], check=True)
    figures = {"demo_seconds": round(time.perf_counter() - started, 1)}
    sync_catalogue(store, ruleset.rewards)  # as `loyalty run-daily` does: the hampers' stock is counted
    figures["first_night"] = night_figures(store, ruleset, NIGHT - timedelta(days=1))
    figures["between_nights_seconds"] = between_nights(store)
    figures["anniversary_night"] = night_figures(store, ruleset, NIGHT)
    figures["ingest"] = ingest_figures(store, ruleset, customers, events)
    with cpus_awake(True) as held:  # the same again on a latency-tuned host (decision 32), when root
        figures["ingest_cpus_awake"] = {"cpus_awake": held} | (
            ingest_figures(store, ruleset, customers, events, label="held") if held == "held" else {})
    return figures


def generate(url: str, customers: int) -> None:
    """The child process: the demo customers for the anniversary night."""
    store = Store(url)
    generate_demo(store, customers, SEED, NIGHT)
    store.dispose()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--generate":
        generate(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=2_000)
    args = parser.parse_args()
    ruleset = bench_ruleset()
    result = {"customers": args.customers, "rules": len(ruleset.rules), "targets": {
        "rule_phases_seconds": {"sqlite": 5, "postgresql": 10}, "peak_memory_mb": 300, "ingest_p99_ms": 2}}
    with tempfile.TemporaryDirectory() as directory:
        store = Store(f"sqlite:///{Path(directory) / 'bench.db'}")
        try:
            result["sqlite"] = measure(store, args.customers, args.events, ruleset)
        finally:
            store.dispose()
    postgres = os.environ.get("LOYALTY_BENCH_POSTGRES_URL") or os.environ.get("LOYALTY_TEST_POSTGRES_URL")
    if postgres:
        with scratch_postgres_store(postgres, "bench_daily") as store:
            result["postgresql_settings"] = server_settings(store)
            result["postgresql"] = measure(store, args.customers, args.events, ruleset)
    result["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["peak_memory_is"] = "ru_maxrss of this process (demo data is generated in a child process)"
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
