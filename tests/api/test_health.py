"""Load balancers and operators ask /health whether the API and its database are up."""
from __future__ import annotations

import pytest

from api_helpers import assert_problem, bearer, build_app
from loyalty.store import Store

UNREACHABLE = {
    "sqlite": "sqlite:////nonexistent-directory/for/sure/loyalty.db",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2",
}


def test_health_says_ok_without_a_key(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_health_ignores_a_bad_key_rather_than_refusing(client):
    response = client.get("/api/v1/health", headers=bearer("lk_000000000000_nonsense"))
    assert response.status_code == 200


@pytest.mark.parametrize("dialect", sorted(UNREACHABLE))
def test_health_is_503_when_the_database_is_unreachable(dialect):
    store = Store(UNREACHABLE[dialect])
    try:
        client = build_app(store).test_client()
        response = client.get("/api/v1/health")
    finally:
        store.dispose()
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}


def test_a_keyed_request_while_the_database_is_down_is_a_503_problem():
    store = Store(UNREACHABLE["sqlite"])
    try:
        client = build_app(store).test_client()
        response = client.get("/api/v1/rewards", headers=bearer("lk_0123456789ab_some-secret"))
    finally:
        store.dispose()
    body = assert_problem(response, 503)
    assert "database" in body["detail"]
    assert response.headers["Retry-After"] == "5"
