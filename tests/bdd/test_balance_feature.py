"""Steps for features/balance.feature: billing and customers through the HTTP API, with the
shipped programmes, on both databases; the API's clock stands on the scenario's day."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import update

from api import create_app
from loyalty.engine.model import Ruleset
from loyalty.services.keys import create_key
from loyalty.store import Store
from loyalty.store.tables import Customer

pytestmark = pytest.mark.usefixtures("store")
"""Named at collection time, so that every scenario runs on SQLite and on PostgreSQL."""

scenarios("balance.feature")

HA_NOI = ZoneInfo("Asia/Ho_Chi_Minh")
NAMES = {"Chị Lan": "lan", "Anh Minh": "minh"}


@dataclass
class World:
    """The API as billing and customers use it, and the last answer someone got."""

    store: Store
    ruleset: Ruleset
    now: datetime = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
    keys: dict[str, str] = field(default_factory=dict)
    answer: Any = None
    sent: int = 0
    _client: FlaskClient | None = None

    def client(self) -> FlaskClient:
        """One app for the scenario; its clock reads `now`, whatever day a step sets."""
        if self._client is None:
            app = create_app({"TESTING": True, "LOYALTY_STORE": self.store, "LOYALTY_RULESET": self.ruleset,
                              "LOYALTY_CLOCK": lambda: self.now, "LOYALTY_RATE_LIMIT": "10000 per minute"})
            self._client = app.test_client()
        return self._client

    def key(self, who: str) -> dict[str, str]:
        """The Bearer header of billing, or of a customer's own key."""
        if who not in self.keys:
            role, customer = ("billing", None) if who == "billing" else ("customer", NAMES[who])
            self.keys[who] = create_key(self.store, role, customer, self.now).token
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def billing_posts(self, type_: str, customer_id: str, data: dict, day: str | None = None) -> Any:
        """Billing posts one event, at 10:00 Hà Nội time on `day` (default: today)."""
        self.sent += 1
        local = datetime.combine(datetime.fromisoformat(day).date(), time(10, 0), HA_NOI) if day else self.now
        event = {"id": f"evt-{self.sent}", "type": type_, "occurred_at": local.isoformat(),
                 "customer_id": customer_id, "data": data}
        self.answer = self.client().post("/api/v1/events", json=event, headers=self.key("billing"))
        assert self.answer.status_code == 201, self.answer.get_data(as_text=True)
        return self.answer.get_json()

    def balance_of(self, customer_id: str, asked_by: str) -> Any:
        self.answer = self.client().get(f"/api/v1/customers/{customer_id}/balance", headers=self.key(asked_by))
        return self.answer


def amount(text: str) -> int:
    """'5,000,000' as billing writes it."""
    return int(text.replace(",", ""))


@pytest.fixture
def world(store: Store, ruleset: Ruleset) -> World:
    return World(store, ruleset)


# Given


@given(parsers.parse("today is {day:d} November 2026 in Hà Nội"))
def today_in_ha_noi(world: World, day: int) -> None:
    world.now = datetime(2026, 11, day, 10, 0, tzinfo=HA_NOI).astimezone(timezone.utc)


@given(parsers.parse("{owner}'s {business}, an SME customer since {since}"))
def an_sme_customer(world: World, owner: str, business: str, since: str) -> None:
    data = {"name": f"{business.capitalize()} của {owner}", "segment": "sme", "customer_since": since}
    world.billing_posts("customer.upserted", NAMES[owner], data, since)


@given(parsers.parse("her shop paid an invoice of {value} VND on {day}"))
def paid_on(world: World, value: str, day: str) -> None:
    world.billing_posts("invoice.paid", "lan", {"invoice_id": f"INV-{day}", "amount": amount(value)}, day)


@given(parsers.parse('her shop has reached the "{tier}" tier'))
def reached_tier(world: World, tier: str) -> None:
    """As the nightly run records a tier it awarded."""
    with world.store.transaction() as session:
        session.execute(update(Customer).where(Customer.id == "lan").values(tier=tier))


# When


@when("Chị Lan opens her balance")
def lan_opens_her_balance(world: World) -> None:
    world.balance_of("lan", "Chị Lan")


@when("Anh Minh asks for Chị Lan's balance")
def minh_asks_for_lans_balance(world: World) -> None:
    world.balance_of("lan", "Anh Minh")


@when(parsers.parse("billing posts that her shop paid an invoice of {value} VND today"))
def billing_posts_an_invoice(world: World, value: str) -> None:
    world.billing_posts("invoice.paid", "lan", {"invoice_id": "INV-2026-11-25", "amount": amount(value)})


# Then


@then(parsers.parse("she sees {points:d} reward points"))
def sees_reward_points(world: World, points: int) -> None:
    assert world.answer.status_code == 200
    assert world.answer.get_json()["reward_points"] == points


@then(parsers.parse('her tier is "{tier}"'))
def her_tier(world: World, tier: str) -> None:
    assert world.answer.get_json()["tier"] == tier


@then(parsers.parse("{points:d} points can be spent until {last_day} and are gone on {gone}"))
def expiring(world: World, points: int, last_day: str, gone: str) -> None:
    assert {"points": points, "expires_on": gone, "last_day": last_day} in world.answer.get_json()["expiring_soon"]


@then("nothing else expires in the next 30 days")
def nothing_else_expires(world: World) -> None:
    body = world.answer.get_json()
    assert body["expiring_points"] == sum(item["points"] for item in body["expiring_soon"])
    assert len(body["expiring_soon"]) == 1


@then("he is told there is no such customer")
def no_such_customer(world: World) -> None:
    assert world.answer.status_code == 404
    assert world.answer.get_json()["detail"] == "Customer 'lan' is not known to the engine."


@then("nothing of her points is shown to him")
def nothing_shown(world: World) -> None:
    assert set(world.answer.get_json()) == {"type", "title", "status", "detail"}


@then(parsers.parse('billing is told {points:d} points were awarded by "{rule}"'))
def billing_told(world: World, points: int, rule: str) -> None:
    awards = world.answer.get_json()["awards"]
    assert [(a["rule_id"], a["points"]) for a in awards] == [(rule, points)]


@then(parsers.parse("Chị Lan sees {points:d} reward points when she opens her balance"))
def lan_sees(world: World, points: int) -> None:
    assert world.balance_of("lan", "Chị Lan").get_json()["reward_points"] == points


@then(parsers.parse("her history shows the invoice's {points:d} points at 10:00 Hà Nội time"))
def history_shows(world: World, points: int) -> None:
    page = world.client().get("/api/v1/customers/lan/ledger", headers=world.key("Chị Lan")).get_json()
    newest = page["items"][0]
    assert (newest["kind"], newest["account"], newest["points"]) == ("earn", "available", points)
    assert newest["at"] == "2026-11-25T10:00:00+07:00" and newest["programme_id"] == "business-points"
