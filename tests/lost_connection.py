"""What a PostgreSQL server restart does to a store's pooled connection, for the tests that survive it."""
from __future__ import annotations

from sqlalchemy import func, select, text

from loyalty.store import Store


def only_pooled_connection(store: Store) -> int:
    """Empty the store's pool, then leave one connection in it: its server process id."""
    store.engine.dispose()
    return store.read(lambda session: session.scalar(select(func.pg_backend_pid())))


def terminate(store: Store, pid: int) -> None:
    """End one server process from a connection outside the store's pool, as a restart would."""
    admin = Store(store.url)
    try:
        with admin.engine.begin() as connection:
            assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()
