"""Fixtures every layer shares: a store on SQLite and, when configured, on PostgreSQL.

Each test session gets its own SQLite file and its own PostgreSQL schema, so that several test
runs can share one server; each test starts from empty tables.
"""
from __future__ import annotations

import os
from typing import Iterator

import pytest

from loyalty.store import Store
from loyalty.store.base import Base
from loyalty.store.schema import create_schema
from loyalty.store.scratch import scratch_postgres_store
from loyalty.store.tables import FactsClock

POSTGRES_URL_VARIABLE = "LOYALTY_TEST_POSTGRES_URL"
DATABASES = ("sqlite", "postgresql")


def _postgres_url() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set: the PostgreSQL variant is skipped")
    return url


@pytest.fixture(scope="session")
def _sqlite_store(tmp_path_factory) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('db') / 'loyalty.db'}")
    create_schema(store.engine)
    yield store
    store.dispose()


@pytest.fixture(scope="session")
def _postgresql_store() -> Iterator[Store]:
    # The schema's name holds this process's id (and a random part): parallel sessions never meet.
    with scratch_postgres_store(_postgres_url(), "loyalty_test") as store:
        create_schema(store.engine)
        yield store


def empty_all_tables(store: Store) -> None:
    """Delete every row, children first, so the next test starts from nothing.

    The change clock's one row stays: the schema creates it, and the customers' triggers read it."""
    with store.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table is not FactsClock.__table__:
                connection.execute(table.delete())


@pytest.fixture(params=DATABASES, ids=DATABASES)
def store(request) -> Iterator[Store]:
    """An empty store, once on SQLite and once on PostgreSQL (skipped without its URL)."""
    chosen: Store = request.getfixturevalue(f"_{request.param}_store")
    empty_all_tables(chosen)
    yield chosen
    empty_all_tables(chosen)


@pytest.fixture
def sqlite_store(_sqlite_store) -> Iterator[Store]:
    """An empty SQLite store, for tests whose subject is not the database."""
    empty_all_tables(_sqlite_store)
    yield _sqlite_store
    empty_all_tables(_sqlite_store)


@pytest.fixture
def postgresql_store(_postgresql_store) -> Iterator[Store]:
    """An empty PostgreSQL store (skipped without its URL), for what only PostgreSQL does."""
    empty_all_tables(_postgresql_store)
    yield _postgresql_store
    empty_all_tables(_postgresql_store)
