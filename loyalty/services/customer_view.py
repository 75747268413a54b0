"""What a customer (and billing, marketing) reads about one customer: points, ledger, explanation.

One read use case per endpoint, each in one read-only unit of work. The caller passes the moment
(`now`, aware); the customer's own time zone turns it into their local day, and every time shown
is in that zone, so Chị Lan in Hà Nội sees 10:00+07:00, not 03:00Z.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.engine.explain import RuleExplanation, explain
from loyalty.engine.facts import compute_facts
from loyalty.engine.model import EVENT_TYPES, Ruleset, Scalar
from loyalty.errors import FieldErrors
from loyalty.services.customers import contract_snapshots, customer_snapshot, find_customer
from loyalty.store import Store
from loyalty.store.ledger import HistoryEntry, history
from loyalty.store.ledger.queries import held_points, summarise
from loyalty.store.tables import Award, Customer, LedgerAccount, LedgerEntry
from loyalty.store.tables.customers import DEFAULT_TIME_ZONE

EXPIRING_WITHIN_DAYS = 30
AWARD_REFERENCE = re.compile(r"^award:(\d+)(?::|$)")


@dataclass(frozen=True)
class ExpiringPoints:
    """Spendable points that are gone on `expires_on`: `last_day` is the last day to spend them."""

    points: int
    expires_on: date

    @property
    def last_day(self) -> date:
        return self.expires_on - timedelta(days=1)


@dataclass(frozen=True)
class VestingPoints:
    """Pending points that become spendable on `vests_on`."""

    points: int
    vests_on: date


@dataclass(frozen=True)
class BalanceView:
    """The customer's points as of `as_of`: spendable, pending (with vesting days), status, tier."""

    customer_id: str
    as_of: datetime
    today: date
    time_zone: str
    reward_points: int
    pending_points: int
    status_points: int
    tier: str | None
    vesting: list[VestingPoints]
    expiring_soon: list[ExpiringPoints]
    """Spendable points gone within `EXPIRING_WITHIN_DAYS`, soonest first."""

    @property
    def expiring_points(self) -> int:
        return sum(item.points for item in self.expiring_soon)


@dataclass(frozen=True)
class LedgerLine:
    """One ledger entry on one of the customer's accounts, with what caused it."""

    entry_id: int
    transaction_id: int
    at: datetime
    kind: str
    account: str
    currency: str
    points: int
    balance_after: int
    """The account's balance right after this entry."""
    reference: str | None
    reason: str | None
    actor: str
    award_id: int | None = None
    programme_id: str | None = None
    rule_id: str | None = None

    def cursor(self) -> list[Any]:
        """The sort key of the ledger, newest first."""
        return [self.entry_id]


@dataclass(frozen=True)
class CustomerExplanation:
    """Every rule for one customer on their local day, with the facts the rules were tested on."""

    customer_id: str
    today: date
    event_type: str | None
    ruleset_version: str
    facts: dict[str, Scalar | None]
    rules: list[RuleExplanation]


def customer_balance(store: Store, customer_id: str, now: datetime) -> BalanceView:
    """The customer's points, tier and what expires within 30 days, on their local day at `now`."""
    held = held_points(store.engine, customer_id)
    zone = ZoneInfo(held.time_zone or DEFAULT_TIME_ZONE)
    as_of = now.astimezone(zone)
    today = as_of.date()
    if held.lots:
        seen = summarise(customer_id, held.lots, held.status_points, today, within_days=EXPIRING_WITHIN_DAYS)
        reward, pending = seen.reward_points, seen.pending_points
        vesting = [VestingPoints(points, day) for day, points in seen.vesting]
        expiring = [ExpiringPoints(points, day) for day, points in seen.expiring_soon]
    else:  # most customers hold no points: nothing to sum, vest or expire (what `summarise` gives for no lots)
        reward = pending = 0
        vesting, expiring = [], []
    return BalanceView(
        customer_id=customer_id, as_of=as_of, today=today, time_zone=zone.key,
        reward_points=reward, pending_points=pending, status_points=held.status_points, tier=held.tier,
        vesting=vesting, expiring_soon=expiring,
    )


