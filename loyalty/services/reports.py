"""Marketing's programme report: points issued, redeemed, expired, clawed back and outstanding, per rule.

Read from the ledger in one GROUP BY over lot allocations (every movement of a lot is one), joined to
the transaction's kind and, through the lot's `award:<id>` reference, to the rule that gave it; goodwill
VND comes from the awards. Reward points only (status points are never spent). The figures reconcile:
issued - redeemed - expired - clawed back + adjusted = outstanding. With `since`/`until` (local dates,
inclusive) each figure is the movements in that period, and outstanding is what the period added.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, func, literal, select

from loyalty.engine.model import Ruleset
from loyalty.store import Store
from loyalty.store.tables import Award, LedgerAccount, LedgerTransaction, Lot, LotAllocation
from loyalty.store.tables.customers import DEFAULT_TIME_ZONE

COLUMN_OF_KIND = {"earn": "issued", "spend": "redeemed", "refund": "redeemed", "expire": "expired",
                  "void": "clawed_back", "clawback": "clawed_back", "adjust": "adjusted", "reverse": "adjusted"}
"""Where each ledger kind's movements count; `vest` moves points between a customer's own lots and nets to 0."""
SIGN = {"issued": 1, "redeemed": -1, "expired": -1, "clawed_back": -1, "adjusted": 1}
"""Debits are negative allocations; the report shows what left a lot as a positive number."""


@dataclass
class Figures:
    """Reward points and goodwill VND of one rule, or of a programme's rules together."""

    issued: int = 0
    redeemed: int = 0
    expired: int = 0
    clawed_back: int = 0
    adjusted: int = 0
    outstanding: int = 0
    goodwill_granted: int = 0
    goodwill_pending: int = 0

    def add(self, other: "Figures") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True)
class RuleReport:
    """One rule's figures; `rule_id` None: points with no rule behind them (adjustments)."""

    rule_id: str | None
    figures: Figures


@dataclass(frozen=True)
class ProgrammeReport:
    programme_id: str | None
    name: str | None
    figures: Figures
    rules: tuple[RuleReport, ...]


@dataclass(frozen=True)
class ProgrammesReport:
    since: date | None
    until: date | None
    programmes: tuple[ProgrammeReport, ...]
    totals: Figures


def programme_report(store: Store, ruleset: Ruleset, since: date | None = None,
                     until: date | None = None) -> ProgrammesReport:
    """Per programme and per rule, what the ledger and the awards say, optionally within local dates."""
    with store.reading() as session:
        by_rule: dict[tuple[str | None, str | None], Figures] = {}
        for programme, rule_id, kind, amount in session.execute(_points_query(since, until)):
            column = COLUMN_OF_KIND.get(kind)
            figures = by_rule.setdefault((programme, rule_id), Figures())
            figures.outstanding += int(amount)
            if column:
                setattr(figures, column, getattr(figures, column) + SIGN[column] * int(amount))
        for programme, rule_id, status, amount in session.execute(_goodwill_query(since, until)):
            figures = by_rule.setdefault((programme, rule_id), Figures())
            if status == "pending_approval":
                figures.goodwill_pending += int(amount)
            elif status == "granted":
                figures.goodwill_granted += int(amount)
    return _assemble(ruleset, since, until, by_rule)


def _points_query(since: date | None, until: date | None):
    award_reference = literal("award:") + cast(Award.id, String)
    query = (
        select(Lot.programme, Award.rule_id, LedgerTransaction.kind, func.sum(LotAllocation.amount))
        .join(Lot, Lot.id == LotAllocation.lot_id)
        .join(LedgerAccount, and_(LedgerAccount.id == Lot.account_id, LedgerAccount.currency == "reward"))
        .join(LedgerTransaction, LedgerTransaction.id == LotAllocation.transaction_id)
        .outerjoin(Award, Lot.reference == award_reference)
        .group_by(Lot.programme, Award.rule_id, LedgerTransaction.kind)
    )
    if since is not None:
        query = query.where(LedgerTransaction.occurred_at >= _local_midnight(since))
    if until is not None:
        query = query.where(LedgerTransaction.occurred_at < _local_midnight(until + timedelta(days=1)))
    return query


def _goodwill_query(since: date | None, until: date | None):
    query = (select(Award.programme_id, Award.rule_id, Award.status, func.sum(Award.goodwill))
             .where(Award.goodwill.is_not(None)).group_by(Award.programme_id, Award.rule_id, Award.status))
    if since is not None:
        query = query.where(Award.awarded_on >= since)
    if until is not None:
        query = query.where(Award.awarded_on <= until)
    return query


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(DEFAULT_TIME_ZONE))


def _assemble(ruleset: Ruleset, since, until, by_rule) -> ProgrammesReport:
    names = {programme.id: programme.name for programme in ruleset.programmes}
    programmes: list[ProgrammeReport] = []
    totals = Figures()
    for programme_id in sorted({p for p, _ in by_rule}, key=lambda p: (p is None, p or "")):
        rules = sorted(((r, f) for (p, r), f in by_rule.items() if p == programme_id),
                       key=lambda pair: (pair[0] is None, pair[0] or ""))
        figures = Figures()
        for _, rule_figures in rules:
            figures.add(rule_figures)
        totals.add(figures)
        programmes.append(ProgrammeReport(programme_id, names.get(programme_id), figures,
                                          tuple(RuleReport(r, f) for r, f in rules)))
    return ProgrammesReport(since, until, tuple(programmes), totals)
