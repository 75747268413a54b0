"""Every table, imported here so that `Base.metadata` knows them all (Alembic reads it)."""
from loyalty.store.tables.customers import Contract, Customer

__all__ = ["Contract", "Customer"]
