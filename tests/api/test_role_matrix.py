"""Every route of the app, asked by every role: admitted exactly where DESIGN's contract says.

The one place that proves deny by default end to end. It walks `app.url_map`, so a route someone
adds later must appear in `CONTRACT` (with the roles DESIGN gives it) or this test names it.
"""
from __future__ import annotations

import re

import pytest

from api_helpers import bearer, build_app

ROLES = ("customer", "billing", "marketing", "admin")
PUBLIC = "anyone"
CUSTOMER_READS = {"customer", "billing", "marketing"}

CONTRACT: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("POST", "/events"): {"billing"},
    ("POST", "/events/batch"): {"billing"},
    ("PUT", "/customers/{customer_id}"): {"billing"},
    ("GET", "/customers/{customer_id}/balance"): CUSTOMER_READS,
    ("GET", "/customers/{customer_id}/ledger"): CUSTOMER_READS,
    ("GET", "/customers/{customer_id}/rewards"): CUSTOMER_READS,
    ("GET", "/customers/{customer_id}/explain"): {"marketing"},
    ("GET", "/rewards"): {"customer", "billing", "marketing"},
    ("POST", "/customers/{customer_id}/redemptions"): {"customer", "billing"},
    ("GET", "/redemptions"): {"billing"},
    ("POST", "/redemptions/{redemption_id}/fulfil"): {"billing"},
    ("POST", "/redemptions/{redemption_id}/cancel"): {"billing", "customer"},
    ("GET", "/grants"): {"billing"},
    ("POST", "/grants/{grant_id}/fulfil"): {"billing"},
    ("POST", "/grants/{grant_id}/cancel"): {"billing"},
    ("GET", "/rules"): {"marketing"},
    ("POST", "/rules/check"): {"marketing"},
    ("POST", "/rules/simulate"): {"marketing"},
    ("GET", "/approvals"): {"marketing"},
    ("POST", "/approvals/{approval_id}/approve"): {"marketing"},
    ("POST", "/approvals/{approval_id}/reject"): {"marketing"},
    ("GET", "/reports/programmes"): {"marketing"},
    ("GET", "/reports/nights"): {"marketing"},  # docs/api.md; added after DESIGN's table (decision 35)
}
"""DESIGN.md's contract table: who may call what (admin is admitted everywhere)."""

PARAMETER = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\([^)]*\))?:)?(?P<name>[a-z_]+)>")
OWN_CUSTOMER = "c-1"


def template(rule: str) -> str:
    """`/api/v1/customers/<string(maxlength=64):customer_id>` as `/customers/{}`, names aside."""
    return re.sub(r"\{[^}]*\}", "{}", PARAMETER.sub(lambda m: "{" + m["name"] + "}", rule.removeprefix("/api/v1")))


def concrete(rule: str) -> str:
    """A URL for the route: the caller's own customer id, redemption 1."""
    return PARAMETER.sub(lambda m: "1" if m["converter"] in ("int", "id") else OWN_CUSTOMER, rule)


def app_routes(app) -> list[tuple[str, str]]:
    return [(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


@pytest.fixture
def app(store):
    return build_app(store, LOYALTY_RATE_LIMIT="100000 per minute")


def test_every_route_of_the_app_is_in_the_contract(app):
    contract = {(method, template(path)) for method, path in CONTRACT}
    unlisted = [f"{method} {rule}" for method, rule in app_routes(app) if (method, template(rule)) not in contract]
    assert unlisted == [], "add these routes to CONTRACT with DESIGN's roles: " + ", ".join(unlisted)


def test_each_role_is_admitted_exactly_where_the_contract_says(app, key_for):
    client = app.test_client()
    keys = {role: bearer(key_for(role, OWN_CUSTOMER if role == "customer" else None)) for role in ROLES}
    admitted_by = {(method, template(path)): roles for (method, path), roles in CONTRACT.items()}
    wrong, asked = [], 0
    for method, rule in app_routes(app):
        admitted = admitted_by[(method, template(rule))]
        for role, headers in [("nobody", {}), *keys.items()]:
            status = client.open(concrete(rule), method=method, json={} if method != "GET" else None,
                                 headers=headers).status_code
            asked += 1
            if admitted == PUBLIC or role == "admin" or role in admitted:
                kept = status not in (401, 403)
            else:
                kept = status == (401 if role == "nobody" else 403)
            if not kept:
                wrong.append(f"{role} {method} {rule}: {status}")
    assert wrong == [], "answers that break the contract: " + "; ".join(wrong)
    assert asked >= 5 * 14

