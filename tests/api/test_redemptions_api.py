"""Redemptions over HTTP, on both databases: who may do what, idempotent retries, billing's list."""
from __future__ import annotations

import pytest

from api_helpers import assert_problem, bearer
from redemption_support import (
    add_customer, give_points, grant_welcome_router, lot_remaining, redemptions, spendable, spends,
)

BASE = "/api/v1"


@pytest.fixture
def lan(store):
    """Chị Lan (c-1) holds 2,500 points in two lots; anh Bình (c-2) holds 1,000."""
    add_customer(store, "c-1", "Nguyễn Thị Lan")
    add_customer(store, "c-2", "Trần Văn Bình")
    lots = (give_points(store, "c-1", 1000, "award:1"), give_points(store, "c-1", 1500, "award:2"))
    give_points(store, "c-2", 1000, "award:3")
    return lots


def redeem_as(client, token, customer_id="c-1", reward_id="bill-credit-100k", key="key-1"):
    headers = bearer(token) | ({"Idempotency-Key": key} if key is not None else {})
    return client.post(f"{BASE}/customers/{customer_id}/redemptions", json={"reward_id": reward_id},
                       headers=headers)


def test_chi_lan_redeems_a_bill_credit_with_her_own_key(store, client, key_for, lan):
    response = redeem_as(client, key_for("customer", "c-1"))
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert {k: body[k] for k in ("customer_id", "reward_id", "points", "value", "status", "reward_name")} == {
        "customer_id": "c-1", "reward_id": "bill-credit-100k", "points": 1000, "value": 100_000,
        "status": "pending", "reward_name": "Giảm 100.000đ hóa đơn"}
    assert body["created_at"].endswith("+07:00") and body["settled_at"] is None
    assert "Idempotent-Replayed" not in response.headers
    assert spendable(store, "c-1") == 1500 and lot_remaining(store, lan[0]) == 0


def test_a_redemption_without_an_idempotency_key_is_refused_naming_the_header(store, client, key_for, lan):
    body = assert_problem(redeem_as(client, key_for("customer"), key=None), 422)
    assert "Idempotency-Key" in body["errors"]
    assert spends(store) == 0


def test_a_retry_with_the_same_key_answers_the_same_and_spends_once(store, client, key_for, lan):
    token = key_for("customer", "c-1")
    first = redeem_as(client, token)
    again = redeem_as(client, token)
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (spends(store), redemptions(store), spendable(store, "c-1")) == (1, 1, 1500)


def test_the_same_key_with_another_reward_is_a_conflict(store, client, key_for, lan):
    token = key_for("customer", "c-1")
    redeem_as(client, token)
    body = assert_problem(redeem_as(client, token, reward_id="speed-upgrade"), 409)
    assert "key-1" in body["detail"]
    assert spendable(store, "c-1") == 1500


def test_not_enough_points_says_how_many_she_has_and_how_many_are_needed(store, client, key_for, lan):
    body = assert_problem(redeem_as(client, key_for("customer", "c-2"), "c-2", "tet-hamper"), 409)
    assert (body["available"], body["needed"]) == (1000, 3000)
    assert "1,000" in body["detail"] and "3,000" in body["detail"]
    assert spendable(store, "c-2") == 1000


def test_the_per_customer_limit_is_named_in_the_refusal(store, client, key_for, lan):
    token = key_for("billing")
    give_points(store, "c-1", 2000, "award:4")
    for key in ("k-1", "k-2"):
        assert redeem_as(client, token, reward_id="speed-upgrade", key=key).status_code == 201
    body = assert_problem(redeem_as(client, token, reward_id="speed-upgrade", key="k-3"), 409)
    assert body["limit"] == 2 and "at most 2 times" in body["detail"]


def test_an_unknown_reward_is_a_422_naming_reward_id(client, key_for, lan):
    body = assert_problem(redeem_as(client, key_for("billing"), reward_id="no-such-thing"), 422)
    assert "reward_id" in body["errors"]


