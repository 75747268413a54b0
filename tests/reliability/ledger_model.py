"""A plain Python model of customers' lots, written apart from `loyalty.ledger`, for the stateful test.

It knows only the business words: lots are spent and expire soonest expiry first (never-expiring
last, then earned time, then id), pending lots vest into new available lots, a void or clawback
empties an award's lots and marks them, a refund puts points back into the very lots they came
from, and points put back into an expired or revoked lot leave again at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

AVAILABLE, PENDING, STATUS = "available", "pending", "status"


@dataclass
class ModelLot:
    """One lot as the model remembers it; `id` is the one the database gave it."""

    id: int
    customer: str
    account: str
    amount: int
    earned_at: datetime
    expires_on: date | None = None
    vests_on: date | None = None
    reference: str | None = None
    origin: int | None = None
    remaining: int = -1
    revoked: bool = False

    def __post_init__(self) -> None:
        if self.remaining < 0:
            self.remaining = self.amount

    def order(self) -> tuple:
        """Soonest expiry first, never-expiring last, then earned time, then id."""
        return (self.expires_on is None, self.expires_on or date.max, self.earned_at, self.id)

    def is_gone(self, today: date) -> bool:
        return self.expires_on is not None and self.expires_on <= today


@dataclass
class Posting:
    """A credit or debit the model remembers, for refunds and reversals: lot id -> points moved."""

    transaction_id: int
    customer: str
    moves: dict[int, int]
    is_debit: bool = False
    given_back: bool = False


@dataclass
class Books:
    """Every customer's lots, and the postings that may still be given back."""

    lots: dict[int, ModelLot] = field(default_factory=dict)
    spends: list[Posting] = field(default_factory=list)
    reversible: list[Posting] = field(default_factory=list)
    """Awards and adjustments either way: what `reverse` may mirror."""

    def of(self, customer: str, account: str) -> list[ModelLot]:
        return sorted((lot for lot in self.lots.values()
                       if lot.customer == customer and lot.account == account), key=ModelLot.order)

    def spendable(self, customer: str, today: date, account: str = AVAILABLE) -> int:
        """Points a debit may take today: held, and not past their expiry."""
        return sum(lot.remaining for lot in self.of(customer, account) if not lot.is_gone(today))

    def held(self, customer: str, account: str) -> int:
        """What the account's balance must be: every point left in its lots."""
        return sum(lot.remaining for lot in self.of(customer, account))

    def pending_shown(self, customer: str, today: date) -> int:
        return sum(lot.remaining for lot in self.of(customer, PENDING) if not lot.is_gone(today))

    def debit(self, customer: str, points: int, today: date, account: str = AVAILABLE) -> dict[int, int] | None:
        """Take `points` soonest-expiry first; None (and nothing taken) when there are too few."""
        if self.spendable(customer, today, account) < points:
            return None
        taken, left = {}, points
        for lot in self.of(customer, account):
            if left and lot.remaining and not lot.is_gone(today):
                take = min(lot.remaining, left)
                lot.remaining -= take
                taken[lot.id] = take
                left -= take
        return taken

    def expire(self, customer: str, today: date) -> int:
        """Empty every reward lot past its expiry; the points expired."""
        gone = 0
        for account in (AVAILABLE, PENDING):
            for lot in self.of(customer, account):
                if lot.remaining and lot.is_gone(today):
                    gone, lot.remaining = gone + lot.remaining, 0
        return gone

    def due_to_vest(self, customer: str, today: date) -> list[ModelLot]:
        return [lot for lot in self.of(customer, PENDING)
                if lot.remaining and lot.vests_on is not None and lot.vests_on <= today]

    def vest(self, pending: ModelLot, new_id: int) -> None:
        """The pending lot's points move into a new available lot with its expiry and reference."""
        self.lots[new_id] = ModelLot(new_id, pending.customer, AVAILABLE, pending.remaining, pending.earned_at,
                                     pending.expires_on, pending.vests_on, pending.reference, pending.id)
        pending.remaining = 0

    def release(self, customer: str, reference: str) -> tuple[dict[str, int], int]:
        """A void or clawback: what each account gives up, and the shortfall (earned but not held)."""
        lots = [lot for lot in self.lots.values() if lot.customer == customer and lot.reference == reference]
        taken = {AVAILABLE: 0, PENDING: 0, STATUS: 0}
        earned = sum(lot.amount for lot in lots if lot.origin is None)
        held = sum(lot.remaining for lot in lots)
        for lot in lots:
            taken[lot.account] += lot.remaining
            lot.remaining, lot.revoked = 0, True
        return taken, earned - held

    def put_back(self, moves: dict[int, int], today: date) -> tuple[int, int]:
        """Points back into the lots they left; (expired again, clawed back again) at once."""
        for lot_id, points in moves.items():
            self.lots[lot_id].remaining += points
        restored = [self.lots[lot_id] for lot_id in moves]
        expired = clawed = 0
        for lot in restored:
            if lot.account != STATUS and lot.remaining and lot.is_gone(today):
                expired, lot.remaining = expired + lot.remaining, 0
        for lot in restored:
            if lot.revoked and lot.remaining:
                clawed, lot.remaining = clawed + lot.remaining, 0
        return expired, clawed

    def is_untouched(self, credit: Posting) -> bool:
        """A credit can be reversed only while each of its lots still holds all it gave."""
        return all(self.lots[lot_id].remaining >= points for lot_id, points in credit.moves.items())
