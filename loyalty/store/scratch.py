"""A throwaway PostgreSQL schema, for tests and benchmarks that share one database.

`scratch_postgres_store` creates a uniquely named schema, yields a `Store` whose connections all
use it, and afterwards disposes the store and drops the schema with everything in it. It creates
no tables: callers decide whether to run `create_schema`, migrations, or nothing.

The schema is named in the store's URL (`options=-csearch_path=...`), so `store.url` reaches the
same schema from another process (a CLI run, a gunicorn worker, a generator subprocess).
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import make_url

from loyalty.store.session import Store


def scratch_schema_name(prefix: str) -> str:
    """A schema name no other process or call is using: prefix, process id, random part."""
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def url_in_schema(url: str, schema: str) -> str:
    """`url` with every connection's search_path set to `schema` (other query options kept)."""
    with_options = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return with_options.render_as_string(hide_password=False)


@contextmanager
def scratch_postgres_store(url: str, prefix: str, **engine_kwargs) -> Iterator[Store]:
    """A `Store` on a new, empty schema of the PostgreSQL database at `url`, dropped afterwards."""
    schema = scratch_schema_name(prefix)
    admin = Store(url)
    try:
        with admin.engine.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        store = Store(url_in_schema(url, schema), **engine_kwargs)
        try:
            yield store
        finally:
            store.dispose()
            with admin.engine.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()
