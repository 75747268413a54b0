"""Creating and upgrading the schema: only ever through the Alembic migrations.

Tests, benchmarks and `loyalty db upgrade` all build their databases with `create_schema`, so every
test runs on the migrated schema; `tests/store/test_migrations.py` proves it equals the tables the
code declares (a table or column added without a migration fails that test by name).
"""
from __future__ import annotations

from sqlalchemy import Engine

from loyalty.store.migrate import upgrade


def create_schema(engine: Engine) -> None:
    """Bring a database to the newest schema by running every migration it has not had."""
    upgrade(engine)