def customer_ledger(store: Store, customer_id: str, after: Sequence[Any] | None, limit: int) -> list[LedgerLine]:
    """Up to `limit + 1` entries newest first, after the cursor key `after` (the last entry id seen)."""
    before_id = _entry_id_of(after)
    with store.reading() as session:
        zone = _zone_of(find_customer(session, customer_id))
        entries = history(session, customer_id, limit=limit + 1, before_id=before_id).entries
        balances = _balances_after(session, customer_id, entries)
        awards = _awards_named(session, entries)
        return [_line(entry, balances[entry.entry_id], awards, zone) for entry in entries]


def explain_customer(store: Store, ruleset: Ruleset, customer_id: str, now: datetime,
                     event_type: str | None = None) -> CustomerExplanation:
    """Every rule (or those `on` event_type), matched or not, against the customer's facts today."""
    if event_type is not None and event_type not in EVENT_TYPES:
        raise FieldErrors({"event": [f"must be one of {', '.join(EVENT_TYPES)}"]}, "Unknown event type.")
    with store.reading() as session:
        customer = find_customer(session, customer_id)
        today = now.astimezone(_zone_of(customer)).date()
        facts = compute_facts(customer_snapshot(customer), contract_snapshots(session, customer_id), today)
    rules = explain(ruleset, facts, today, event_type=event_type)
    return CustomerExplanation(customer_id, today, event_type, ruleset.version, facts, rules)


def _zone_of(customer: Customer) -> ZoneInfo:
    return ZoneInfo(customer.time_zone or DEFAULT_TIME_ZONE)


def _entry_id_of(after: Sequence[Any] | None) -> int | None:
    if after is None:
        return None
    if len(after) != 1 or not isinstance(after[0], int) or isinstance(after[0], bool):
        raise FieldErrors({"cursor": ["Not a cursor of this ledger; start without one."]})
    return after[0]


def _balances_after(session: Session, customer_id: str, entries: list[HistoryEntry]) -> dict[int, int]:
    """Each entry's account balance right after it: the sum of that account's entries up to it.

    One grouped query sums what each of the customer's accounts held before the page's oldest
    entry; the page adds up from there. A customer's entries are written under the customer's
    lock, so ids grow in commit order and these sums never change afterwards.
    """
    if not entries:
        return {}
    oldest = min(entry.entry_id for entry in entries)
    held: dict[str, int] = dict(session.execute(
        select(LedgerAccount.kind, func.sum(LedgerEntry.amount))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.customer_id == customer_id, LedgerEntry.id < oldest)
        .group_by(LedgerAccount.kind)
    ).all())
    after: dict[int, int] = {}
    for entry in sorted(entries, key=lambda e: e.entry_id):
        held[entry.account] = (held.get(entry.account) or 0) + entry.points
        after[entry.entry_id] = held[entry.account]
    return after


def _awards_named(session: Session, entries: list[HistoryEntry]) -> dict[int, tuple[str, str]]:
    """(programme, rule) of every award the page's references name."""
    ids = {award_id for entry in entries if (award_id := _award_id(entry.reference)) is not None}
    if not ids:
        return {}
    query = select(Award.id, Award.programme_id, Award.rule_id).where(Award.id.in_(ids))
    return {award_id: (programme, rule) for award_id, programme, rule in session.execute(query)}


def _award_id(reference: str | None) -> int | None:
    match = AWARD_REFERENCE.match(reference or "")
    return int(match.group(1)) if match else None


def _line(entry: HistoryEntry, balance_after: int, awards: dict[int, tuple[str, str]], zone: ZoneInfo) -> LedgerLine:
    award_id = _award_id(entry.reference)
    programme, rule = awards.get(award_id, (None, None)) if award_id is not None else (None, None)
    return LedgerLine(
        entry_id=entry.entry_id, transaction_id=entry.transaction_id, at=entry.occurred_at.astimezone(zone),
        kind=entry.kind, account=entry.account, currency=entry.currency, points=entry.points,
        balance_after=balance_after, reference=entry.reference, reason=entry.reason, actor=entry.actor,
        award_id=award_id, programme_id=programme, rule_id=rule,
    )

