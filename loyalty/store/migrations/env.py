"""Alembic's entry point: runs the migrations on the connection `loyalty.store.migrate` hands in.

The same migrations serve SQLite and PostgreSQL: batch mode lets SQLite alter tables by copying
them, and `UTCDateTime` is rendered as the `DateTime(timezone=True)` it stores, so migration files
never import the application.
"""
from __future__ import annotations

from alembic import context

from loyalty.store import tables  # noqa: F401  (registers every table on Base.metadata)
from loyalty.store.base import Base, UTCDateTime


def render_item(kind: str, item, autogen_context):
    """Render our column types as plain SQLAlchemy types; everything else the default way."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection) -> None:
    """Migrate through `connection`, inside the transaction the caller already opened."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through loyalty.store.migrate, which passes a connection")
run_migrations(connection)
