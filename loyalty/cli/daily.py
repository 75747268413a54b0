"""`loyalty run-daily [--date D]`: the nightly run (contracts, anniversaries, vesting, expiry, tiers).

The command reads the clock (the service never does): the date defaults to today in
Asia/Ho_Chi_Minh, and then the recent nights that never finished run first, oldest first
(`loyalty.services.nights_due`). On a terminal it shows a progress bar per phase; elsewhere (cron,
logs) it writes one plain log line per committed chunk. Interrupted, it is simply run again, or
tomorrow's run finishes it. A summary line per night goes to stdout.
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
from loyalty.services.nights_due import CATCH_UP_NIGHTS, NightsDue, nights_due

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
@click.option("--catch-up-days", type=click.IntRange(min=0), default=CATCH_UP_NIGHTS, show_default=True,
              help="Without --date, first finish the unfinished nights of this many days before today "
                   "(missed while the machine was down, or killed); 0: tonight's only.")
def run_daily_command(day: datetime | None, chunk_size: int | None, full_review: bool, catch_up_days: int) -> None:
    """Give the night's anniversary thanks and tiers, end contracts, vest and expire points."""
    chunk = chunk_size or int(os.environ.get(CHUNK_VARIABLE) or CHUNK)
    ruleset = load_ruleset(rules_dir())
    store = open_store()
    try:
        due = NightsDue([day.date()], []) if day else nights_due(store, local_today(), catch_up_days)
        with _progress_reporter() as report:
            # the night takes free rewards' stock: the catalogue must be the ruleset's, as the API makes it
            log.info("reward catalogue synced: %s", sync_catalogue(store, ruleset.rewards))
            for night in due.nights:
                started = time.perf_counter()
                summary = run_daily(store, ruleset, night, _naming(night, report) if len(due.nights) > 1 else report,
                                    chunk_size=chunk, full_review=full_review)
                click.echo(describe(summary, time.perf_counter() - started))
    finally:
        store.dispose()
    if due.left_unfinished:
        first, last = due.left_unfinished[0], due.left_unfinished[-1]
        click.echo(f"{len(due.left_unfinished):,} earlier nights, {first.isoformat()} to {last.isoformat()}, never "
                   f"finished and are older than {catch_up_days} days: run each with "
                   f"`loyalty run-daily --date YYYY-MM-DD`, oldest first.", err=True)


def _naming(night, report):
    """Progress that says which night, when a run catches up on more than one."""
    return lambda phase, done, total: report(f"{night.isoformat()} {phase}", done, total)


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
            f"{summary.stopped_by_limits:,} stopped by budgets, caps or stock, in {seconds:.1f} s{again}."
            + (f" The daily rules read {summary.reviewed:,} customers, {summary.review}." if summary.review else ""))
