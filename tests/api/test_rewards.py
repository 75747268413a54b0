"""The reward catalogue: synced from the ruleset, shown to every caller in their language."""
from __future__ import annotations

import dataclasses
import threading

import pytest
from sqlalchemy import update

from api_helpers import CATALOGUE, bearer, reward
from loyalty.services.catalogue import list_rewards, sync_catalogue
from loyalty.store.tables import Reward


def _names(response) -> dict[str, str]:
    return {item["id"]: item["name"] for item in response.get_json()["items"]}


def test_rewards_are_listed_in_vietnamese_by_default(client, key_for):
    response = client.get("/api/v1/rewards", headers=bearer(key_for("customer")))
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "vi"
    assert _names(response) == {"bill-credit-100k": "Giảm 100.000đ hóa đơn",
                                "speed-upgrade": "Nâng tốc độ gấp đôi một tháng",
                                "tet-hamper": "Giỏ quà Tết"}


@pytest.mark.parametrize("accept, locale", [("en", "en"), ("en-US,en;q=0.9", "en"),
                                            ("fr-FR, de;q=0.5", "vi"), ("vi-VN", "vi")])
def test_rewards_follow_accept_language_and_fall_back_to_vietnamese(client, key_for, accept, locale):
    response = client.get("/api/v1/rewards", headers=bearer(key_for("billing")) | {"Accept-Language": accept})
    assert response.get_json()["locale"] == locale
    names = _names(response)
    expected = "100,000 VND off your bill" if locale == "en" else "Giảm 100.000đ hóa đơn"
    assert names["bill-credit-100k"] == expected
    assert names["tet-hamper"] == "Giỏ quà Tết"  # no English name: Vietnamese stands in


def test_each_reward_shows_its_cost_stock_left_and_limit(client, key_for):
    items = {item["id"]: item for item in
             client.get("/api/v1/rewards", headers=bearer(key_for("marketing"))).get_json()["items"]}
    assert items["bill-credit-100k"] == {"id": "bill-credit-100k", "name": "Giảm 100.000đ hóa đơn",
                                         "kind": "bill_credit", "points_cost": 1000, "stock_left": None,
                                         "per_customer_limit": None, "value": 100_000}
    assert (items["speed-upgrade"]["per_customer_limit"], items["tet-hamper"]["stock_left"]) == (2, 50)
    assert [item["points_cost"] for item in items.values()] == [1000, 1500, 3000]


def test_a_sync_adds_updates_and_retires_rewards_in_one_go(store):
    first = sync_catalogue(store, CATALOGUE)
    assert set(first.added) == {"bill-credit-100k", "speed-upgrade", "tet-hamper"}
    cheaper = dataclasses.replace(CATALOGUE[0], points_cost=900)
    lixi = reward("li-xi", "Lì xì đầu năm", "Lucky money", 200)
    change = sync_catalogue(store, [cheaper, CATALOGUE[1], lixi])
    assert (change.added, change.updated, change.retired) == (("li-xi",), ("bill-credit-100k",), ("tet-hamper",))
    offers = {offer.id: offer for offer in list_rewards(store, "vi")}
    assert set(offers) == {"bill-credit-100k", "speed-upgrade", "li-xi"}
    assert offers["bill-credit-100k"].points_cost == 900
    again = sync_catalogue(store, [cheaper, CATALOGUE[1], lixi])
    assert (again.added, again.updated, again.retired) == ((), (), ())


def test_a_sync_keeps_what_customers_have_already_taken_from_the_stock(store):
    sync_catalogue(store, CATALOGUE)
    with store.transaction() as session:
        session.execute(update(Reward).where(Reward.id == "tet-hamper").values(stock_taken=12))
    sync_catalogue(store, [dataclasses.replace(CATALOGUE[2], stock=60)])
    [hamper] = list_rewards(store, "en")
    assert (hamper.id, hamper.stock_left, hamper.name) == ("tet-hamper", 48, "Giỏ quà Tết")


def test_a_retired_reward_comes_back_when_the_ruleset_offers_it_again(store):
    sync_catalogue(store, CATALOGUE)
    sync_catalogue(store, CATALOGUE[:1])
    change = sync_catalogue(store, CATALOGUE)
    assert set(change.updated) == {"speed-upgrade", "tet-hamper"}
    assert len(list_rewards(store)) == 3


def test_the_catalogue_is_synced_when_the_app_starts(app, store):
    assert [offer.id for offer in list_rewards(store)] == ["bill-credit-100k", "speed-upgrade", "tet-hamper"]


def test_workers_starting_together_sync_the_catalogue_once(store):
    barrier = threading.Barrier(4)
    changes, failures = [], []

    def start_a_worker():
        barrier.wait()
        try:
            changes.append(sync_catalogue(store, CATALOGUE))
        except Exception as error:  # reported below, with the others
            failures.append(error)

    workers = [threading.Thread(target=start_a_worker) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert failures == []
    assert sorted(len(change.added) for change in changes) == [0, 0, 0, 3]
    assert len(list_rewards(store)) == 3
