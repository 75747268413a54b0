"""`loyalty db`: bring the database to the newest schema, and say which revision it is at."""
from __future__ import annotations

import click
from sqlalchemy import make_url

from loyalty.cli.context import open_store
from loyalty.store.migrate import current_revision, head_revision, new_revision, upgrade


@click.group("db")
def db() -> None:
    """The database schema and its migrations."""


def _where(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@db.command("upgrade")
def upgrade_command() -> None:
    """Apply every migration the database has not had yet; safe to run again."""
    store = open_store()
    try:
        upgrade(store.engine)
        click.echo(f"{_where(store.url)} is at revision {current_revision(store.engine)} (newest).")
    finally:
        store.dispose()


@db.command("current")
def current_command() -> None:
    """Print the database's revision, and whether it is the newest."""
    store = open_store()
    try:
        revision = current_revision(store.engine)
    finally:
        store.dispose()
    head = head_revision()
    if revision is None:
        click.echo(f"{_where(store.url)} has no schema yet; run `loyalty db upgrade` (newest: {head}).")
    elif revision == head:
        click.echo(f"{_where(store.url)} is at revision {revision} (newest).")
    else:
        click.echo(f"{_where(store.url)} is at revision {revision}; newest is {head}: run `loyalty db upgrade`.")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes, in a few words.")
def revision_command(message: str) -> None:
    """For developers: autogenerate a migration for tables changed since the newest one."""
    path = new_revision(message)
    click.echo(f"Wrote {path}; read it before committing.")
