"""`loyalty explain CUSTOMER_ID [--date D] [--event TYPE]`: why a customer is, or is not, rewarded.

Marketing reads every rule against the customer's facts as the database holds them: each
condition with the fact's value and the line of the rule file it comes from, and what stops a
matching rule (its validity window, a rule of its group with precedence).
"""
from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import click

from loyalty.cli.context import open_store, rules_dir
from loyalty.engine.explain import render_text
from loyalty.engine.facts import describe
from loyalty.engine.loader import load_ruleset
from loyalty.engine.model import EVENT_TYPES
from loyalty.services.customer_view import CustomerExplanation, explain_customer
from loyalty.store.tables.customers import DEFAULT_TIME_ZONE

SHORT_VERSION = 12


@click.command("explain")
@click.argument("customer_id")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The customer's local date to judge on (default: today).")
@click.option("--event", "event_type", type=click.Choice(EVENT_TYPES), default=None,
              help="Only the rules `on` this event type.")
def explain_command(customer_id: str, day: datetime | None, event_type: str | None) -> None:
    """Every rule, matched or not, with each condition's fact value, for one customer."""
    ruleset = load_ruleset(rules_dir())
    store = open_store()
    try:
        explained = explain_customer(store, ruleset, customer_id, _moment(day), event_type)
    finally:
        store.dispose()
    click.echo(describe_explanation(explained))


def _moment(day: datetime | None) -> datetime:
    """Midday of the date asked for where the customers are (the command reads the clock, not the service)."""
    zone = ZoneInfo(DEFAULT_TIME_ZONE)
    return datetime.combine(day.date(), time(12), zone) if day else datetime.now(zone)


def describe_explanation(explained: CustomerExplanation) -> str:
    """A header with the customer's facts, then one block per rule."""
    scope = f", rules on {explained.event_type}" if explained.event_type else ""
    header = (f"Customer {explained.customer_id} on {explained.today.isoformat()}{scope} "
              f"(ruleset {explained.ruleset_version[:SHORT_VERSION]})\n"
              f"Facts: {describe(explained.facts)}")
    return f"{header}\n\n{render_text(explained.rules)}"
