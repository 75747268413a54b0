"""How fast the points ledger posts and verifies, on a file SQLite database and on PostgreSQL.

Prints one JSON line: postings per second from one thread and from `--threads` threads (earns and
redemptions mixed over many customers, each posting its own transaction through `Store.run`), and
how long `loyalty ledger verify` takes over `--entries` ledger entries, bulk-loaded as real,
balanced earn and spend transactions with their lots and allocations (verify must pass on them).
PostgreSQL is measured when LOYALTY_BENCH_POSTGRES_URL or LOYALTY_TEST_POSTGRES_URL is set, in a
temporary schema that is dropped afterwards.

    python bench/ledger.py [--entries 1000000] [--postings 2000] [--threads 8] [--customers 1000]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import text

from loyalty.services.demo import demo_customer_id, generate_demo
from loyalty.services.ledger_ops import verify_ledger
from loyalty.store import Store, ledger
from loyalty.store.bulk import insert_rows
from loyalty.store.schema import create_schema
from loyalty.store.scratch import scratch_postgres_store
from loyalty.store.tables import LedgerAccount, LedgerEntry, LedgerTransaction, Lot, LotAllocation

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
SEED = 7
EARNS, EARNED, SPENT = 8, 100, 150
"""Each bulk-loaded customer earns 8 lots of 100 points and spends 150 twice: 20 entries."""
ENTRIES_PER_CUSTOMER = 2 * EARNS + 2 * 2


@contextmanager
def sqlite_store(directory: Path, name: str) -> Iterator[Store]:
    """A new SQLite file with the schema."""
    store = Store(f"sqlite:///{directory / name}.db")
    create_schema(store.engine)
    try:
        yield store
    finally:
        store.dispose()


@contextmanager
def postgresql_store(url: str) -> Iterator[Store]:
    """A new PostgreSQL schema with the tables, dropped afterwards."""
    with scratch_postgres_store(url, "loyalty_bench") as store:
        create_schema(store.engine)
        yield store


def post(store: Store, customer_id: str, number: int, label: str) -> None:
    """Two earns of 100, then a redemption of 70, for each customer in turn: `number` counts a lane's postings."""
    reference = f"{label}-{customer_id}-{number}"
    if number % 3 == 2:
        store.run(lambda s: ledger.spend(s, customer_id, 70, occurred_at=NOW, reference=reference,
                                         actor=customer_id, today=TODAY))
    else:
        store.run(lambda s: ledger.earn(s, customer_id, points=100, occurred_at=NOW, reference=reference,
                                        expires_on=date(2027, 11, 25), programme="bench"))


