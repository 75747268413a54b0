"""`loyalty rules simulate DRAFT_DIR [--date D]`: what publishing a draft would change, before publishing it.

The same `simulate` as `POST /rules/simulate`, read-only; an invalid draft exits 1 with its problems.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from loyalty.cli.context import open_store, rules_dir
from loyalty.engine.loader import load_ruleset
from loyalty.services.simulate import CustomerChange, Simulation, simulate
from loyalty.store.tables.customers import DEFAULT_TIME_ZONE

SHORT_VERSION = 12


@click.command("simulate")
@click.argument("draft_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to simulate (default: today where the customers are).")
def simulate_command(draft_dir: Path, day: datetime | None) -> None:
    """Compare a draft rules directory with the rules in force: customers thanked, events replayed, cost."""
    draft = load_ruleset(draft_dir)
    in_force = load_ruleset(rules_dir())
    today = day.date() if day else datetime.now(ZoneInfo(DEFAULT_TIME_ZONE)).date()
    store = open_store()
    try:
        simulation = simulate(store, in_force, draft, today)
    finally:
        store.dispose()
    click.echo(render_simulation(simulation))


def render_simulation(simulation: Simulation) -> str:
    """The headline figures as marketing reads them: per time-event rule, then the replay."""
    s, r = simulation, simulation.replay
    lines = [f"Draft {s.draft_version[:SHORT_VERSION]} against the rules in force "
             f"{s.in_force_version[:SHORT_VERSION]}, on {s.today.isoformat()}", "",
             "Every customer: anniversaries in the coming year, daily rules tonight",
             f"  {'rule':<32} {'on':<12} {'draft':>28} {'in force':>28}"]
    for e in s.time_events:
        lines.append(f"  {e.rule_id:<32} {e.on:<12} {_thanked(e.draft_customers, e.draft_points):>28} "
                     f"{_thanked(e.in_force_customers, e.in_force_points):>28}")
    change = s.time_events_points_draft - s.time_events_points_in_force
    lines += [f"  {s.time_events_gainers:,} customers gain, {s.time_events_losers:,} lose",
              f"  points: {s.time_events_points_draft:,} under the draft, {s.time_events_points_in_force:,} "
              f"in force ({change:+,})", ""]
    bound = f"; only the newest {r.max_events:,} were replayed" if r.truncated else ""
    lines += [f"Replay of {r.events:,} events from {r.since.isoformat()} to {s.today.isoformat()} "
              f"(last {r.days} days, at most {r.max_events:,}{bound})",
              f"  {r.gainers:,} customers gain, {r.losers:,} lose",
              f"  points: {r.points_given:,} given, {r.points_draft:,} under the draft ({r.points_delta:+,})",
              f"  goodwill: {r.goodwill_given:,} VND given, {r.goodwill_draft:,} VND under the draft "
              f"({r.goodwill_delta:+,} VND)"]
    lines += _changes("Gain most", r.top_gainers) + _changes("Lose most", r.top_losers)
    return "\n".join(lines)


def _thanked(customers: int, points: int) -> str:
    return f"{customers:,} for {points:,} pts"


def _changes(title: str, changes: tuple[CustomerChange, ...]) -> list[str]:
    if not changes:
        return []
    return [f"  {title}:"] + [f"    {c.delta:+,}  {c.customer_id}  {c.name}  ({c.points_given:,} -> {c.points_draft:,})"
                              for c in changes]