def test_billing_lists_pending_redemptions_oldest_first_page_by_page(client, key_for, lan):
    made = [redeem_as(client, key_for("billing"), customer_id=c, reward_id="bill-credit-100k", key="k")
            .get_json()["id"] for c in ("c-1", "c-2")]
    headers = bearer(key_for("billing"))
    first = client.get(f"{BASE}/redemptions?status=pending&limit=1", headers=headers).get_json()
    rest = client.get(f"{BASE}/redemptions?limit=1&cursor={first['next_cursor']}", headers=headers).get_json()
    assert [r["id"] for r in first["items"] + rest["items"]] == made and rest["next_cursor"] is None
    assert first["items"][0]["customer_id"] == "c-1" and first["items"][0]["created_at"].endswith("+07:00")
    client.post(f"{BASE}/redemptions/{made[0]}/fulfil", headers=headers)
    pending = client.get(f"{BASE}/redemptions", headers=headers).get_json()
    assert [r["id"] for r in pending["items"]] == [made[1]]
    assert_problem(client.get(f"{BASE}/redemptions?status=paid", headers=headers), 422)


def test_fulfil_and_cancel_follow_the_state_machine(store, client, key_for, lan):
    billing = bearer(key_for("billing"))
    kept = redeem_as(client, key_for("billing"), key="k-1").get_json()["id"]
    dropped = redeem_as(client, key_for("billing"), key="k-2").get_json()["id"]
    fulfilled = client.post(f"{BASE}/redemptions/{kept}/fulfil", headers=billing)
    assert (fulfilled.status_code, fulfilled.get_json()["status"]) == (200, "fulfilled")
    assert client.post(f"{BASE}/redemptions/{kept}/fulfil", headers=billing).get_json() == fulfilled.get_json()
    assert_problem(client.post(f"{BASE}/redemptions/{kept}/cancel", headers=billing), 409)
    cancelled = client.post(f"{BASE}/redemptions/{dropped}/cancel", json={"reason": "Khách đổi ý"},
                            headers=billing)
    assert (cancelled.status_code, cancelled.get_json()["cancel_reason"]) == (200, "Khách đổi ý")
    again = client.post(f"{BASE}/redemptions/{dropped}/cancel", headers=billing)
    assert (again.status_code, again.get_json()) == (200, cancelled.get_json())
    assert_problem(client.post(f"{BASE}/redemptions/{dropped}/fulfil", headers=billing), 409)
    assert_problem(client.post(f"{BASE}/redemptions/99999/fulfil", headers=billing), 404)
    assert spendable(store, "c-1") == 1500


def test_a_cancel_by_the_customer_gives_her_points_back_to_the_same_lots(store, client, key_for, lan):
    token = key_for("customer", "c-1")
    rid = redeem_as(client, token).get_json()["id"]
    response = client.post(f"{BASE}/redemptions/{rid}/cancel", headers=bearer(token))
    assert (response.status_code, response.get_json()["status"]) == (200, "cancelled")
    assert [lot_remaining(store, lot) for lot in lan] == [1000, 1500]


def test_the_customers_rewards_show_grants_and_redemptions_newest_first(store, client, key_for, lan):
    grant_welcome_router(store, "c-1")
    token = key_for("customer", "c-1")
    paid = redeem_as(client, token).get_json()
    first = client.get(f"{BASE}/customers/c-1/rewards?limit=1", headers=bearer(token)).get_json()
    rest = client.get(f"{BASE}/customers/c-1/rewards?cursor={first['next_cursor']}",
                      headers=bearer(token)).get_json()
    items = first["items"] + rest["items"]
    assert [(i["source"], i["reward_id"], i["points"]) for i in items] == [
        ("redemption", "bill-credit-100k", 1000), ("grant", "wifi-6-router", 0)]
    assert items[0]["id"] == paid["id"] and rest["next_cursor"] is None


