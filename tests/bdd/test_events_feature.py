"""Steps for features/events.feature: billing's reports ingested on both databases, checked as
marketing and billing would check them (balance, bill credits, approvals)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import select

from loyalty.engine.model import Ruleset
from loyalty.errors import DuplicateEvent, EventOutOfOrder, LoyaltyError
from loyalty.services.ingest import ingest
from loyalty.services.ingest_result import IngestResult
from loyalty.store import Store
from loyalty.store.ledger import balance
from loyalty.store.tables import Approval, RewardGrant

pytestmark = pytest.mark.usefixtures("store")
"""Named at collection time, so that every scenario runs on SQLite and on PostgreSQL."""

scenarios("events.feature")

TODAY = date(2026, 11, 25)


@dataclass
class Billing:
    """What billing has sent about one customer, and what the engine answered."""

    store: Store
    ruleset: Ruleset
    customer_id: str = ""
    contract_id: str | None = None
    today: date = TODAY
    sent: list[dict[str, Any]] = field(default_factory=list)
    answers: list[IngestResult | LoyaltyError] = field(default_factory=list)

    def report(self, type_: str, data: dict[str, Any], day: date | None = None) -> None:
        """Post one event as billing would, at 10:00 Hà Nội time on `day`."""
        self.today = day or self.today
        occurred = datetime.combine(self.today, time(3, 0), tzinfo=timezone.utc)
        self.send({"id": f"evt-{len(self.sent) + 1}", "type": type_, "occurred_at": occurred.isoformat(),
                   "customer_id": self.customer_id, "data": data})

    def send(self, event: dict[str, Any]) -> None:
        """Deliver an event; the engine receives it a few seconds after it happened."""
        self.sent.append(event)
        received = datetime.fromisoformat(event["occurred_at"]) + timedelta(seconds=5)
        try:
            self.answers.append(ingest(self.store, self.ruleset, event, received))
        except LoyaltyError as refusal:
            self.answers.append(refusal)


def amount(text: str) -> int:
    """'5,000,000' as marketing writes it."""
    return int(text.replace(",", "").replace(".", ""))


@pytest.fixture
def billing(store: Store, ruleset: Ruleset) -> Billing:
    return Billing(store, ruleset)


# Given


@given(parsers.parse("{name}, an {segment} customer since {since}"))
@given(parsers.parse("{name}, a {segment} customer since {since}"))
def a_customer(billing: Billing, name: str, segment: str, since: str) -> None:
    billing.customer_id = f"C-{len(name)}-{segment.lower()}"
    billing.report("customer.upserted", {"name": name, "segment": segment.lower(), "customer_since": since},
                   date.fromisoformat(since))


@given(parsers.parse("billing reported that it signed a contract of {value} VND a month on {day}"))
@when(parsers.parse("billing reports that it signed a contract of {value} VND a month on {day}"))
def signed(billing: Billing, value: str, day: str) -> None:
    billing.contract_id = "HD-001"
    billing.report("contract.signed", {"contract": {"id": billing.contract_id, "monthly_value": amount(value),
                                                    "term_months": 12, "start": day}}, date.fromisoformat(day))


# When


@when(parsers.parse("billing reports that it renewed that contract for {months:d} months on {day}"))
def renewed(billing: Billing, months: int, day: str) -> None:
    billing.report("contract.renewed", {"contract_id": billing.contract_id, "term_months": months},
                   date.fromisoformat(day))


@when(parsers.parse("billing reports that it renewed contract {contract_id} for {months:d} months on {day}"))
def renewed_unknown(billing: Billing, contract_id: str, months: int, day: str) -> None:
    billing.report("contract.renewed", {"contract_id": contract_id, "term_months": months}, date.fromisoformat(day))


@when(parsers.parse("billing reports that it cancelled that contract on {day}"))
def cancelled(billing: Billing, day: str) -> None:
    billing.report("contract.cancelled", {"contract_id": billing.contract_id}, date.fromisoformat(day))


@when(parsers.parse("billing reports that it paid an invoice of {value} VND"))
def invoice_paid(billing: Billing, value: str) -> None:
    billing.report("invoice.paid", {"invoice_id": "INV-2026-11", "amount": amount(value)}, TODAY)


@when("billing sends the same report again")
def sent_again(billing: Billing) -> None:
    billing.send(dict(billing.sent[-1]))


@when("billing reports the same invoice again under a new event id")
def same_invoice_new_id(billing: Billing) -> None:
    billing.send({**billing.sent[-1], "id": f"evt-{len(billing.sent) + 1}"})


@when(parsers.parse('billing reports that the prospect "{name}" it referred has signed'))
def prospect_signed(billing: Billing, name: str) -> None:
    billing.report("referral.converted", {"prospect_name": name}, TODAY)


@when(parsers.parse("billing reports an {kind} outage of {hours:d} hours"))
@when(parsers.parse("billing reports a {kind} outage of {hours:d} hours"))
def outage(billing: Billing, kind: str, hours: int) -> None:
    billing.report("service.incident", {"incident_id": "SC-7", "outage_hours": hours,
                                        "planned": kind == "planned"}, TODAY)


# Then


def points_held(billing: Billing):
    with billing.store.reading() as session:
        return balance(session, billing.customer_id, billing.today)


def grants(billing: Billing, table, **where):
    with billing.store.reading() as session:
        return list(session.scalars(select(table).filter_by(customer_id=billing.customer_id, **where)))


@then(parsers.parse("it has {points:d} reward points"))
def has_reward_points(billing: Billing, points: int) -> None:
    assert points_held(billing).reward_points == points


@then(parsers.parse("it has {points:d} points waiting until {day}"))
def has_points_waiting(billing: Billing, points: int, day: str) -> None:
    assert points_held(billing).vesting == [(date.fromisoformat(day), points)]


@then("it has no points waiting")
def has_nothing_waiting(billing: Billing) -> None:
    assert points_held(billing).pending_points == 0


@then("billing was told the second report was already applied")
def told_replayed(billing: Billing) -> None:
    first, second = billing.answers[-2:]
    assert (first.replayed, second.replayed) == (False, True)
    assert second.awards == first.awards


@then("billing is told the invoice was already reported")
def told_duplicate(billing: Billing) -> None:
    refusal = billing.answers[-1]
    assert isinstance(refusal, DuplicateEvent)
    assert "INV-2026-11" in str(refusal) and billing.sent[-2]["id"] in str(refusal)


@then("billing is told the prospect was already reported")
def told_prospect_duplicate(billing: Billing) -> None:
    refusal = billing.answers[-1]
    assert isinstance(refusal, DuplicateEvent)
    assert "prospect_name" in str(refusal) and billing.sent[-2]["id"] in str(refusal)


@then(parsers.parse("billing is asked to credit {value} VND on its next bill"))
def bill_credit(billing: Billing, value: str) -> None:
    credits = grants(billing, RewardGrant, kind="bill_credit", status="pending")
    assert [credit.amount for credit in credits] == [amount(value)]


@then("billing is asked to credit nothing yet")
def no_bill_credit(billing: Billing) -> None:
    assert grants(billing, RewardGrant, kind="bill_credit") == []


@then(parsers.parse("a credit of {value} VND waits for marketing's approval"))
def waits_for_approval(billing: Billing, value: str) -> None:
    assert [a.amount for a in grants(billing, Approval, status="pending")] == [amount(value)]


@then(parsers.parse('billing is told to send the earlier event first, about "{missing}"'))
def told_out_of_order(billing: Billing, missing: str) -> None:
    refusal = billing.answers[-1]
    assert isinstance(refusal, EventOutOfOrder)
    assert missing in str(refusal) and "send it again" in str(refusal)
