"""Keys and roles: billing, customers and marketing never see or do each other's things."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from flask.views import MethodView
from sqlalchemy import select

from api import create_app
from api.auth import PUBLIC, declared_roles, ensure_can_see_customer, roles
from api.blueprint import Blueprint
from api_helpers import NOW, add_resource, assert_problem, bearer, build_app
from loyalty.errors import KeyRefused, RulesetInvalid
from loyalty.services.keys import Authenticator, create_key, revoke_key
from loyalty.store.tables import ApiKey

PUBLIC_PATHS = {"/api/v1/health", "/api/v1/openapi.json", "/api/v1/docs"}
CUSTOMER = {"name": "Công ty TNHH An Phát", "segment": "sme", "customer_since": "2024-02-29"}


def test_every_api_route_declares_the_roles_it_admits(store):
    app = build_app(store)
    checked = 0
    for rule in app.url_map.iter_rules():
        assert rule.rule.startswith("/api/v1/"), f"{rule.rule} is outside /api/v1"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            admitted = declared_roles(app, rule.endpoint, method)
            if rule.rule in PUBLIC_PATHS:
                assert admitted == PUBLIC, f"{method} {rule.rule} should be public"
            else:
                assert admitted and admitted != PUBLIC, f"{method} {rule.rule} declares no roles"
                assert "admin" in admitted
            checked += 1
    assert checked >= 5


def _app_with_probe_routes(store):
    """The app plus two routes a later resource might add: one forgetting its roles."""
    probe = Blueprint("probe", __name__, url_prefix="/probe")

    @probe.route("/forgotten")
    class Forgotten(MethodView):
        def get(self):
            """A view whose author forgot to declare roles."""
            return {"secret": "leaked"}

    @probe.route("/customers/<customer_id>")
    class CustomerThing(MethodView):
        @roles("customer", "billing", "marketing")
        def get(self, customer_id):
            """A per-customer read, as the balance endpoint will be."""
            ensure_can_see_customer(customer_id)
            return {"customer_id": customer_id}

    app = build_app(store)
    add_resource(app, probe, "/api/v1/probe")
    return app


def test_an_endpoint_that_declares_no_roles_refuses_even_admin(store, key_for):
    client = _app_with_probe_routes(store).test_client()
    response = client.get("/api/v1/probe/forgotten", headers=bearer(key_for("admin")))
    body = assert_problem(response, 403)
    assert "deny by default" in body["detail"]
    assert "leaked" not in response.get_data(as_text=True)


@pytest.mark.parametrize("role, customer_id, expected", [
    ("customer", "c-1", 200),
    ("customer", "c-2", 404),
    ("billing", "c-2", 200),
    ("marketing", "c-2", 200),
    ("admin", "c-2", 200),
])
def test_a_customer_key_sees_only_its_own_customer(store, key_for, role, customer_id, expected):
    client = _app_with_probe_routes(store).test_client()
    token = key_for(role, "c-1") if role == "customer" else key_for(role)
    response = client.get(f"/api/v1/probe/customers/{customer_id}", headers=bearer(token))
    if expected == 200:
        assert response.status_code == 200
        assert response.get_json() == {"customer_id": customer_id}
    else:
        body = assert_problem(response, 404)
        assert "c-2" in body["detail"]


ROUTES = {
    "list rewards": ("GET", "/api/v1/rewards", None),
    "upsert a customer": ("PUT", "/api/v1/customers/c-1", CUSTOMER),
}
ADMITTED = {
    "list rewards": {"marketing", "billing", "customer", "admin"},
    "upsert a customer": {"billing", "admin"},
}


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("role", ["marketing", "billing", "customer", "admin"])
def test_each_role_is_admitted_only_where_the_contract_says(client, key_for, route, role):
    method, path, body = ROUTES[route]
    response = client.open(path, method=method, json=body, headers=bearer(key_for(role)))
    if role in ADMITTED[route]:
        assert response.status_code == 200, response.get_data(as_text=True)
    else:
        problem = assert_problem(response, 403)
        assert role in problem["detail"]


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_request_without_a_key_is_asked_for_one(client, route):
    method, path, body = ROUTES[route]
    response = client.open(path, method=method, json=body)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="loyalty"'


@pytest.mark.parametrize("header", [
    "Bearer lk_0123456789ab_not-the-secret",
    "Bearer not-a-key",
    "Basic dXNlcjpwYXNz",
    "Bearer ",
])
def test_unknown_or_malformed_keys_are_refused_with_a_bearer_challenge(client, key_for, header):
    key_for("billing")
    response = client.get("/api/v1/rewards", headers={"Authorization": header})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="loyalty", error="invalid_token"'


def test_a_key_with_the_right_prefix_and_a_wrong_secret_is_refused(client, key_for):
    token = key_for("marketing")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert_problem(client.get("/api/v1/rewards", headers=bearer(forged)), 401)


def test_a_new_key_is_shown_once_and_the_database_keeps_only_its_hash(store):
    issued = create_key(store, "billing", None, NOW)
    with store.reading() as session:
        row = session.scalars(select(ApiKey)).one()
        stored = [str(getattr(row, column.key)) for column in ApiKey.__table__.columns]
    assert issued.token.startswith(f"lk_{issued.prefix}_")
    assert all(issued.token not in value for value in stored)
    assert all(issued.token.split("_", 2)[2] not in value for value in stored)
    assert row.hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert (row.role, row.customer_id, row.revoked_at) == ("billing", None, None)


def test_a_revoked_key_is_refused(store):
    app = build_app(store, LOYALTY_KEY_CACHE_SECONDS=0)
    client = app.test_client()
    issued = create_key(store, "marketing", None, NOW)
    assert client.get("/api/v1/rewards", headers=bearer(issued.token)).status_code == 200
    revoke_key(store, issued.identity.key_id, NOW + timedelta(minutes=1))
    body = assert_problem(client.get("/api/v1/rewards", headers=bearer(issued.token)), 401)
    assert "revoked" in body["detail"]


def test_a_revocation_reaches_a_running_app_once_the_remembered_key_expires(store):
    clock = [1000.0]
    authenticator = Authenticator(store, ttl=5.0, clock=lambda: clock[0])
    issued = create_key(store, "billing", None, NOW)
    assert authenticator.authenticate(issued.token).role == "billing"
    revoke_key(store, issued.identity.key_id, NOW)
    assert authenticator.authenticate(issued.token).role == "billing"  # remembered for 5 s
    clock[0] += 5.0
    with pytest.raises(KeyRefused, match="revoked"):
        authenticator.authenticate(issued.token)


def test_the_app_refuses_to_start_on_a_missing_rules_directory(store, tmp_path):
    with pytest.raises(RulesetInvalid, match="no rules directory"):
        create_app({"LOYALTY_STORE": store, "LOYALTY_RULES_DIR": str(tmp_path / "absent")})


def test_forgetting_a_key_makes_its_revocation_count_at_once(store):
    authenticator = Authenticator(store, ttl=300.0)
    issued = create_key(store, "customer", "c-7", NOW)
    assert authenticator.authenticate(issued.token).customer_id == "c-7"
    revoke_key(store, issued.identity.key_id, NOW)
    authenticator.forget(issued.identity.key_id)
    with pytest.raises(KeyRefused, match="revoked"):
        authenticator.authenticate(issued.token)


def test_answers_to_a_key_are_never_kept_by_shared_caches(client, key_for):
    response = client.get("/api/v1/rewards", headers=bearer(key_for("customer")))
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Cache-Control" not in client.get("/api/v1/health").headers


def test_a_cache_control_a_view_chose_is_kept(store, key_for):
    """`keep_out_of_shared_caches` adds its header only when the answer has none."""
    from flask import Response

    from api.auth import keep_out_of_shared_caches

    app = build_app(store)
    with app.test_request_context("/", headers=bearer(key_for("customer"))):
        chosen = keep_out_of_shared_caches(Response(headers={"Cache-Control": "no-cache"}))
        assert chosen.headers.getlist("Cache-Control") == ["no-cache"]
        assert keep_out_of_shared_caches(Response()).headers.getlist("Cache-Control") == ["private, no-store"]
    with app.test_request_context("/"):
        assert "Cache-Control" not in keep_out_of_shared_caches(Response()).headers
