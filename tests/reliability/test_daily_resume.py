"""Killed mid-night with SIGKILL, `loyalty run-daily` run again finishes with the ledger an
uninterrupted night leaves: the same awards, entries, lots, balances and audit (ids aside).

The interrupted night runs in a subprocess with small chunks and is killed as soon as its log
shows the first committed chunk of tier awards; the reference night runs whole, in one go. Two
runs of the same night at once take turns chunk by chunk (the phase row is locked).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Iterator

import pytest

from loyalty.engine.loader import load_ruleset
from loyalty.services.daily import run_daily
from loyalty.services.demo import generate_demo
from loyalty.store import Store
from loyalty.store.daily_runs import phase_progress
from loyalty.store.schema import create_schema
from loyalty.store.scratch import scratch_postgres_store
from tests.conftest import DATABASES, POSTGRES_URL_VARIABLE
from tests.daily_support import ledger_snapshot
from tests.ingest_support import ledger_problems

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
NIGHT = date(2026, 11, 25)
CUSTOMERS = 1_000


@pytest.fixture(params=DATABASES, ids=DATABASES)
def two_databases(request, tmp_path) -> Iterator[tuple[Store, Store]]:
    """Two empty databases of one kind, loaded with the same demo customers."""
    with ExitStack() as cleanup:
        if request.param == "sqlite":
            stores = [Store(f"sqlite:///{tmp_path / name}.db") for name in ("interrupted", "whole")]
            for store in stores:
                cleanup.callback(store.dispose)
        else:
            base = os.environ.get(POSTGRES_URL_VARIABLE) or pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
            # store.url names the schema, so the run-daily subprocess works in it too.
            stores = [cleanup.enter_context(scratch_postgres_store(base, "loyalty_resume")) for _ in range(2)]
        for store in stores:
            create_schema(store.engine)
            generate_demo(store, CUSTOMERS, 11, NIGHT)
        yield stores[0], stores[1]


def _run_daily(store: Store, chunk: int) -> subprocess.Popen:
    env = {**os.environ, "LOYALTY_DATABASE_URL": store.url, "LOYALTY_RULES_DIR": str(ROOT / "rules"),
           "LOYALTY_DAILY_CHUNK": str(chunk)}
    command = [sys.executable, "-c", "from loyalty.cli import main; main()", "run-daily", "--date", NIGHT.isoformat()]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_once_tiers_are_under_way(process: subprocess.Popen) -> list[str]:
    """Read the log until the first committed chunk of tier awards, then kill -9."""
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "run-daily tiers:" in line:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    process.stdout.close()
    process.stderr.close()
    return seen


def test_a_night_killed_partway_and_run_again_leaves_the_ledger_of_an_uninterrupted_night(two_databases):
    interrupted, whole = two_databases
    process = _run_daily(interrupted, chunk=25)
    log = _kill_once_tiers_are_under_way(process)
    assert process.returncode == -signal.SIGKILL, "".join(log)
    with interrupted.reading() as session:
        tiers = phase_progress(session, NIGHT, "tiers")
    assert not tiers.finished and 0 < tiers.customers < CUSTOMERS, "the kill came partway through the tiers"

    resumed = _run_daily(interrupted, chunk=25)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert "already done earlier: contracts, anniversaries, vesting, expiry" in out

    run_daily(whole, load_ruleset(ROOT / "rules"), NIGHT, lambda *_: None)

    assert ledger_snapshot(interrupted) == ledger_snapshot(whole)
    assert ledger_problems(interrupted) == []


def test_two_runs_of_the_same_night_at_once_share_the_work_and_give_everything_once(store):
    generate_demo(store, 400, 12, NIGHT)
    ruleset = load_ruleset(ROOT / "rules")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(run_daily, store, ruleset, NIGHT, lambda *_: None, chunk_size=20) for _ in range(2)]
        summaries = [run.result(timeout=120) for run in runs]
    given = ledger_snapshot(store)["awards"]
    assert sum(s.awards for s in summaries) == len(given) > 300
    assert len({(a[0], a[1], a[2]) for a in given}) == len(given)
    assert ledger_problems(store) == []
