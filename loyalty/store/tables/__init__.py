"""Every table, imported here so that `Base.metadata` knows them all (Alembic reads it)."""
from loyalty.store.tables.customers import Contract, Customer
from loyalty.store.tables.daily_runs import DailyRunPhase, FactsClock
from loyalty.store.tables.events import Award, Event
from loyalty.store.tables.grants import Approval, Membership, ProgrammeBudgetLock, RewardGrant
from loyalty.store.tables.keys import ApiKey
from loyalty.store.tables.ledger import LedgerAccount, LedgerEntry, LedgerTransaction, Lot, LotAllocation
from loyalty.store.tables.audit import AuditRecord
from loyalty.store.tables.rewards import Reward
from loyalty.store.tables.redemptions import Redemption

__all__ = [
    "AuditRecord", "LedgerAccount", "LedgerEntry", "LedgerTransaction", "Lot", "LotAllocation",
    "Approval", "Award", "Event", "Membership", "ProgrammeBudgetLock", "RewardGrant",
    "ApiKey", "Redemption", "Reward", "Contract", "Customer", "DailyRunPhase", "FactsClock"]
