"""Every table, imported here so that `Base.metadata` knows them all (Alembic reads it)."""
from loyalty.store.tables.customers import Contract, Customer
from loyalty.store.tables.keys import ApiKey
from loyalty.store.tables.rewards import Reward

__all__ = ["ApiKey", "Contract", "Customer", "Reward"]