# Who may do what: every route x role. {mine} is c-1's pending redemption, {theirs} c-2's.
MATRIX = [
    ("POST", "/customers/c-1/redemptions", "customer", 201),
    ("POST", "/customers/c-2/redemptions", "customer", 404),
    ("POST", "/customers/c-1/redemptions", "billing", 201),
    ("POST", "/customers/c-1/redemptions", "marketing", 403),
    ("POST", "/customers/c-1/redemptions", "admin", 201),
    ("POST", "/customers/c-1/redemptions", None, 401),
    ("GET", "/customers/c-1/rewards", "customer", 200),
    ("GET", "/customers/c-2/rewards", "customer", 404),
    ("GET", "/customers/c-1/rewards", "billing", 200),
    ("GET", "/customers/c-1/rewards", "marketing", 200),
    ("GET", "/customers/nobody/rewards", "billing", 404),
    ("GET", "/customers/c-1/rewards", None, 401),
    ("GET", "/redemptions", "billing", 200),
    ("GET", "/redemptions", "customer", 403),
    ("GET", "/redemptions", "marketing", 403),
    ("GET", "/redemptions", None, 401),
    ("POST", "/redemptions/{mine}/fulfil", "billing", 200),
    ("POST", "/redemptions/{mine}/fulfil", "customer", 403),
    ("POST", "/redemptions/{mine}/fulfil", "marketing", 403),
    ("POST", "/redemptions/{mine}/fulfil", None, 401),
    ("POST", "/redemptions/{mine}/cancel", "billing", 200),
    ("POST", "/redemptions/{mine}/cancel", "customer", 200),
    ("POST", "/redemptions/{theirs}/cancel", "customer", 404),
    ("POST", "/redemptions/{mine}/cancel", "marketing", 403),
    ("POST", "/redemptions/{mine}/cancel", None, 401),
]


@pytest.mark.parametrize("method, path, role, expected", MATRIX,
                         ids=[f"{m} {p} as {r}" for m, p, r, _ in MATRIX])
def test_each_route_admits_exactly_its_roles(store, client, key_for, lan, method, path, role, expected):
    billing = key_for("billing")
    mine = redeem_as(client, billing, "c-1", "speed-upgrade", key="setup").get_json()["id"]
    theirs = redeem_as(client, billing, "c-2", "bill-credit-100k", key="setup").get_json()["id"]
    headers = bearer(key_for(role)) if role else {}
    headers |= {"Idempotency-Key": "matrix"}
    body = {"reward_id": "bill-credit-100k"} if path.endswith("redemptions") else None
    response = client.open(BASE + path.format(mine=mine, theirs=theirs), method=method, json=body,
                           headers=headers)
    if expected >= 400:
        assert_problem(response, expected)
    else:
        assert response.status_code == expected, response.get_data(as_text=True)
    assert (spendable(store, "c-1") < 1000) == (expected == 201)


def test_the_openapi_document_describes_the_idempotency_key_and_the_refusals(client):
    spec = client.get(f"{BASE}/openapi.json").get_json()
    post = spec["paths"][f"{BASE}/customers/{{customer_id}}/redemptions"]["post"]
    [header] = [p for p in post["parameters"] if p["in"] == "header"]
    assert (header["name"], header["required"]) == ("Idempotency-Key", True)
    assert {"201", "401", "403", "404", "409", "422"} <= set(post["responses"])
    assert "Idempotent-Replayed" in post["responses"]["201"]["headers"]
    assert spec["paths"][f"{BASE}/redemptions"]["get"]["x-roles"] == ["admin", "billing"]
    cancel = spec["paths"][f"{BASE}/redemptions/{{redemption_id}}/cancel"]["post"]
    assert cancel["x-roles"] == ["admin", "billing", "customer"]


def test_reward_names_come_in_the_customers_own_language(store, client, key_for, lan):
    add_customer(store, "c-3", "Jane Doe", locale="en")
    give_points(store, "c-3", 1000, "award:5")
    body = redeem_as(client, key_for("customer", "c-3"), "c-3").get_json()
    assert body["reward_name"] == "100,000 VND off your bill"
