"""Sample customers and contracts for demos and benchmarks, the same rows for the same seed.

Customer ids are `demo-<seed>-<n>`: a second load with the same seed is refused (its customers are
already there), a load with another seed adds new customers. The rows carry the contract summary
the batch path reads, computed by `summarize_contracts` exactly as the event path does.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random
from typing import Callable, Iterator

from sqlalchemy import select

from loyalty.engine.facts import ContractSnapshot, months_between, summarize_contracts
from loyalty.errors import Conflict
from loyalty.services.customers import add_months
from loyalty.services.demo_names import below, customer_name, region
from loyalty.store import Store
from loyalty.store.bulk import insert_rows
from loyalty.store.tables import Contract, Customer
from loyalty.store.tables.customers import DEFAULT_TIME_ZONE

CHUNK = 20_000
YEARS_BACK = 8
TERMS = (12, 24, 36)
MAX_RENEWALS = 5
MONTHLY_VALUE = {  # segment -> (lowest, highest, step), VND per month
    "home": (200_000, 800_000, 5_000),
    "sme": (1_000_000, 10_000_000, 50_000),
    "enterprise": (20_000_000, 200_000_000, 1_000_000),
}
CUSTOMER_COLUMNS = (
    "id", "name", "segment", "customer_since", "region", "locale", "time_zone", "tier",
    "status_points", "since_month_index", "since_month", "since_day", "active_contracts",
    "total_monthly_value", "main_contract_id", "main_contract_value", "main_term_months",
    "main_renewals",
)
CONTRACT_COLUMNS = (
    "id", "customer_id", "monthly_value", "term_months", "start", "end", "renewals", "status",
    "cancelled_on",
)
Progress = Callable[[int, int], None]
"""Called after each chunk with (customers written so far, customers asked for)."""


@dataclass
class DemoSummary:
    """What a demo load wrote, for the person who ran it and for benchmark figures."""

    customers: int = 0
    contracts: int = 0
    cancelled_contracts: int = 0
    segments: dict[str, int] = field(default_factory=dict)
    anniversaries_today: int = 0
    first_id: str | None = None
    last_id: str | None = None


def demo_customer_id(seed: int, number: int) -> str:
    """The id of the `number`-th (from 1) demo customer of `seed`."""
    return f"demo-{seed}-{number:07d}"


def generate_demo(store: Store, customers: int, seed: int, today: date,
                  progress: Progress | None = None) -> DemoSummary:
    """Write `customers` sample customers with 1-3 contracts each, in one transaction."""
    summary = DemoSummary()
    generator = _Generator(seed, today, summary)
    with store.transaction() as session:
        _refuse_a_second_load(session, seed)
        for start in range(0, customers, CHUNK):
            numbers = range(start + 1, min(start + CHUNK, customers) + 1)
            customer_rows, contract_rows = generator.chunk(numbers)
            insert_rows(session, Customer.__table__, CUSTOMER_COLUMNS, customer_rows)
            insert_rows(session, Contract.__table__, CONTRACT_COLUMNS, contract_rows)
            if progress:
                progress(numbers[-1], customers)
    if customers:
        summary.first_id, summary.last_id = demo_customer_id(seed, 1), demo_customer_id(seed, customers)
    return summary


def is_demo_loaded(store: Store, seed: int) -> bool:
    """Whether the demo customers of `seed` are already in the database."""
    with store.reading() as session:
        return _first_of_seed_exists(session, seed)


def _first_of_seed_exists(session, seed: int) -> bool:
    first = demo_customer_id(seed, 1)
    return session.scalar(select(Customer.id).where(Customer.id == first)) is not None


def _refuse_a_second_load(session, seed: int) -> None:
    if _first_of_seed_exists(session, seed):
        first = demo_customer_id(seed, 1)
        raise Conflict(f"Demo customers of seed {seed} are already loaded ({first} exists); "
                       f"choose another --seed to add more, or start from an empty database.")


class _Generator:
    """One random stream for the whole load, so that the same seed gives the same rows."""

    def __init__(self, seed: int, today: date, summary: DemoSummary):
        self.rnd = Random(seed)
        self.seed, self.today, self.summary = seed, today, summary
        self.earliest = add_months(today, -12 * YEARS_BACK)
        self.span_days = (today - self.earliest).days
        self.leap_days = [date(year, 2, 29) for year in range(self.earliest.year, today.year + 1)
                          if calendar.isleap(year) and self.earliest <= date(year, 2, 29) <= today]

    def chunk(self, numbers: range) -> tuple[list[tuple], list[tuple]]:
        """Customer rows and contract rows for the customers numbered `numbers`."""
        customer_rows: list[tuple] = []
        contract_rows: list[tuple] = []
        for number in numbers:
            customer_rows.append(self._customer(demo_customer_id(self.seed, number), contract_rows))
        return customer_rows, contract_rows

    def _customer(self, customer_id: str, contract_rows: list[tuple]) -> tuple:
        rnd, summary = self.rnd, self.summary
        segment = self._segment()
        since = self._customer_since()
        contracts = list(self._contracts(customer_id, segment, since))
        for contract in contracts:
            contract_rows.append(_contract_row(customer_id, contract))
        totals = summarize_contracts(snapshot for snapshot, _end, _cancelled_on in contracts)
        summary.customers += 1
        summary.contracts += len(contracts)
        summary.cancelled_contracts += sum(1 for c, _e, _on in contracts if c.status == "cancelled")
        summary.segments[segment] = summary.segments.get(segment, 0) + 1
        if (since.month, since.day) == (self.today.month, self.today.day) and since < self.today:
            summary.anniversaries_today += 1
        locale = "en" if segment == "enterprise" and rnd.random() < 0.2 else "vi"
        return (customer_id, customer_name(rnd, segment), segment, since.isoformat(), region(rnd),
                locale, DEFAULT_TIME_ZONE, None, 0, since.year * 12 + since.month - 1,
                since.month, since.day, totals.active_contracts, totals.total_monthly_value,
                totals.main_contract_id, totals.main_contract_value, totals.main_term_months,
                totals.main_renewals)

    def _segment(self) -> str:
        draw = self.rnd.random()
        return "home" if draw < 0.70 else "sme" if draw < 0.95 else "enterprise"

    def _customer_since(self) -> date:
        """Spread over the past eight years; some on today's day and month, a few on 29 February."""
        rnd, today = self.rnd, self.today
        draw = rnd.random()
        if draw < 0.02:
            return add_months(today, -12 * (1 + below(rnd, YEARS_BACK)))
        if draw < 0.025 and self.leap_days:
            return self.leap_days[below(rnd, len(self.leap_days))]
        return today - timedelta(days=below(rnd, self.span_days + 1))

    def _contracts(self, customer_id: str, segment: str, since: date
                   ) -> Iterator[tuple[ContractSnapshot, date, date | None]]:
        rnd = self.rnd
        draw = rnd.random()
        count = 1 if draw < 0.6 else 2 if draw < 0.9 else 3
        lowest, highest, step = MONTHLY_VALUE[segment]
        for k in range(1, count + 1):
            start = since if k == 1 else since + timedelta(days=below(rnd, (self.today - since).days + 1))
            value = lowest + step * below(rnd, (highest - lowest) // step + 1)
            yield self._contract(f"{customer_id}-{k}", value, TERMS[below(rnd, 3)], start)

    def _contract(self, contract_id: str, value: int, term: int, start: date
                  ) -> tuple[ContractSnapshot, date, date | None]:
        """Renewed once per full term that has passed (at most five); a few are cancelled."""
        renewals = min(months_between(start, self.today) // term, MAX_RENEWALS)
        end = add_months(start, term * (renewals + 1))
        status, cancelled_on = ("active" if end > self.today else "ended"), None
        if self.rnd.random() < 0.04:
            last = min(end, self.today)
            cancelled_on = start + timedelta(days=below(self.rnd, (last - start).days + 1))
            status = "cancelled"
        return ContractSnapshot(contract_id, value, term, start, renewals, status), end, cancelled_on


def _contract_row(customer_id: str, contract: tuple[ContractSnapshot, date, date | None]) -> tuple:
    snapshot, end, cancelled_on = contract
    return (snapshot.id, customer_id, snapshot.monthly_value, snapshot.term_months,
            snapshot.start.isoformat(), end.isoformat(), snapshot.renewals, snapshot.status,
            cancelled_on.isoformat() if cancelled_on else None)
