"""What API tests share: the test catalogue, keys as headers, and the problem+json check.

Imported by name (`from api_helpers import bearer`): pytest puts this directory on sys.path.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from flask import Flask

from api import create_app
from loyalty.engine.model import RewardItem, Ruleset, SourceRef
from loyalty.store import Store

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


def reward(reward_id: str, vi: str, en: str | None, points_cost: int, **extra) -> RewardItem:
    """A catalogue item as the rules loader would read it from rewards.yaml."""
    names = {"vi": vi} | ({"en": en} if en else {})
    return RewardItem(id=reward_id, names=names, kind=extra.pop("kind", "gift"), points_cost=points_cost,
                      source=SourceRef("rewards.yaml", 1), **extra)


CATALOGUE = (
    reward("bill-credit-100k", "Giảm 100.000đ hóa đơn", "100,000 VND off your bill", 1000,
           kind="bill_credit", value=100_000),
    reward("speed-upgrade", "Nâng tốc độ gấp đôi một tháng", "Double speed for a month", 1500,
           kind="speed_upgrade", per_customer_limit=2),
    reward("tet-hamper", "Giỏ quà Tết", None, 3000, stock=50),
)


def ruleset_with(*rewards: RewardItem) -> Ruleset:
    """A ruleset offering these rewards and no programmes."""
    return Ruleset(version="test", programmes=(), rewards=tuple(rewards))


def build_app(store: Store, **config) -> Flask:
    """An app on `store` with the test catalogue; each app counts rate limits on its own."""
    settings = {"TESTING": True, "LOYALTY_STORE": store, "LOYALTY_RULESET": ruleset_with(*CATALOGUE),
                "LOYALTY_RATE_LIMIT_PREFIX": f"test-{uuid.uuid4().hex}"}
    return create_app(settings | config)


def add_resource(app: Flask, blueprint, prefix: str) -> None:
    """Register a blueprint the way `create_app` registers `RESOURCES` (for probe routes in tests)."""
    app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(blueprint, url_prefix=prefix)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response, status: int) -> dict:
    """The response is problem+json with the required fields and this status; returns the body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"].startswith("urn:loyalty:problem:")
    assert body["title"] and body["detail"]
    return body
