"""Benchmark event ingestion at service level: `ingest` one event at a time, and `ingest_many` in batches.

Prints one JSON line. Targets (issues 4 and 5): `ingest` p99 <= 2 ms per event; the HTTP
targets (>= 1,000 single events/s, >= 10,000 events/s in batches of 1,000) are measured by
bench/api.py, and this benchmark shows what the service leaves of them. The shipped `rules/`, demo
customers (default 10,000) in a file SQLite database and, when LOYALTY_BENCH_POSTGRES_URL or
LOYALTY_TEST_POSTGRES_URL is set, in a temporary PostgreSQL schema dropped afterwards. Every event
is an `invoice.paid` of a random demo customer (about half are businesses, which earn points);
single events are measured after `--warmup` events that are not. SQL statements per event are
counted at the cursor (an executemany counts once; BEGIN is not counted). Usage:

    python bench/ingest.py [--customers 10000] [--events 2000] [--warmup 200] [--batch 1000] [--bulk-events N]
                           [--cpus-awake]

`--bulk-events` (default `--events`) sizes the bulk load alone: a batch costs more as the tables
grow (decision 20), which two batches do not show; `seconds_per_batch` then also gives the first
and last tenth of the batches in order. `--cpus-awake` keeps idle CPUs polling for the run
(`bench/cpus_awake.py`, root only): run it alternately with the plain run to see how much of the
latency is the machine waking halted vCPUs (decision 32).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import date, datetime, time as clock, timedelta, timezone
from pathlib import Path

from sqlalchemy import event as sa_event, text

from cpus_awake import cpus_awake, idle_driver

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loyalty.engine.decide import compile_ruleset  # noqa: E402
from loyalty.engine.loader import load_ruleset  # noqa: E402
from loyalty.services.demo import demo_customer_id, generate_demo  # noqa: E402
from loyalty.services.ingest import MAX_BATCH, ingest, ingest_many  # noqa: E402
from loyalty.store import Store, driver  # noqa: E402
from loyalty.store.ledger import verify  # noqa: E402
from loyalty.store.schema import create_schema  # noqa: E402
from loyalty.store.scratch import scratch_postgres_store  # noqa: E402

TODAY = date(2026, 11, 25)
SEED = 1
WARMUP = 200


def invoices(customers: int, count: int, label: str, seed: int = 3) -> list[tuple[dict, datetime]]:
    """`count` paid invoices of random demo customers, each with the moment it is received."""
    rng = random.Random(seed)
    made = []
    for n in range(count):
        moment = datetime.combine(TODAY, clock(3), timezone.utc) + timedelta(milliseconds=n)
        made.append(({"id": f"{label}-{n}", "type": "invoice.paid", "occurred_at": moment.isoformat(),
                      "customer_id": demo_customer_id(SEED, rng.randrange(1, customers + 1)),
                      "data": {"invoice_id": f"{label}-INV-{n}", "amount": rng.randrange(1, 500) * 10_000}},
                     moment + timedelta(seconds=2)))
    return made


class StatementCounter:
    """Counts statements sent to the database (an executemany once), to see what an event costs:
    those through SQLAlchemy's execution path, and those `DriverStatement` sends itself."""

    def __init__(self, store: Store):
        self._through_sqlalchemy = 0
        sa_event.listen(store.engine, "before_cursor_execute", self._seen)

    @property
    def count(self) -> int:
        return self._through_sqlalchemy + driver.executed

    def _seen(self, *_args) -> None:
        self._through_sqlalchemy += 1


def single_figures(store: Store, ruleset, customers: int, events: int, label: str = "single",
                   warmup: int = WARMUP) -> dict:
    """Events through `ingest`, one transaction each: events per second, latency, CPU and statements,
    after `warmup` events that are not measured (a new process's first events open connections and
    prepare statements: 5 of the 21 slowest of 2,000 PostgreSQL events were among the first 20)."""
    for event, received_at in invoices(customers, warmup, f"{label}-warmup", seed=5):
        ingest(store, ruleset, event, received_at)
    counter = StatementCounter(store)
    latencies, awarded, given = [], [], 0
    batch = invoices(customers, events, label)
    statements, started, cpu = counter.count, time.perf_counter(), time.process_time()
    for event, received_at in batch:
        before = time.perf_counter()
        gave = len(ingest(store, ruleset, event, received_at).awards)
        latencies.append(time.perf_counter() - before)
        if gave:
            given += gave
            awarded.append(latencies[-1])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"events": events, "awards": given, "events_per_second": round(events / seconds),
            "client_cpu_ms_per_event": round(cpu / events * 1000, 3),
            "statements_per_event": round((counter.count - statements) / events, 1),
            "p50_ms": _percentile(latencies, 0.5), "p99_ms": _percentile(latencies, 0.99),
            # about a third of the events are awarded: the p99 is theirs, and this shows it
            "awarded_p50_ms": _percentile(awarded, 0.5), "awarded_p97_ms": _percentile(awarded, 0.97)}


def _percentile(seconds: list[float], fraction: float) -> float:
    ordered = sorted(seconds)
    return round(ordered[max(int(len(ordered) * fraction) - 1, 0)] * 1000, 2) if ordered else 0.0


