"""Steps for features/anniversary.feature: the nightly run on both databases, checked as marketing
would check it (points and when they go, which rule thanked the customer, the hamper for billing
and, once the hampers are all given, the note of why there was none)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import select

from loyalty.engine.model import Ruleset
from loyalty.services.catalogue import sync_catalogue
from loyalty.services.customers import upsert_customer
from loyalty.services.daily import run_daily
from loyalty.store import Store
from loyalty.store.ledger import balance
from loyalty.store.tables import AuditRecord, Award, Reward, RewardGrant

pytestmark = pytest.mark.usefixtures("store")
"""Named at collection time, so that every scenario runs on SQLite and on PostgreSQL."""

scenarios("anniversary.feature")

SEGMENTS = {"SME": "sme", "home": "home", "enterprise": "enterprise"}


@dataclass
class Customer:
    """The customer the scenario is about, as billing described it."""

    id: str
    name: str
    last_night: date | None = None
    """The last night run in the scenario: what "it has" means now."""


def day(text: str) -> date:
    """'25 November 2023' as marketing writes a date."""
    return datetime.strptime(text, "%d %B %Y").date()


def _run_night(store: Store, ruleset: Ruleset, customer: Customer, night: str) -> None:
    customer.last_night = day(night)
    run_daily(store, ruleset, customer.last_night, lambda *_: None)


def _points_on(store: Store, customer: Customer, on: date) -> int:
    with store.reading() as session:
        return balance(session, customer.id, on).reward_points


# Given


@given(parsers.parse("{name}, an {segment} customer since {since}"), target_fixture="customer")
@given(parsers.parse("{name}, a {segment} customer since {since}"), target_fixture="customer")
def a_customer_since(store: Store, name: str, segment: str, since: str) -> Customer:
    customer = Customer(f"C-{sum(map(ord, name)):05d}", name)
    with store.transaction() as session:
        upsert_customer(session, customer.id, {"name": name, "segment": SEGMENTS[segment],
                                               "customer_since": day(since).isoformat(), "region": "Hà Nội"})
    return customer


@given(parsers.parse("the night of {night} has run"))
def the_night_had_run(store: Store, ruleset: Ruleset, customer: Customer, night: str) -> None:
    _run_night(store, ruleset, customer, night)


@given(parsers.parse("all {count:d} thank-you hampers of the catalogue have been given"))
def hampers_all_given(store: Store, ruleset: Ruleset, count: int) -> None:
    sync_catalogue(store, ruleset.rewards)
    with store.transaction() as session:
        hamper = session.get(Reward, "thank-you-hamper")
        assert hamper.stock == count
        hamper.stock_taken = count


# When


@when(parsers.parse("the night of {night} has run"))
def the_night_runs(store: Store, ruleset: Ruleset, customer: Customer, night: str) -> None:
    _run_night(store, ruleset, customer, night)


@when(parsers.parse("the night of {night} runs again"))
def the_night_runs_again(store: Store, ruleset: Ruleset, customer: Customer, night: str) -> None:
    _run_night(store, ruleset, customer, night)


# Then


@then(parsers.parse("it has {points:d} reward points, still there on {last} and gone on {gone}"))
def points_until(store: Store, customer: Customer, points: int, last: str, gone: str) -> None:
    assert _points_on(store, customer, day(last)) == points
    assert _points_on(store, customer, day(gone)) == 0
    assert day(gone) - day(last) == timedelta(days=1)


@then(parsers.parse("it has {points:d} reward points"))
def points_now(store: Store, customer: Customer, points: int) -> None:
    assert _points_on(store, customer, customer.last_night) == points


@then(parsers.parse("it was thanked by {rule_id}"))
def thanked_by(store: Store, customer: Customer, rule_id: str) -> None:
    with store.reading() as session:
        thanks = session.scalars(select(Award.rule_id).where(Award.customer_id == customer.id,
                                                             Award.event_id.like("engine:anniversary:%"))).all()
    assert thanks == [rule_id]


@then("no thank-you hamper is waiting for billing")
def no_hamper(store: Store, customer: Customer) -> None:
    assert _hampers(store, customer) == 0


@then("a thank-you hamper is waiting for billing")
def a_hamper(store: Store, customer: Customer) -> None:
    assert _hampers(store, customer) == 1


@then("the night noted that the thank-you hamper was out of stock")
def hamper_out_of_stock(store: Store, customer: Customer) -> None:
    with store.reading() as session:
        noted = session.scalars(select(AuditRecord.reason).where(
            AuditRecord.customer_id == customer.id, AuditRecord.action == "award.reward_out_of_stock")).all()
    assert noted == ["reward thank-you-hamper is out of stock (all 500 given); the award gave the rest"]


def _hampers(store: Store, customer: Customer) -> int:
    with store.reading() as session:
        return len(session.scalars(select(RewardGrant).where(
            RewardGrant.customer_id == customer.id, RewardGrant.reward_id == "thank-you-hamper",
            RewardGrant.status == "pending")).all())
