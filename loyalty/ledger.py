"""Points kept like money: accounts, lots and posting plans, on plain values (no database here).

Every change to points is a `Plan`: double-entry amounts per account that sum to zero per currency,
plus the lots it creates and the change it makes to each existing lot's `remaining`. The store
(`loyalty.store.ledger`) reads lots, asks a function below for the plan, and writes it. Keeping the
arithmetic here lets unit tests and the stateful test check it without a database.

Words: a lot's `expires_on` is the first local day its points are gone; `vests_on` the first local
day pending points become spendable. Lots are spent and expire oldest-expiry first, lots that never
expire last, ties by earned order.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from loyalty.errors import InsufficientPoints, LedgerInvariantBroken, NotReversible

REWARD, STATUS = "reward", "status"
"""The two currencies: reward points are spent and expire, status points only count towards a tier."""

AVAILABLE, PENDING, STATUS_POINTS = "available", "pending", "status"
"""A customer's three accounts: spendable reward points, not-yet-vested reward points, status points."""
CUSTOMER_ACCOUNTS = {AVAILABLE: REWARD, PENDING: REWARD, STATUS_POINTS: STATUS}

ISSUANCE, REDEMPTION, EXPIRY, CLAWBACK, ADJUSTMENT = (
    "issuance", "redemption", "expiry", "clawback", "adjustment",
)
"""The programme's own accounts; their balances are the mirror image of what customers hold."""
SYSTEM_ACCOUNTS = (ISSUANCE, REDEMPTION, EXPIRY, CLAWBACK, ADJUSTMENT)

EARN, VEST, SPEND, REFUND, EXPIRE, VOID, CLAW_BACK, ADJUST, REVERSE = (
    "earn", "vest", "spend", "refund", "expire", "void", "clawback", "adjust", "reverse",
)
TRANSACTION_KINDS = (EARN, VEST, SPEND, REFUND, EXPIRE, VOID, CLAW_BACK, ADJUST, REVERSE)
REFERENCED_ONCE = (EARN, SPEND, VOID, CLAW_BACK, ADJUST)
"""Kinds whose (customer, reference) may be posted only once: a replayed award pays nothing."""


@dataclass(frozen=True)
class AccountRef:
    """Names an account: a customer's (`customer_id` set) or the programme's (`customer_id` None)."""

    kind: str
    currency: str
    customer_id: str | None = None

    @property
    def code(self) -> str:
        """The account's unique key in storage."""
        if self.customer_id is None:
            return f"system:{self.kind}:{self.currency}"
        return f"customer:{self.customer_id}:{self.kind}"


def customer_account(customer_id: str, kind: str) -> AccountRef:
    """One of the customer's three accounts."""
    return AccountRef(kind, CUSTOMER_ACCOUNTS[kind], customer_id)


def system_account(kind: str, currency: str = REWARD) -> AccountRef:
    """One of the programme's accounts, in one currency."""
    return AccountRef(kind, currency)


@dataclass(frozen=True)
class LotState:
    """A lot as the store read it: `account` is the customer account kind it sits in."""

    id: int
    account: str
    amount: int
    remaining: int
    earned_at: datetime
    expires_on: date | None = None
    vests_on: date | None = None
    reference: str | None = None
    programme: str | None = None
    origin_lot_id: int | None = None
    revoked: bool = False

    def is_due_to_expire(self, today: date) -> bool:
        """Whether the lot's points are gone on `today` (and still held)."""
        return self.remaining > 0 and self.expires_on is not None and self.expires_on <= today


@dataclass(frozen=True)
class NewLot:
    """A lot a plan creates; its first allocation is `+amount`."""

    account: AccountRef
    amount: int
    earned_at: datetime
    expires_on: date | None = None
    vests_on: date | None = None
    programme: str | None = None
    reference: str | None = None
    origin_lot_id: int | None = None


