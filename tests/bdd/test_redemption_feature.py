"""Steps for features/redemption.feature: chị Lan and billing use the HTTP API with their own keys,
on both databases, against the shipped catalogue."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when
from sqlalchemy import func, select

from loyalty.engine.model import Ruleset
from loyalty.services.keys import create_key
from loyalty.store import Store
from loyalty.store.tables import Lot
from redemption_support import AT, add_customer, app_offering, bearer, give_points, spendable

pytestmark = pytest.mark.usefixtures("store")
"""Named at collection time, so that every scenario runs on SQLite and on PostgreSQL."""

scenarios("redemption.feature")

LAN = "lan"


@dataclass
class Counter:
    """The API as chị Lan's app and the billing system call it, and what they were answered."""

    store: Store
    client: Any
    lan: dict[str, str]
    billing: dict[str, str]
    answers: list[Any] = field(default_factory=list)
    redemption_id: int | None = None

    def redeem(self, reward_name: str, key: str) -> Any:
        catalogue = self.client.get("/api/v1/rewards", headers=self.lan).get_json()["items"]
        reward_id = next(item["id"] for item in catalogue if item["name"] == reward_name)
        answer = self.client.post(f"/api/v1/customers/{LAN}/redemptions", json={"reward_id": reward_id},
                                  headers=self.lan | {"Idempotency-Key": key})
        self.answers.append(answer)
        if answer.status_code == 201:
            self.redemption_id = answer.get_json()["id"]
        return answer

    def settle(self, action: str, who: dict[str, str]) -> Any:
        answer = self.client.post(f"/api/v1/redemptions/{self.redemption_id}/{action}", headers=who)
        self.answers.append(answer)
        return answer

    def pending(self) -> list[dict[str, Any]]:
        return self.client.get("/api/v1/redemptions?status=pending", headers=self.billing).get_json()["items"]


def points(text: str) -> int:
    """'1,000' as people write it."""
    return int(text.replace(",", "").replace(".", ""))


@pytest.fixture
def counter(store: Store, ruleset: Ruleset) -> Counter:
    add_customer(store, LAN, "Nguyễn Thị Lan")
    app = app_offering(store, LOYALTY_RULESET=ruleset)
    lan = bearer(create_key(store, "customer", LAN, AT).token)
    billing = bearer(create_key(store, "billing", None, AT).token)
    return Counter(store, app.test_client(), lan, billing)


# Given


@given(parsers.parse("chị Lan has {first} points expiring on {first_day} and {second} expiring on {second_day}"))
def lan_has_points(counter: Counter, first: str, first_day: str, second: str, second_day: str) -> None:
    give_points(counter.store, LAN, points(first), "award:1", date.fromisoformat(first_day))
    give_points(counter.store, LAN, points(second), "award:2", date.fromisoformat(second_day))


@given(parsers.parse('chị Lan has redeemed "{reward}"'))
def lan_has_redeemed(counter: Counter, reward: str) -> None:
    assert counter.redeem(reward, "first-press").status_code == 201


@given("billing has applied it on the next bill")
@when("billing applies it on the next bill")
def billing_applies_it(counter: Counter) -> None:
    counter.settle("fulfil", counter.billing)


# When


@when(parsers.parse('chị Lan redeems "{reward}"'))
def lan_redeems(counter: Counter, reward: str) -> None:
    counter.redeem(reward, "first-press")


@when(parsers.parse('chị Lan redeems "{reward}" again'))
def lan_redeems_again(counter: Counter, reward: str) -> None:
    counter.redeem(reward, "second-press")


@when(parsers.parse('chị Lan redeems "{reward}" and her phone sends the request twice'))
def lan_redeems_twice(counter: Counter, reward: str) -> None:
    counter.redeem(reward, "one-press")
    counter.redeem(reward, "one-press")


@when("chị Lan cancels it")
def lan_cancels(counter: Counter) -> None:
    counter.settle("cancel", counter.lan)


# Then


@then(parsers.parse("her redemption of {cost} points is waiting for the next bill"))
def waiting(counter: Counter, cost: str) -> None:
    answer = counter.answers[-1]
    assert answer.status_code == 201
    assert (answer.get_json()["status"], answer.get_json()["points"]) == ("pending", points(cost))


@then(parsers.parse("her redemption is {status}"))
def redemption_is(counter: Counter, status: str) -> None:
    answer = counter.answers[-1]
    assert (answer.status_code, answer.get_json()["status"]) == (200, status)


@then(parsers.parse("she has {left} points left"))
def points_left(counter: Counter, left: str) -> None:
    assert spendable(counter.store, LAN) == points(left)


@then(parsers.parse("billing sees a bill credit of {value} VND to apply for chị Lan"))
def billing_sees(counter: Counter, value: str) -> None:
    [credit] = counter.pending()
    assert (credit["customer_id"], credit["reward_kind"], credit["value"]) == (LAN, "bill_credit", points(value))


@then("billing has nothing more to apply")
def nothing_to_apply(counter: Counter) -> None:
    assert counter.pending() == []


@then(parsers.parse("she is told she has {available} points and the reward needs {needed}"))
def told_not_enough(counter: Counter, available: str, needed: str) -> None:
    answer = counter.answers[-1].get_json()
    assert counter.answers[-1].status_code == 409
    assert (answer["available"], answer["needed"]) == (points(available), points(needed))
    assert available in answer["detail"] and needed in answer["detail"]


@then("both answers show the same redemption")
def same_redemption(counter: Counter) -> None:
    first, second = counter.answers
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.get_json() == second.get_json()


@then(parsers.parse("{first} of them expire on {first_day} and {second} on {second_day}"))
def expiring(counter: Counter, first: str, first_day: str, second: str, second_day: str) -> None:
    with counter.store.reading() as session:
        held = dict(session.execute(
            select(Lot.expires_on, func.sum(Lot.remaining)).where(Lot.customer_id == LAN)
            .group_by(Lot.expires_on)).all())
    assert held == {date.fromisoformat(first_day): points(first), date.fromisoformat(second_day): points(second)}


@then(parsers.parse("she is told it is already {status}"))
def told_already(counter: Counter, status: str) -> None:
    answer = counter.answers[-1]
    assert answer.status_code == 409 and f"already {status}" in answer.get_json()["detail"]
