"""`loyalty run-daily [--date D]`: the nightly run (contracts, anniversaries, vesting, expiry, tiers).

The command reads the clock (the service never does): the date defaults to today in
Asia/Ho_Chi_Minh. On a terminal it shows a progress bar per phase; elsewhere (cron, logs) it
writes one plain log line per committed chunk. Interrupted, it is simply run again.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

import click
from rich.progress import MofNCompleteColumn, Progress, TimeRemainingColumn

from loyalty.cli.context import open_store, rules_dir
from loyalty.cli.demo import local_today
from loyalty.engine.loader import load_ruleset
from loyalty.services.catalogue import sync_catalogue
from loyalty.services.daily import CHUNK, DAILY_CHUNK_FACTOR, DailySummary, run_daily

CHUNK_VARIABLE = "LOYALTY_DAILY_CHUNK"
log = logging.getLogger("loyalty.daily")


@click.command("run-daily")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The local date of the night (default: today in Asia/Ho_Chi_Minh).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help=f"Customers per transaction (default: ${CHUNK_VARIABLE} or {CHUNK:,}; the daily rules scan "
                   f"{DAILY_CHUNK_FACTOR} times as many).")
@click.option("--full-review", is_flag=True,
              help="Have the daily rules read every customer, not only those whose facts moved since the "
                   "last night (the run does so by itself when the rules changed or a year began).")
def run_daily_command(day: datetime | None, chunk_size: int | None, full_review: bool) -> None:
    """Give the night's anniversary thanks and tiers, end contracts, vest and expire points."""
    night = day.date() if day else local_today()
    chunk = chunk_size or int(os.environ.get(CHUNK_VARIABLE) or CHUNK)
    ruleset = load_ruleset(rules_dir())
    store = open_store()
    started = time.perf_counter()
    try:
        with _progress_reporter() as report:
            # the night takes free rewards' stock: the catalogue must be the ruleset's, as the API makes it
            log.info("reward catalogue synced: %s", sync_catalogue(store, ruleset.rewards))
            summary = run_daily(store, ruleset, night, report, chunk_size=chunk, full_review=full_review)
    finally:
        store.dispose()
    click.echo(describe(summary, time.perf_counter() - started))


@contextmanager
def _progress_reporter() -> Iterator:
    """A bar per phase on a terminal; plain log lines (one per committed chunk) elsewhere."""
    if sys.stderr.isatty():
        columns = (*Progress.get_default_columns()[:-1], MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=True) as bar:
            tasks: dict[str, int] = {}

            def update(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(phase.capitalize(), total=total)
                bar.update(tasks[phase], completed=done, total=total)

            yield update
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield lambda phase, done, total: log.info("run-daily %s: %d of %d customers committed", phase, done, total)
    finally:
        log.removeHandler(handler)


def describe(summary: DailySummary, seconds: float) -> str:
    """The summary an operator reads in the morning."""
    again = (f" (already done earlier: {', '.join(summary.phases_already_done)})"
             if summary.phases_already_done else "")
    return (f"Night of {summary.day.isoformat()}: {summary.customers:,} customers, "
            f"{summary.anniversaries:,} anniversaries, {summary.awards:,} awards, {summary.points:,} points, "
            f"{summary.contracts_ended:,} contracts ended, {summary.vested:,} points vested, "
            f"{summary.expired:,} points expired, {summary.tier_changes:,} tier changes, "
            f"{summary.stopped_by_limits:,} stopped by budgets or caps, in {seconds:.1f} s{again}."
            + (f" The daily rules read {summary.reviewed:,} customers, {summary.review}." if summary.review else ""))
