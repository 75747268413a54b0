"""The `loyalty` command: a composition root that builds the store and hands it to services.

Exit status: 0 on success, 1 on a user error (a `LoyaltyError`, printed as its message),
2 on bad usage (click's own). One module per command group keeps each small.
"""
from __future__ import annotations

import sys

import click

from loyalty.errors import LoyaltyError


class LoyaltyGroup(click.Group):
    """A group that turns every domain refusal into a message and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LoyaltyError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(1)


@click.group(cls=LoyaltyGroup)
@click.version_option(package_name="loyalty-engine")
def main() -> None:
    """Loyalty and appreciation programmes: rules, points, rewards."""


def _register_commands() -> None:
    """Each command group lives in its own module of this package; add it here."""
    from loyalty.cli.keys import keys
    from loyalty.cli.serve import serve

    main.add_command(keys)
    main.add_command(serve)
    from loyalty.cli.db import db
    from loyalty.cli.demo import demo

    main.add_command(db)
    main.add_command(demo)
    from loyalty.cli.rules import rules

    main.add_command(rules)
    from loyalty.cli.simulate import simulate_command

    rules.add_command(simulate_command)
    from loyalty.cli.ledger import ledger

    main.add_command(ledger)
    from loyalty.cli.daily import run_daily_command

    main.add_command(run_daily_command)
    from loyalty.cli.nights import nights_command

    main.add_command(nights_command)
    from loyalty.cli.explain import explain_command

    main.add_command(explain_command)


_register_commands()
