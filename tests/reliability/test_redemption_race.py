"""Redemptions racing over HTTP, one Flask test client per thread, on file SQLite and PostgreSQL:
a balance is never overspent, a stock never oversold, and one key never spends twice."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import pytest

from loyalty.services.keys import create_key
from redemption_support import (
    AT, CATALOGUE, add_customer, app_offering, bearer, give_points, item, ledger_problems, redemptions,
    spendable, spends,
)

THREADS = 10
COST = 1000
BALANCE = 4500
ROUTER = item("router", "Bộ phát Wi-Fi 6", 500, stock=3)


def all_at_once(app, work: Callable[[Any, int], Any]) -> list[Any]:
    """Run `work(client, i)` on THREADS threads released together, each with its own test client."""
    barrier = threading.Barrier(THREADS)

    def run(i: int) -> Any:
        client = app.test_client()
        barrier.wait()
        return work(client, i)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def post_redemption(client, token: str, customer_id: str, reward_id: str, key: str):
    response = client.post(f"/api/v1/customers/{customer_id}/redemptions", json={"reward_id": reward_id},
                           headers=bearer(token) | {"Idempotency-Key": key})
    return response.status_code, response.get_json(force=True) | {
        "replayed": response.headers.get("Idempotent-Replayed") == "true"}


@pytest.fixture
def app(store):
    """Chị Lan holds 4,500 points in three lots; the catalogue offers a router with a stock of 3."""
    add_customer(store, "lan", "Nguyễn Thị Lan")
    for n in range(3):
        give_points(store, "lan", BALANCE // 3, f"award:{n}")
    return app_offering(store, *CATALOGUE, ROUTER)


def test_ten_redemptions_with_different_keys_never_overspend_the_balance(store, app):
    token = create_key(store, "customer", "lan", AT).token
    results = all_at_once(app, lambda client, i: post_redemption(client, token, "lan", "bill-credit-100k",
                                                                 f"key-{i}"))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * (BALANCE // COST) + [409] * (THREADS - BALANCE // COST)
    refusals = [body for status, body in results if status == 409]
    assert all((body["available"], body["needed"]) == (BALANCE % COST, COST) for body in refusals)
    assert spendable(store, "lan") == BALANCE % COST
    assert (spends(store), redemptions(store)) == (BALANCE // COST, BALANCE // COST)
    assert ledger_problems(store) == []


def test_ten_retries_of_one_key_at_once_make_one_redemption_and_one_spend(store, app):
    token = create_key(store, "customer", "lan", AT).token
    results = all_at_once(app, lambda client, _: post_redemption(client, token, "lan", "bill-credit-100k",
                                                                 "the-same-key"))
    assert {status for status, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 1
    assert sorted(body["replayed"] for _, body in results) == [False] + [True] * (THREADS - 1)
    assert (spends(store), redemptions(store), spendable(store, "lan")) == (1, 1, BALANCE - COST)
    assert ledger_problems(store) == []


def test_ten_customers_racing_for_three_routers_get_exactly_three(store, app):
    for n in range(THREADS):
        add_customer(store, f"c-{n}", f"Khách hàng {n}")
        give_points(store, f"c-{n}", 500, f"award:c-{n}")
    billing = create_key(store, "billing", None, AT).token
    results = all_at_once(app, lambda client, i: post_redemption(client, billing, f"c-{i}", "router", "k"))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 3 + [409] * (THREADS - 3)
    assert all("out of stock" in body["detail"] for status, body in results if status == 409)
    assert sum(spendable(store, f"c-{n}") for n in range(THREADS)) == 500 * (THREADS - 3)
    assert ledger_problems(store) == []
