"""The API under test: an app on the `store` fixture (SQLite and PostgreSQL) and keys per role.

    def test_something(client, key_for):
        response = client.get("/api/v1/rewards", headers=bearer(key_for("billing")))

Helpers (`build_app`, `add_resource`, `bearer`, `assert_problem`, `reward`, `ruleset_with`) live in `api_helpers.py`.
"""
from __future__ import annotations

from typing import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api_helpers import NOW, build_app
from loyalty.services.keys import create_key


@pytest.fixture
def app(store) -> Flask:
    return build_app(store)


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def key_for(store) -> Callable[..., str]:
    """Mint a key in a role (a customer key for `customer_id`, default c-1) and return its token."""

    def mint(role: str, customer_id: str | None = None) -> str:
        if role == "customer":
            customer_id = customer_id or "c-1"
        return create_key(store, role, customer_id, NOW).token

    return mint
