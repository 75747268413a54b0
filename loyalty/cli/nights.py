"""`loyalty nights [--days N] [--check]`: the recent nightly runs, one line each, newest first.

For the operator's morning look and for monitoring: with `--check` the exit status is 1 when a
night of the window has not finished (started and stopped, never ran, or today's not run yet), so
a monitoring agent checking in the morning can page someone before the customers whose
anniversary it was notice.
"""
from __future__ import annotations

import sys

import click

from loyalty.cli.context import open_store
from loyalty.cli.demo import local_today
from loyalty.services.nights_report import (
    AUTOMATIC, BEFORE_FIRST, DUE, FINISHED, MAX_DAYS, MISSED, NightsReport, NightStatus, recent_nights,
)


@click.command("nights")
@click.option("--days", type=click.IntRange(min=1, max=MAX_DAYS), default=14, show_default=True,
              help="How many nights to show, today's included.")
@click.option("--check", is_flag=True, help="Exit 1 if a night shown has not finished, today's included (for monitoring).")
def nights_command(days: int, check: bool) -> None:
    """Show which recent nights finished, which did not, and what each gave."""
    store = open_store()
    try:
        report = recent_nights(store, local_today(), days)
    finally:
        store.dispose()
    for night in report.nights:
        click.echo(describe_night(night, report))
    unfinished = report.needing_attention
    if check and unfinished:
        click.echo(f"{len(unfinished):,} of the last {days:,} nights have not finished: "
                   f"{', '.join(n.day.isoformat() for n in reversed(unfinished))}.", err=True)
        sys.exit(1)


def describe_night(night: NightStatus, report: NightsReport) -> str:
    """One line: the date, its state, and the figures or what to do about it."""
    day = night.day.isoformat()
    if night.state == FINISHED:
        return (f"{day}  finished: {night.anniversaries:,} anniversaries, {night.awards:,} awards, "
                f"{night.points:,} points, {night.moved('contracts'):,} contracts ended, "
                f"{night.moved('vesting'):,} points vested, {night.moved('expiry'):,} points expired, "
                f"{night.tier_changes:,} tier changes")
    if night.state == DUE:
        return f"{day}  not run yet: `loyalty run-daily` runs it"
    if night.state == BEFORE_FIRST:
        return f"{day}  before the first night the engine ran: nothing was due"
    what = ("missed: nothing of it ran" if night.state == MISSED else
            f"started, not finished (phases done: {', '.join(night.phases_finished) or 'none'})")
    if night.catch_up == AUTOMATIC:
        return f"{day}  {what}; the next `loyalty run-daily` runs it first"
    return (f"{day}  {what}; older than {report.catch_up_days} days, so run it by hand: "
            f"`loyalty run-daily --date {day}`")
