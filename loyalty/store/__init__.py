"""Storage: SQLAlchemy 2.x tables, the unit of work, and Alembic migrations.

The only package that opens database sessions. Composition roots (the app factory, the CLI)
build one `Store` from a URL and hand it to the services.
"""
from loyalty.store.session import Store, default_database_url

__all__ = ["Store", "default_database_url"]