def bulk_figures(store: Store, ruleset, customers: int, events: int, batch_size: int = MAX_BATCH) -> dict:
    """Events through `ingest_many` in batches: events per second and seconds per batch."""
    counter = StatementCounter(store)
    batch = invoices(customers, events, "bulk", seed=4)
    received_at = batch[-1][1]
    events_only = [event for event, _ in batch]
    per_batch, given = [], 0
    statements, started, cpu = counter.count, time.perf_counter(), time.process_time()
    for first in range(0, events, batch_size):
        before = time.perf_counter()
        results = ingest_many(store, ruleset, events_only[first:first + batch_size], received_at)
        per_batch.append(time.perf_counter() - before)
        refused = [r for r in results if isinstance(r, Exception)]
        if refused:
            raise SystemExit(f"the bulk benchmark's events were refused: {refused[0]}")
        given += sum(len(r.awards) for r in results)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"events": events, "batch": batch_size, "awards": given, "events_per_second": round(events / seconds),
            "client_cpu_ms_per_event": round(cpu / events * 1000, 3),
            "statements_per_event": round((counter.count - statements) / events, 1),
            "seconds_per_batch": _spread(per_batch)}


def _spread(per_batch: list[float]) -> list[float] | dict:
    """Up to ten batches: each, sorted; more: min, median, max and the first and last tenth's means."""
    ordered = sorted(round(s, 3) for s in per_batch)
    if len(per_batch) <= 10:
        return ordered
    tenth = len(per_batch) // 10
    return {"min": ordered[0], "median": ordered[len(ordered) // 2], "max": ordered[-1],
            "first_tenth": round(sum(per_batch[:tenth]) / tenth, 3),
            "last_tenth": round(sum(per_batch[-tenth:]) / tenth, 3)}


def replay_figures(store: Store, ruleset, customers: int, events: int) -> dict:
    """The same events again through `ingest_many`: every one answers its stored result."""
    events_only = [event for event, _ in invoices(customers, events, "bulk", seed=4)]
    started = time.perf_counter()
    for first in range(0, events, MAX_BATCH):
        ingest_many(store, ruleset, events_only[first:first + MAX_BATCH], datetime.now(timezone.utc))
    return {"events_per_second": round(events / (time.perf_counter() - started))}


SERVER_SETTINGS = ("shared_buffers", "synchronous_commit", "wal_compression", "autovacuum")


def server_settings(store: Store) -> dict[str, str]:
    """The PostgreSQL settings a figure depends on most, as the server has them: a stock 128 MB of
    shared buffers and a sized one give a 1M-customer base's events different tails (decision 40)."""
    with store.reading() as session:
        return {name: session.execute(text(f"SHOW {name}")).scalar_one() for name in SERVER_SETTINGS}


def measure(store: Store, customers: int, events: int, batch_size: int, bulk_events: int | None = None,
            warmup: int = WARMUP) -> dict:
    """Demo customers, then single events, a bulk load, its replay; the books must balance afterwards."""
    create_schema(store.engine)
    generate_demo(store, customers, SEED, TODAY)
    ruleset = compile_ruleset(load_ruleset(ROOT / "rules"))
    figures = {"single": single_figures(store, ruleset, customers, events, warmup=warmup),
               "bulk": bulk_figures(store, ruleset, customers, bulk_events or events, batch_size),
               "bulk_replayed": replay_figures(store, ruleset, customers, bulk_events or events)}
    with store.reading() as session:
        problems = verify(session)
    if problems:
        raise SystemExit(f"the ledger does not verify after the benchmark: {problems[:3]}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--warmup", type=int, default=WARMUP, help="single events ingested before measuring")
    parser.add_argument("--batch", type=int, default=MAX_BATCH)
    parser.add_argument("--bulk-events", type=int, default=None, help="events of the bulk load (default --events)")
    parser.add_argument("--cpus-awake", action="store_true",
                        help="keep idle CPUs polling while measuring (root; decision 32)")
    args = parser.parse_args()
    result = {"customers": args.customers, "warmup_events": args.warmup,
              "targets": {"single_p99_ms": 2, "http_single_events_per_s": 1000, "http_bulk_events_per_s": 10000},
              "idle_driver": idle_driver()}
    with cpus_awake(args.cpus_awake) as held:
        result["cpus_awake"] = held
        with tempfile.TemporaryDirectory() as directory:
            store = Store(f"sqlite:///{Path(directory) / 'bench.db'}")
            result["sqlite"] = measure(store, args.customers, args.events, args.batch, args.bulk_events, args.warmup)
            store.dispose()
        postgres = os.environ.get("LOYALTY_BENCH_POSTGRES_URL") or os.environ.get("LOYALTY_TEST_POSTGRES_URL")
        if postgres:
            with scratch_postgres_store(postgres, "bench_ingest") as store:
                result["postgresql_settings"] = server_settings(store)
                result["postgresql"] = measure(store, args.customers, args.events, args.batch, args.bulk_events,
                                               args.warmup)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