@dataclass
class Plan:
    """One ledger transaction to write: entries, lot changes and new lots, balanced by `check`."""

    kind: str
    customer_id: str
    reference: str | None = None
    entries: dict[AccountRef, int] = field(default_factory=dict)
    allocations: list[tuple[int, str, int]] = field(default_factory=list)
    new_lots: list[NewLot] = field(default_factory=list)
    shortfall: int = 0
    revoke_lot_ids: list[int] = field(default_factory=list)

    def post(self, account: AccountRef, amount: int) -> None:
        """Add `amount` to the account's entry in this transaction."""
        self.entries[account] = self.entries.get(account, 0) + amount

    def take(self, lot: LotState, points: int, counter: AccountRef) -> None:
        """Move `points` out of `lot` (and its customer account) into `counter`."""
        self.allocations.append((lot.id, lot.account, -points))
        self.post(customer_account(self.customer_id, lot.account), -points)
        self.post(counter, points)

    def put_back(self, lot: LotState, points: int, counter: AccountRef) -> None:
        """Move `points` from `counter` back into `lot`."""
        self.allocations.append((lot.id, lot.account, points))
        self.post(customer_account(self.customer_id, lot.account), points)
        self.post(counter, -points)

    def add_lot(self, lot: NewLot, counter: AccountRef) -> None:
        """Create `lot`, funded from `counter`."""
        self.new_lots.append(lot)
        self.post(lot.account, lot.amount)
        self.post(counter, -lot.amount)

    @property
    def is_empty(self) -> bool:
        return not any(self.entries.values())

    def nonzero_entries(self) -> list[tuple[AccountRef, int]]:
        """The entries to write, in a stable order."""
        return sorted(((a, n) for a, n in self.entries.items() if n), key=lambda e: e[0].code)

    def lot_changes(self) -> dict[int, int]:
        """The net change to each lot held before, by lot id in id order, leaving out those that net to 0."""
        changes: dict[int, int] = defaultdict(int)
        for lot_id, _kind, delta in self.allocations:
            changes[lot_id] += delta
        return {lot_id: change for lot_id, change in sorted(changes.items()) if change}

    def points(self, kind: str) -> int:
        """The net change to one of the customer's accounts."""
        return self.entries.get(customer_account(self.customer_id, kind), 0)

    def check(self) -> None:
        """Refuse a plan that would not balance, per currency, and per customer account with its lots."""
        problems = []
        entries = self.nonzero_entries()
        if len(entries) < 2:
            problems.append(f"{self.kind}: {len(entries)} entries, a transaction needs at least 2")
        totals: dict[str, int] = defaultdict(int)
        for account, amount in entries:
            totals[account.currency] += amount
        problems += [f"{self.kind}: {c} entries sum to {t}" for c, t in totals.items() if t]
        lots: dict[str, int] = defaultdict(int)
        for _lot_id, kind, delta in self.allocations:
            lots[kind] += delta
        for lot in self.new_lots:
            lots[lot.account.kind] += lot.amount
        for kind in CUSTOMER_ACCOUNTS:
            if lots[kind] != self.points(kind):
                problems.append(f"{self.kind}: {kind} lots move {lots[kind]}, entries {self.points(kind)}")
        if problems:
            raise LedgerInvariantBroken(problems)


def local_date(moment: datetime, time_zone: str) -> date:
    """The calendar day `moment` falls on where the customer lives."""
    return moment.astimezone(ZoneInfo(time_zone)).date()


def spend_order(lot: LotState) -> tuple:
    """Oldest expiry first, lots that never expire last, ties by earned order."""
    return (lot.expires_on is None, lot.expires_on or date.max, lot.earned_at, lot.id)


def spendable(lots: Iterable[LotState], today: date, account: str = AVAILABLE) -> list[LotState]:
    """The unexpired lots of one account with points left, in the order they are spent."""
    kept = [
        lot for lot in lots
        if lot.account == account and lot.remaining > 0 and not lot.is_due_to_expire(today)
    ]
    return sorted(kept, key=spend_order)


def allocate(
    lots: Iterable[LotState], points: int, today: date, account: str = AVAILABLE,
) -> list[tuple[LotState, int]]:
    """Which lots a debit of `points` consumes, and how much of each; all or nothing."""
    if points <= 0:
        raise ValueError(f"a debit takes a positive number of points, not {points}")
    ordered = spendable(lots, today, account)
    available = sum(lot.remaining for lot in ordered)
    if available < points:
        raise InsufficientPoints(available=available, requested=points)
    taken, left = [], points
    for lot in ordered:
        if left == 0:
            break
        take = min(lot.remaining, left)
        taken.append((lot, take))
        left -= take
    return taken


def plan_earn(
    customer_id: str, *, points: int, status_points: int, earned_at: datetime,
    expires_on: date | None = None, vests_on: date | None = None, programme: str | None = None,
    reference: str | None = None, kind: str = EARN, counter: str = ISSUANCE,
) -> Plan:
    """New lots for an award (or a positive adjustment): pending when `vests_on` is given."""
    if points < 0 or status_points < 0 or points + status_points == 0:
        raise ValueError("an award credits a positive number of points")
    plan = Plan(kind, customer_id, reference)
    common = dict(earned_at=earned_at, programme=programme, reference=reference)
    if points:
        where = PENDING if vests_on is not None else AVAILABLE
        lot = NewLot(customer_account(customer_id, where), points, expires_on=expires_on,
                     vests_on=vests_on, **common)
        plan.add_lot(lot, system_account(counter, REWARD))
    if status_points:
        lot = NewLot(customer_account(customer_id, STATUS_POINTS), status_points, **common)
        plan.add_lot(lot, system_account(counter, STATUS))
    return plan


