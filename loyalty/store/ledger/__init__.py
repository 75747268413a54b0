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
from loyalty.store.ledger.posting import Posted

__all__ = [
    "Posted", "Released", "adjust", "clawback", "customers_with_due_lots", "earn", "expire",
    "refund", "reverse", "spend", "vest", "void_pending",
]
