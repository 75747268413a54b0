"""Creating and upgrading the schema: Alembic migrations on a real database."""
from __future__ import annotations

from sqlalchemy import Engine

from loyalty.store import tables  # noqa: F401  (registers every table on Base.metadata)
from loyalty.store.base import Base


def create_schema(engine: Engine) -> None:
    """Bring the database to the newest schema.

    Until the first Alembic migration is written this creates the tables from the metadata;
    `upgrade` replaces it (see docs/decisions.md).
    """
    Base.metadata.create_all(engine)
