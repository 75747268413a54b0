"""`loyalty keys`: issue, revoke and list API keys; a new key is printed once, never stored."""
from __future__ import annotations

from datetime import datetime, timezone

import click

from loyalty.cli.context import open_store
from loyalty.services.keys import create_key, list_keys, revoke_key
from loyalty.store.tables.keys import ROLES


@click.group("keys")
def keys() -> None:
    """API keys for billing, marketing, customers and admins."""


@keys.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the key may do.")
@click.option("--customer", "customer_id", default=None, help="The customer a customer key speaks for.")
def create(role: str, customer_id: str | None) -> None:
    """Issue a key and print it once: store it now, it cannot be shown again."""
    issued = create_key(open_store(), role, customer_id, datetime.now(timezone.utc))
    who = f" for customer {customer_id}" if customer_id else ""
    click.echo(f"Key {issued.identity.key_id} ({role}{who}) created. It is shown only this once:", err=True)
    click.echo(issued.token)


@keys.command("revoke")
@click.argument("key_id", type=int)
def revoke(key_id: int) -> None:
    """Refuse a key from now on (running API workers notice within seconds)."""
    summary = revoke_key(open_store(), key_id, datetime.now(timezone.utc))
    click.echo(f"Key {summary.key_id} ({summary.role}) revoked at {summary.revoked_at.isoformat()}.")


@keys.command("list")
def list_() -> None:
    """Every key: id, public prefix, role, customer, when created and revoked (never the secret)."""
    for key in list_keys(open_store()):
        revoked = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
        customer = key.customer_id or "-"
        click.echo(f"{key.key_id}\t{key.prefix}\t{key.role}\t{customer}\t"
                   f"{key.created_at.isoformat()}\t{revoked}")
