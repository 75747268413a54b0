"""Rate limits count per key, refuse with 429 and Retry-After, and a refused request does nothing."""
from __future__ import annotations

import pytest
import redis
from limits import parse

from api.limits import MemoryWindows
from api_helpers import assert_problem, bearer, build_app
from loyalty.store.tables import Customer

REDIS_URL = "redis://127.0.0.1:6379/0"
CUSTOMER = {"name": "Công ty TNHH Minh Khang", "segment": "sme", "customer_since": "2023-05-01"}


def _redis_or_skip() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {error}")
    return REDIS_URL


@pytest.fixture(params=["memory", "redis"])
def limited_client(request, store):
    """A client whose app admits three requests a minute per key, counted in memory or Redis."""
    config = {"LOYALTY_RATE_LIMIT": "3 per minute"}
    if request.param == "redis":
        config["LOYALTY_REDIS_URL"] = _redis_or_skip()
    return build_app(store, **config).test_client()


def test_the_request_over_the_limit_is_a_429_problem_with_retry_after(limited_client, key_for):
    headers = bearer(key_for("marketing"))
    statuses = [limited_client.get("/api/v1/rewards", headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = limited_client.get("/api/v1/rewards", headers=headers)
    assert_problem(response, 429)
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_each_key_has_its_own_budget(limited_client, key_for):
    busy, other = bearer(key_for("billing")), bearer(key_for("billing"))
    for _ in range(3):
        limited_client.get("/api/v1/rewards", headers=busy)
    assert limited_client.get("/api/v1/rewards", headers=busy).status_code == 429
    assert limited_client.get("/api/v1/rewards", headers=other).status_code == 200


def test_the_budget_is_shared_by_every_endpoint_of_a_key(limited_client, key_for):
    headers = bearer(key_for("billing"))
    limited_client.put("/api/v1/customers/c-1", json=CUSTOMER, headers=headers)
    limited_client.get("/api/v1/rewards", headers=headers)
    limited_client.get("/api/v1/rewards", headers=headers)
    assert limited_client.put("/api/v1/customers/c-1", json=CUSTOMER, headers=headers).status_code == 429


def test_a_write_over_the_limit_changes_nothing(limited_client, key_for, store):
    headers = bearer(key_for("billing"))
    for _ in range(3):
        limited_client.get("/api/v1/rewards", headers=headers)
    response = limited_client.put("/api/v1/customers/c-9", json=CUSTOMER, headers=headers)
    assert_problem(response, 429)
    with store.reading() as session:
        assert session.get(Customer, "c-9") is None


def test_health_is_never_rate_limited(limited_client):
    assert {limited_client.get("/api/v1/health").status_code for _ in range(6)} == {200}


def test_callers_without_a_key_are_limited_by_address(limited_client):
    statuses = [limited_client.get("/api/v1/rewards").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_an_unreachable_redis_falls_back_to_counting_in_memory(store, key_for, caplog):
    client = build_app(store, LOYALTY_RATE_LIMIT="2 per minute",
                       LOYALTY_REDIS_URL="redis://127.0.0.1:1/0").test_client()
    headers = bearer(key_for("customer"))
    statuses = [client.get("/api/v1/rewards", headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert "falling back to in-memory storage" in caplog.text


def test_a_new_window_starts_a_new_count_and_retry_after_is_what_is_left_of_the_spent_one():
    moment = [120.0]
    windows = MemoryWindows(clock=lambda: moment[0])
    limit = parse("2 per minute")
    assert [windows.hit(0, limit, "key:1") for _ in range(2)] == [None, None]
    assert windows.hit(0, limit, "key:1") == 60.0
    assert windows.hit(0, limit, "key:2") is None, "another key has its own count"
    moment[0] = 180.5
    assert windows.hit(0, limit, "key:1") is None
