"""After a PostgreSQL restart, a read still answers: the connections back in the pool within a
second are not pinged (decision 26), so the first read on each finds it lost, and reads again."""
from __future__ import annotations

from flask.testing import FlaskClient

from api_helpers import CATALOGUE, NOW, bearer, build_app
from loyalty.services.keys import create_key
from loyalty.store import Store
from lost_connection import only_pooled_connection, terminate


def _app_and_token(store: Store) -> tuple[FlaskClient, str]:
    return build_app(store).test_client(), create_key(store, "customer", "c-1", NOW).token


def test_a_read_whose_connection_was_lost_answers_from_a_new_one(postgresql_store):
    client, token = _app_and_token(postgresql_store)
    assert client.get("/api/v1/rewards", headers=bearer(token)).status_code == 200  # the key is now known
    terminate(postgresql_store, only_pooled_connection(postgresql_store))

    response = client.get("/api/v1/rewards", headers=bearer(token))

    assert response.status_code == 200
    assert {item["id"] for item in response.get_json()["items"]} == {r.id for r in CATALOGUE}


def test_a_key_looked_up_on_a_lost_connection_is_looked_up_again(postgresql_store):
    client, token = _app_and_token(postgresql_store)
    terminate(postgresql_store, only_pooled_connection(postgresql_store))

    response = client.get("/api/v1/rewards", headers=bearer(token))  # the key's first lookup

    assert response.status_code == 200
