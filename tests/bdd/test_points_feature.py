"""Steps for features/points.feature: billing's events ingested with the shipped programmes, the
nightly settlement and redemptions, checked on both databases as a customer or marketing would."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from loyalty.engine.model import Ruleset
from loyalty.services.ingest import ingest
from loyalty.services.ledger_ops import settle_points
from loyalty.store import Store, ledger

pytestmark = pytest.mark.usefixtures("store")
"""Named at collection time, so that every scenario runs on SQLite and on PostgreSQL."""

scenarios("points.feature")

A_YEAR_AND_MORE = 400
"""Days ahead that `expiring_soon` looks, so that every lot earned this year is listed."""


@dataclass
class Customer:
    """One customer as billing reports it, and the day the scenario has reached."""

    store: Store
    ruleset: Ruleset
    id: str = ""
    contract_id: str | None = None
    today: date = date(2026, 1, 1)
    events: int = 0

    def moment(self, day: date) -> datetime:
        """10:00 in Hà Nội on `day`, when billing's reports and redemptions happen."""
        self.today = day
        return datetime.combine(day, time(3, 0), tzinfo=timezone.utc)

    def report(self, type_: str, data: dict[str, Any], day: date) -> None:
        """Billing posts one event; the engine receives it a few seconds later."""
        self.events += 1
        occurred = self.moment(day)
        event = {"id": f"{self.id}-evt-{self.events}", "type": type_, "occurred_at": occurred.isoformat(),
                 "customer_id": self.id, "data": data}
        ingest(self.store, self.ruleset, event, occurred + timedelta(seconds=5))

    def balance(self) -> ledger.Balance:
        with self.store.reading() as session:
            return ledger.balance(session, self.id, self.today, within_days=A_YEAR_AND_MORE)

    def history(self) -> list[ledger.HistoryEntry]:
        with self.store.reading() as session:
            return ledger.history(session, self.id, limit=100).entries


def amount(text: str) -> int:
    """'5,000,000' as marketing writes it."""
    return int(text.replace(",", "").replace(".", ""))


@pytest.fixture
def customer(store: Store, ruleset: Ruleset) -> Customer:
    return Customer(store, ruleset)


# Given


@given(parsers.re(r"(?P<name>.+), an? (?P<segment>\w+) customer since (?P<since>[\d-]+)$"))
def a_customer(customer: Customer, name: str, segment: str, since: str) -> None:
    customer.id = "KH-" + "-".join(name.split()).lower()
    customer.report("customer.upserted", {"name": name, "segment": segment.lower(), "customer_since": since},
                    date.fromisoformat(since))


@given(parsers.parse("billing reported that it signed a contract of {value} VND a month on {day}"))
def signed(customer: Customer, value: str, day: str) -> None:
    customer.contract_id = "HD-2026-001"
    contract = {"id": customer.contract_id, "monthly_value": amount(value), "term_months": 12, "start": day}
    customer.report("contract.signed", {"contract": contract}, date.fromisoformat(day))


@given(parsers.parse("it paid an invoice of {value} VND on {day}"))
def paid_an_invoice(customer: Customer, value: str, day: str) -> None:
    customer.report("invoice.paid", {"invoice_id": f"INV-{day}", "amount": amount(value)}, date.fromisoformat(day))


# When


@when(parsers.parse("the nightly run settles points on {day}"))
def nightly_run(customer: Customer, day: str) -> None:
    today = date.fromisoformat(day)
    settle_points(customer.store, today, occurred_at=customer.moment(today) - timedelta(hours=4))


@when(parsers.parse("it redeems {points:d} points on {day}"))
def redeems(customer: Customer, points: int, day: str) -> None:
    occurred = customer.moment(date.fromisoformat(day))
    customer.store.run(lambda session: ledger.spend(
        session, customer.id, points, occurred_at=occurred, reference=f"redemption-{day}", actor=customer.id))


@when(parsers.parse("billing reports that it cancelled that contract on {day}"))
def cancelled(customer: Customer, day: str) -> None:
    customer.report("contract.cancelled", {"contract_id": customer.contract_id}, date.fromisoformat(day))


# Then


@then(parsers.parse("it has {points:d} reward points"))
def has_reward_points(customer: Customer, points: int) -> None:
    assert customer.balance().reward_points == points


@then("it has no points waiting")
def has_nothing_waiting(customer: Customer) -> None:
    assert customer.balance().pending_points == 0


@then(parsers.parse("{points:d} of its points expire on {day}"))
def points_expire_on(customer: Customer, points: int, day: str) -> None:
    assert dict(customer.balance().expiring_soon).get(date.fromisoformat(day)) == points


@then(parsers.parse("none of its points expire on {day}"))
def nothing_expires_on(customer: Customer, day: str) -> None:
    assert date.fromisoformat(day) not in dict(customer.balance().expiring_soon)


@then(parsers.parse("its history shows {points:d} points expired on {day}"))
def history_shows_expiry(customer: Customer, points: int, day: str) -> None:
    expired = [e for e in customer.history() if e.kind == "expire" and e.account == "available"]
    assert [(e.points, e.reason) for e in expired] == [(-points, f"points expired on {day}")]


@then(parsers.parse("its history shows its {points:d} welcome points taken back"))
def history_shows_welcome_taken_back(customer: Customer, points: int) -> None:
    taken = [e for e in customer.history() if e.kind in ("void", "clawback")]
    assert [(e.account, e.points) for e in taken] == [("pending", -points)]
    assert customer.balance().vesting == []


@then("the books balance")
def books_balance(customer: Customer) -> None:
    with customer.store.reading() as session:
        assert ledger.verify(session) == []
