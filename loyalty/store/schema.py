"""Creating and upgrading the schema.

Production databases are only ever changed by the Alembic migrations (`loyalty db upgrade`,
`loyalty.store.migrate.upgrade`). `create_schema` builds the test databases; while several tables
are still being written it creates them from the metadata, and `tests/store/test_migrations.py`
proves the migrations build that same schema. Once every table has its migration, `create_schema`
becomes `upgrade(engine)` (docs/decisions.md, "create_schema and the migrations").
"""
from __future__ import annotations

from sqlalchemy import Engine

from loyalty.store import tables  # noqa: F401  (registers every table on Base.metadata)
from loyalty.store.base import Base


def create_schema(engine: Engine) -> None:
    """Bring an empty database to the schema the tables declare, for tests and scratch use."""
    Base.metadata.create_all(engine)
