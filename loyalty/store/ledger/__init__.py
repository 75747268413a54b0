"""The points ledger, at the level of one SQLAlchemy Session: the caller's transaction commits it.

Writers (each locks the customer, then its accounts in id order, and writes an audit row):
`earn`, `spend`, `adjust`, `refund`, `reverse`, `expire`, `vest`, `void_pending`, `clawback`.
Readers: `balance`, `expiring_soon`, `history`, `customers_with_due_lots`. Checks: `verify`, `summary`.
The pure arithmetic lives in `loyalty.ledger`; the words in DESIGN.md and docs/decisions.md.
"""
from loyalty.store.ledger.movements import (
    Released, clawback, customers_with_due_lots, expire, refund, reverse, vest, void_pending,
)
from loyalty.store.ledger.operations import adjust, earn, spend
from loyalty.store.ledger.posting import Posted, Why
from loyalty.store.ledger.queries import (
    Balance, HistoryEntry, HistoryPage, Summary, balance, expiring_soon, history, summary,
)
from loyalty.store.ledger.verify import Problem, verify

__all__ = [
    "Balance", "HistoryEntry", "HistoryPage", "Posted", "Problem", "Released", "Summary", "Why",
    "adjust", "balance", "clawback", "customers_with_due_lots", "earn", "expire", "expiring_soon",
    "history", "refund", "reverse", "spend", "summary", "verify", "vest", "void_pending",
]