def plan_debit(
    customer_id: str, lots: Iterable[LotState], points: int, today: date, *,
    kind: str = SPEND, counter: str = REDEMPTION, reference: str | None = None,
    account: str = AVAILABLE,
) -> Plan:
    """Spend `points` oldest-expiry first into `counter` (a redemption, a negative adjustment)."""
    plan = Plan(kind, customer_id, reference)
    for lot, take in allocate(lots, points, today, account):
        plan.take(lot, take, system_account(counter, CUSTOMER_ACCOUNTS[account]))
    return plan


def plan_expire(customer_id: str, lots: Iterable[LotState], today: date,
                reference: str | None = None) -> Plan:
    """Everything still held in lots whose `expires_on` is on or before `today` goes to expiry."""
    plan = Plan(EXPIRE, customer_id, reference or today.isoformat())
    for lot in sorted(lots, key=spend_order):
        if lot.account in (AVAILABLE, PENDING) and lot.is_due_to_expire(today):
            plan.take(lot, lot.remaining, system_account(EXPIRY, REWARD))
    return plan


def plan_vest(customer_id: str, lots: Iterable[LotState], today: date) -> Plan:
    """Pending lots whose `vests_on` has come move, as new available lots, into the spendable account."""
    plan = Plan(VEST, customer_id, today.isoformat())
    for lot in sorted(lots, key=spend_order):
        if lot.account != PENDING or lot.remaining == 0 or lot.vests_on is None or lot.vests_on > today:
            continue
        plan.allocations.append((lot.id, PENDING, -lot.remaining))
        plan.post(customer_account(customer_id, PENDING), -lot.remaining)
        moved = NewLot(customer_account(customer_id, AVAILABLE), lot.remaining, lot.earned_at,
                       lot.expires_on, lot.vests_on, lot.programme, lot.reference, origin_lot_id=lot.id)
        plan.new_lots.append(moved)
        plan.post(moved.account, moved.amount)
    return plan


def plan_release(
    kind: str, customer_id: str, lots: Sequence[LotState], reference: str | None = None,
) -> Plan:
    """Take back what is still held in `lots` (a void or a clawback); the rest is the shortfall.

    Pending points go back to issuance (they were never given); points already available, and
    status points, go to clawback. Spent or expired points are not taken into a negative balance:
    they are the `shortfall`, recorded on the transaction.
    """
    plan = Plan(kind, customer_id, reference)
    for lot in sorted(lots, key=spend_order):
        if lot.remaining:
            counter = ISSUANCE if lot.account == PENDING else CLAWBACK
            plan.take(lot, lot.remaining, system_account(counter, CUSTOMER_ACCOUNTS[lot.account]))
        plan.revoke_lot_ids.append(lot.id)
    earned = sum(lot.amount for lot in lots if lot.origin_lot_id is None)
    held = sum(lot.remaining for lot in lots)
    plan.shortfall = earned - held
    return plan


def plan_reverse(
    kind: str, customer_id: str, entries: Iterable[tuple[AccountRef, int]],
    allocations: Iterable[tuple[int, int]], lots: dict[int, LotState], reference: str | None = None,
) -> Plan:
    """The mirror image of a transaction; refused if any of its lots no longer holds what it gave."""
    plan = Plan(kind, customer_id, reference)
    for account, amount in entries:
        plan.post(account, -amount)
    for lot_id, delta in allocations:
        lot = lots[lot_id]
        if lot.remaining - delta < 0:
            raise NotReversible(
                f"lot {lot_id} holds {lot.remaining} points, {delta} would have to come back out: "
                "its points are spent or gone; claw back what is left instead"
            )
        plan.allocations.append((lot_id, lot.account, -delta))
    return plan


def apply(lots: Iterable[LotState], plan: Plan) -> list[LotState]:
    """The lots as they are after `plan` (existing ones only), for follow-up plans."""
    delta: dict[int, int] = defaultdict(int)
    for lot_id, _kind, change in plan.allocations:
        delta[lot_id] += change
    return [replace(lot, remaining=lot.remaining + delta[lot.id]) for lot in lots]


def expiring_soon(lots: Iterable[LotState], today: date, within_days: int = 30) -> list[tuple[date, int]]:
    """Spendable points that will be gone within `within_days`, per expiry day, soonest first."""
    horizon = today + timedelta(days=within_days)
    days: dict[date, int] = defaultdict(int)
    for lot in spendable(lots, today):
        if lot.expires_on is not None and lot.expires_on <= horizon:
            days[lot.expires_on] += lot.remaining
    return sorted(days.items())
