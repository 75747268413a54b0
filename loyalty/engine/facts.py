"""The closed catalogue of facts a rule may test, and the one place they are computed.

A fact is a flat typed value about one customer at one local date, optionally with the event
being handled. "The contract" means the contract the event is about; for events about no contract
(anniversary, daily, invoice.paid without a contract id) it is the customer's main contract: the
active one with the largest monthly value (ties: the earliest signed, then the smallest id).
A fact that has no value (no tier yet, no contract, not an event fact of this event) is `None`,
and any comparison against `None` is false.

The store keeps a per-customer summary of the main contract and contract totals in the same
transaction as every contract change (`summarize_contracts`), so that the batch SQL path reads
the same numbers as this module computes.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Iterable, Mapping

from loyalty.engine.model import SEGMENTS, Scalar


class FactType(Enum):
    INT = "integer"
    TEXT = "text"
    BOOL = "boolean"


@dataclass(frozen=True)
class Fact:
    name: str
    type: FactType
    meaning: str
    choices: tuple[str, ...] | None = None


CATALOGUE: dict[str, Fact] = {
    fact.name: fact
    for fact in (
        Fact("tenure_months", FactType.INT, "whole months since the customer first signed"),
        Fact("tenure_years", FactType.INT, "whole years since the customer first signed"),
        Fact("segment", FactType.TEXT, "home, sme or enterprise", SEGMENTS),
        Fact("region", FactType.TEXT, "the customer's region, as billing names it"),
        Fact("locale", FactType.TEXT, "the customer's language, such as vi or en"),
        Fact("tier", FactType.TEXT, "the customer's current tier; missing before the first"),
        Fact("status_points", FactType.INT, "status points held (they count towards a tier)"),
        Fact("active_contracts", FactType.INT, "number of active contracts"),
        Fact("total_monthly_value", FactType.INT, "sum of the active contracts' monthly values, VND"),
        Fact("contract_value", FactType.INT, "the contract's monthly value, VND"),
        Fact("term_months", FactType.INT, "the contract's term in months"),
        Fact("renewals", FactType.INT, "how many times the contract has been renewed"),
        Fact("event.amount", FactType.INT, "the event's amount in VND (a paid invoice)"),
        Fact("event.outage_hours", FactType.INT, "hours of service lost (a service incident)"),
        Fact("event.planned", FactType.BOOL, "the incident was planned works announced in advance"),
    )
}
"""Every fact a rule may name. Adding one means adding it here, to `compute_facts`, and to the
store's SQL fact columns; the equivalence test then proves the two paths agree."""

EVENT_FACTS: tuple[str, ...] = tuple(name for name in CATALOGUE if name.startswith("event."))


@dataclass(frozen=True)
class CustomerSnapshot:
    """What the engine needs to know about a customer, as plain values."""

    id: str
    segment: str
    customer_since: date
    region: str | None = None
    locale: str | None = None
    tier: str | None = None
    status_points: int = 0


@dataclass(frozen=True)
class ContractSnapshot:
    id: str
    monthly_value: int
    term_months: int
    start: date
    renewals: int = 0
    status: str = "active"


@dataclass(frozen=True)
class EventSnapshot:
    """The parts of an event that facts read; `contract_id` names the contract it is about."""

    type: str
    id: str
    contract_id: str | None = None
    amount: int | None = None
    outage_hours: int | None = None
    planned: bool | None = None


@dataclass(frozen=True)
class ContractSummary:
    """Per-customer contract figures the store keeps on the customer row for the batch path."""

    active_contracts: int
    total_monthly_value: int
    main_contract_id: str | None
    main_contract_value: int | None
    main_term_months: int | None
    main_renewals: int | None


def summarize_contracts(contracts: Iterable[ContractSnapshot]) -> ContractSummary:
    """Totals over active contracts and the figures of the main (largest active) contract."""
    active = [c for c in contracts if c.status == "active"]
    main = min(active, key=lambda c: (-c.monthly_value, c.start, c.id), default=None)
    return ContractSummary(
        active_contracts=len(active),
        total_monthly_value=sum(c.monthly_value for c in active),
        main_contract_id=main.id if main else None,
        main_contract_value=main.monthly_value if main else None,
        main_term_months=main.term_months if main else None,
        main_renewals=main.renewals if main else None,
    )


def months_between(since: date, today: date) -> int:
    """Whole calendar months from `since` to `today`; never negative (a future start is 0).

    A month is complete on the same day of month, or on the last day of a shorter month, so a
    customer since 29 February has two years' tenure on 28 February two years later.
    """
    months = (today.year - since.year) * 12 + (today.month - since.month)
    if today.day < since.day and not is_last_day_of_month(today):
        months -= 1
    return max(months, 0)


def is_last_day_of_month(day: date) -> bool:
    """True on 31 January, 28 February (29 in a leap year), 30 April, ..."""
    return day.day == calendar.monthrange(day.year, day.month)[1]


def compute_facts(
    customer: CustomerSnapshot,
    contracts: Iterable[ContractSnapshot],
    today: date,
    event: EventSnapshot | None = None,
) -> dict[str, Scalar | None]:
    """Every catalogue fact for one customer on local date `today`, `None` where it has no value."""
    contracts = list(contracts)
    summary = summarize_contracts(contracts)
    contract = _the_contract(contracts, summary, event)
    tenure = months_between(customer.customer_since, today)
    return {
        "tenure_months": tenure,
        "tenure_years": tenure // 12,
        "segment": customer.segment,
        "region": customer.region,
        "locale": customer.locale,
        "tier": customer.tier,
        "status_points": customer.status_points,
        "active_contracts": summary.active_contracts,
        "total_monthly_value": summary.total_monthly_value,
        "contract_value": contract.monthly_value if contract else None,
        "term_months": contract.term_months if contract else None,
        "renewals": contract.renewals if contract else None,
        "event.amount": event.amount if event else None,
        "event.outage_hours": event.outage_hours if event else None,
        "event.planned": event.planned if event else None,
    }


def _the_contract(
    contracts: list[ContractSnapshot], summary: ContractSummary, event: EventSnapshot | None
) -> ContractSnapshot | None:
    wanted = event.contract_id if event and event.contract_id else summary.main_contract_id
    return next((c for c in contracts if c.id == wanted), None)


def describe(facts: Mapping[str, Scalar | None]) -> str:
    """A one-line rendering of facts for logs and the CLI."""
    return ", ".join(f"{name}={value!r}" for name, value in facts.items() if value is not None)
