"""The Alembic migrations build, on both databases, exactly the schema the tables declare."""
from __future__ import annotations

import os
import uuid
from datetime import date
from typing import Iterator

import pytest
from sqlalchemy import select, text

from loyalty.store import Store
from loyalty.store.migrate import (
    MIGRATIONS_DIR,
    current_revision,
    describe_difference,
    head_revision,
    schema_differences,
    upgrade,
)
from loyalty.store.tables import Customer

DATABASES = ("sqlite", "postgresql")


@pytest.fixture(params=DATABASES, ids=DATABASES)
def empty_database(request, tmp_path) -> Iterator[Store]:
    """A database with no tables at all: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield store
        store.dispose()
        return
    url = os.environ.get("LOYALTY_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("LOYALTY_TEST_POSTGRES_URL is not set: the PostgreSQL variant is skipped")
    yield from _fresh_postgres_schema(url)


def _fresh_postgres_schema(url: str) -> Iterator[Store]:
    schema = f"loyalty_migrate_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = Store(url)
    with admin.engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = Store(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield store
    finally:
        store.dispose()
        with admin.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_the_migrated_schema_is_the_schema_the_tables_declare(empty_database):
    upgrade(empty_database.engine)
    differences = schema_differences(empty_database.engine)
    assert differences == [], (
        "The migrations do not build the declared tables; run "
        '`loyalty db revision -m "..."` and commit the new file. Differences:\n'
        + "\n".join(f"  {describe_difference(difference)}" for difference in differences)
    )


def test_a_new_database_has_no_revision_until_it_is_upgraded_to_the_newest(empty_database):
    assert current_revision(empty_database.engine) is None
    upgrade(empty_database.engine)
    assert current_revision(empty_database.engine) == head_revision()


def test_upgrading_again_keeps_the_schema_and_the_customers(empty_database):
    upgrade(empty_database.engine)
    with empty_database.transaction() as session:
        session.add(Customer(id="c1", name="Trần Thị Bích", segment="home",
                             customer_since=date(2020, 2, 29), region="Đà Nẵng"))
    upgrade(empty_database.engine)
    with empty_database.reading() as session:
        names = session.scalars(select(Customer.name)).all()
    assert names == ["Trần Thị Bích"]
    assert current_revision(empty_database.engine) == head_revision()


def test_upgrade_accepts_a_database_url_as_well_as_an_engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'by_url.db'}"
    upgrade(url)
    assert current_revision(url) == head_revision()


def test_migration_files_never_import_the_application():
    """An old migration must keep working after the tables' code changes."""
    versions = sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    assert versions, "there is no migration at all"
    importing = [path.name for path in versions if "loyalty" in path.read_text(encoding="utf-8")]
    assert importing == []
