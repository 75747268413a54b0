"""`loyalty ledger verify`: prove the points ledger agrees with itself, or name what does not."""
from __future__ import annotations

import click

from loyalty.cli.context import open_store
from loyalty.services.ledger_ops import verify_ledger


@click.group("ledger")
def ledger() -> None:
    """The points ledger."""


@ledger.command("verify")
def verify_command() -> None:
    """Check every invariant of the ledger; exit 1 listing the offending ids if one fails."""
    store = open_store()
    try:
        counts = verify_ledger(store)
    finally:
        store.dispose()
    click.echo(
        f"ledger OK: {counts.transactions:,} transactions, {counts.entries:,} entries, "
        f"{counts.accounts:,} accounts, {counts.lots:,} lots"
    )
