"""`loyalty demo --customers N`: fill the database with sample customers and contracts."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from datetime import date, datetime
from typing import Iterator
from zoneinfo import ZoneInfo

import click
from rich.progress import MofNCompleteColumn, Progress, TimeRemainingColumn
from sqlalchemy import inspect

from loyalty.cli.context import open_store
from loyalty.services.demo import DemoSummary, generate_demo, is_demo_loaded
from loyalty.store.tables.customers import DEFAULT_TIME_ZONE


def local_today() -> date:
    """Today's date where the customers are, which is when anniversaries fall."""
    return datetime.now(ZoneInfo(DEFAULT_TIME_ZONE)).date()


@click.command("demo")
@click.option("--customers", type=click.IntRange(min=1), required=True, help="How many customers to add.")
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed gives the same rows.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The date the data is generated for (default: today in Asia/Ho_Chi_Minh).")
@click.option("--if-absent", is_flag=True,
              help="Leave the database as it is when this seed is already loaded (for scripts run twice).")
def demo(customers: int, seed: int, today: datetime | None, if_absent: bool) -> None:
    """Add sample customers with Vietnamese names and 1-3 contracts each."""
    day = today.date() if today else local_today()
    store = open_store()
    try:
        if not inspect(store.engine).has_table("customers"):
            raise click.ClickException("The database has no tables yet; run `loyalty db upgrade` first.")
        if if_absent and is_demo_loaded(store, seed):
            click.echo(f"demo: the customers of seed {seed} are already loaded; nothing added.")
            return
        started = time.perf_counter()
        with _progress_reporter(customers) as report:
            summary = generate_demo(store, customers, seed, day, progress=report)
    finally:
        store.dispose()
    click.echo(_describe(summary, day, time.perf_counter() - started))


@contextmanager
def _progress_reporter(total: int) -> Iterator:
    """A progress bar on a terminal; elsewhere (logs, CI) a plain line every tenth of the way."""
    if sys.stderr.isatty():
        columns = (*Progress.get_default_columns()[:-1], MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=True) as bar:
            task = bar.add_task("Demo customers", total=total)
            yield lambda done, _total: bar.update(task, completed=done)
        return
    step = max(total // 10, 1)
    reported = [0]

    def log_line(done: int, total_: int) -> None:
        if done - reported[0] >= step or done == total_:
            reported[0] = done
            click.echo(f"demo: {done:,} of {total_:,} customers written", err=True)

    yield log_line


def _describe(summary: DemoSummary, day: date, seconds: float) -> str:
    segments = ", ".join(f"{count:,} {name}" for name, count in sorted(summary.segments.items()))
    return (f"Added {summary.customers:,} demo customers ({summary.first_id} to {summary.last_id}) "
            f"with {summary.contracts:,} contracts, {summary.cancelled_contracts:,} cancelled, "
            f"in {seconds:.1f} s: {segments}; {summary.anniversaries_today:,} have their "
            f"anniversary on {day.isoformat()}.")