def postings_per_second(store: Store, customers: list[str], postings: int, threads: int, label: str) -> float:
    """Run `postings` postings on `threads` threads, each over its own share of the customers."""
    barrier = threading.Barrier(threads + 1)

    def work(lane: int) -> None:
        mine = customers[lane::threads]
        barrier.wait()
        for step in range(len(range(lane, postings, threads))):
            post(store, mine[(step // 3) % len(mine)], step, label)

    workers = [threading.Thread(target=work, args=(lane,)) for lane in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return round(postings / (time.perf_counter() - started), 1)


def measure_postings(store: Store, args: argparse.Namespace) -> dict:
    """Postings per second from one thread and from many, then prove the books still balance."""
    generate_demo(store, args.customers, SEED, TODAY)
    customers = [demo_customer_id(SEED, n) for n in range(1, args.customers + 1)]
    one = postings_per_second(store, customers, args.postings, 1, "one")
    many = postings_per_second(store, customers, args.postings, args.threads, "many")
    verify_ledger(store)
    return {"postings_per_s_1_thread": one, f"postings_per_s_{args.threads}_threads": many}


def measure_verify(store: Store, entries: int) -> dict:
    """Bulk-load about `entries` ledger entries, then time `loyalty ledger verify` over them."""
    customers = -(-entries // ENTRIES_PER_CUSTOMER)
    started = time.perf_counter()
    generate_demo(store, customers, SEED, TODAY)
    with store.transaction() as session:
        load_ledger(session, customers, store.dialect)
    with store.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    counts = verify_ledger(store)
    return {"verify_entries": counts.entries, "verify_s": round(time.perf_counter() - started, 2),
            "verify_load_s": round(loaded, 1)}


def load_ledger(session, customers: int, dialect: str) -> None:
    """Balanced earn and spend transactions for every demo customer, with lots and allocations."""
    moment = "2026-01-10 03:00:00.000000" if dialect == "sqlite" else "2026-01-10T03:00:00+00:00"
    ids = [demo_customer_id(SEED, n) for n in range(1, customers + 1)]
    held = (EARNS * EARNED - 2 * SPENT)
    insert_rows(session, LedgerAccount.__table__, ("id", "code", "kind", "currency", "customer_id", "balance"), [
        (1, "system:issuance:reward", "issuance", "reward", None, -EARNS * EARNED * customers),
        (2, "system:redemption:reward", "redemption", "reward", None, 2 * SPENT * customers),
        *((3 + i, f"customer:{cid}:available", "available", "reward", cid, held) for i, cid in enumerate(ids)),
    ])
    first_tx = lambda i: 1 + i * (EARNS + 2)  # noqa: E731
    first_lot = lambda i: 1 + i * EARNS  # noqa: E731
    insert_rows(session, LedgerTransaction.__table__,
                ("id", "kind", "customer_id", "occurred_at", "reference", "actor", "shortfall"),
                ((first_tx(i) + k, "earn" if k < EARNS else "spend", cid, moment, f"bench-{k}", "bench", 0)
                 for i, cid in enumerate(ids) for k in range(EARNS + 2)))
    insert_rows(session, LedgerEntry.__table__, ("transaction_id", "account_id", "amount"),
                (row for i in range(customers) for row in _entries(first_tx(i), 3 + i)))
    insert_rows(session, Lot.__table__,
                ("id", "customer_id", "account_id", "amount", "remaining", "earned_at", "expires_on",
                 "programme", "reference", "created_by_id"),
                ((first_lot(i) + k, cid, 3 + i, EARNED, 0 if k < 3 else EARNED, moment,
                  f"2027-01-{10 + k}", "bench", f"bench-{k}", first_tx(i) + k)
                 for i, cid in enumerate(ids) for k in range(EARNS)))
    insert_rows(session, LotAllocation.__table__, ("transaction_id", "lot_id", "amount"),
                (row for i in range(customers) for row in _allocations(first_tx(i), first_lot(i))))


def _entries(tx: int, account: int) -> list[tuple]:
    earns = [row for k in range(EARNS) for row in ((tx + k, account, EARNED), (tx + k, 1, -EARNED))]
    spends = [row for k in (EARNS, EARNS + 1) for row in ((tx + k, account, -SPENT), (tx + k, 2, SPENT))]
    return earns + spends


def _allocations(tx: int, lot: int) -> list[tuple]:
    """Each earn fills its lot; the two spends take 100+50 and 50+100 from the three oldest lots."""
    earns = [(tx + k, lot + k, EARNED) for k in range(EARNS)]
    first, second = tx + EARNS, tx + EARNS + 1
    return earns + [(first, lot, -100), (first, lot + 1, -50), (second, lot + 1, -50), (second, lot + 2, -100)]


def measure(open_store, args: argparse.Namespace) -> dict:
    """Both measurements, each on a database of its own."""
    with open_store("postings") as store:
        figures = measure_postings(store, args)
    with open_store("verify") as store:
        figures.update(measure_verify(store, args.entries))
    return figures


def main() -> None:
    """Measure on SQLite, and on PostgreSQL when a URL is given; print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--postings", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--customers", type=int, default=1000)
    args = parser.parse_args()
    result: dict = {"entries": args.entries, "postings": args.postings, "threads": args.threads,
                    "customers": args.customers}
    with tempfile.TemporaryDirectory() as directory:
        result["sqlite"] = measure(lambda name: sqlite_store(Path(directory), name), args)
    url = os.environ.get("LOYALTY_BENCH_POSTGRES_URL") or os.environ.get("LOYALTY_TEST_POSTGRES_URL")
    if url:
        result["postgresql"] = measure(lambda _name: postgresql_store(url), args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
