"""Every error a client can meet is problem+json that says what went wrong and what to fix."""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone

import pytest
from flask.views import MethodView

from api.auth import roles
from api.blueprint import Blueprint
from api.errors import flatten_messages, handle_refusal, status_of
from api_helpers import add_resource, assert_problem, bearer, build_app
from loyalty.errors import (Conflict, FieldErrors, KeyRefused, LoyaltyError, NotFound, RuleProblem,
                            RulesetInvalid, UnknownCustomer)

CUSTOMER = {"name": "Công ty Cổ phần Đông Á", "segment": "enterprise", "customer_since": "2020-01-15"}


def test_an_unknown_url_is_a_404_problem(client):
    body = assert_problem(client.get("/api/v1/no-such-thing"), 404)
    assert body["type"] == "urn:loyalty:problem:not-found"


def test_a_wrong_method_is_a_405_problem_that_lists_the_allowed_ones(client, key_for):
    response = client.delete("/api/v1/rewards", headers=bearer(key_for("admin")))
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_a_body_over_the_limit_is_a_413_problem_and_changes_nothing(store, key_for):
    client = build_app(store, MAX_CONTENT_LENGTH=1024).test_client()
    big = CUSTOMER | {"region": "Hà Nội " * 400}
    response = client.put("/api/v1/customers/c-1", json=big, headers=bearer(key_for("billing")))
    body = assert_problem(response, 413)
    assert "1024" in body["detail"]
    assert client.put("/api/v1/customers/c-1", json=CUSTOMER,
                      headers=bearer(key_for("billing"))).get_json()["name"] == CUSTOMER["name"]


def test_a_get_is_body_checked_only_when_it_declares_a_body(store, key_for):
    """The guard returns at once for a request with no Content-Length and no Transfer-Encoding;
    a GET that does send a body still meets the size limit, and only bodies of POST, PUT and PATCH
    must be JSON (as before the shortcut)."""
    client = build_app(store, MAX_CONTENT_LENGTH=1024).test_client()
    headers = bearer(key_for("billing"))
    assert client.get("/api/v1/rewards", headers=headers).status_code == 200
    too_big = client.get("/api/v1/rewards", headers=headers, data="x" * 2048, content_type="text/plain")
    assert "1024" in assert_problem(too_big, 413)["detail"]
    assert client.get("/api/v1/rewards", headers=headers, data="x", content_type="text/plain").status_code == 200
    declared = client.get("/api/v1/rewards", headers=headers, environ_overrides={"CONTENT_LENGTH": "4096"})
    assert_problem(declared, 413)
    chunked = client.put("/api/v1/customers/c-1", headers=headers | {"Transfer-Encoding": "chunked"},
                         data="name=An Phát", content_type="application/x-www-form-urlencoded")
    assert_problem(chunked, 415)


def test_a_body_that_is_not_json_is_refused_with_a_clear_reason(client, key_for):
    headers = bearer(key_for("billing"))
    not_json = client.put("/api/v1/customers/c-1", data="name=An Phát", headers=headers,
                          content_type="application/x-www-form-urlencoded")
    assert "application/json" in assert_problem(not_json, 415)["detail"]
    broken = client.put("/api/v1/customers/c-1", data='{"name": ', headers=headers,
                        content_type="application/json")
    assert "not valid JSON" in assert_problem(broken, 400)["detail"]


def test_invalid_fields_are_a_422_naming_each_field(client, key_for):
    response = client.put("/api/v1/customers/c-1", headers=bearer(key_for("billing")),
                          json={"name": "An Phát", "segment": "giant", "nickname": "AP"})
    body = assert_problem(response, 422)
    assert set(body["errors"]) == {"segment", "nickname"}
    assert all(isinstance(messages, list) and messages for messages in body["errors"].values())


def test_vietnamese_text_comes_back_as_written(client, key_for):
    response = client.put("/api/v1/customers/c-1", json=CUSTOMER, headers=bearer(key_for("billing")))
    assert response.status_code == 200
    assert "Công ty Cổ phần Đông Á".encode() in response.get_data()
    assert response.get_json()["updated_at"].endswith("+07:00")


@pytest.mark.parametrize("error, status", [
    (RulesetInvalid([RuleProblem("welcome.yaml", 7, "unknown fact 'tenure'", "welcome-sme")]), 422),
    (FieldErrors({"points": ["must be positive"]}), 422),
    (UnknownCustomer("c-404"), 404),
    (NotFound("no such redemption"), 404),
    (Conflict("already fulfilled"), 409),
    (KeyRefused("revoked"), 401),
    (LoyaltyError("some other refusal"), 422),
])
def test_each_refusal_maps_to_its_status(app, error, status):
    with app.test_request_context():
        response = handle_refusal(error)
    body = assert_problem(response, status)
    assert status_of(error) == status
    assert body["detail"] == str(error)


def test_an_invalid_ruleset_lists_every_problem_with_file_and_line(app):
    problems = [RuleProblem("welcome.yaml", 7, "unknown fact 'tenure'", "welcome-sme"),
                RuleProblem("tiers.yaml", 3, "duplicate id 'gold'")]
    with app.test_request_context():
        body = handle_refusal(RulesetInvalid(problems)).get_json(force=True)
    assert body["errors"] == [
        {"file": "welcome.yaml", "line": 7, "rule": "welcome-sme", "message": "unknown fact 'tenure'"},
        {"file": "tiers.yaml", "line": 3, "rule": None, "message": "duplicate id 'gold'"},
    ]


def test_a_crash_is_a_500_problem_without_the_trace_and_is_logged(store, key_for, caplog):
    crashing = Blueprint("crashing", __name__, url_prefix="/crashing")

    @crashing.route("")
    class Crash(MethodView):
        @roles("marketing")
        def get(self):
            """A view with a bug in it."""
            raise RuntimeError("secret internal detail")

    app = build_app(store)
    add_resource(app, crashing, "/api/v1/crashing")
    with caplog.at_level(logging.ERROR, logger="api.errors"):
        response = app.test_client().get("/api/v1/crashing", headers=bearer(key_for("marketing")))
    body = assert_problem(response, 500)
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert "logged" in body["detail"]
    assert any("secret internal detail" in record.exc_text for record in caplog.records if record.exc_text)


def test_nested_validation_messages_are_named_by_their_path():
    messages = {"json": {"contract": {"monthly_value": ["must not be negative"]},
                         "lines": {0: {"amount": ["not an integer"]}}, "_schema": ["empty body"]},
                "query": {"limit": ["too large"]}}
    assert flatten_messages(messages) == {"contract.monthly_value": ["must not be negative"],
                                          "lines.0.amount": ["not an integer"],
                                          "_schema": ["empty body"], "limit": ["too large"]}


def test_a_row_id_too_large_for_the_database_is_a_404_and_documented_as_bounded(store, key_for):
    things = Blueprint("things", __name__, url_prefix="/things")

    @things.route("/<id:thing_id>")
    class Thing(MethodView):
        @roles("billing")
        def get(self, thing_id):
            """A resource addressed by a database row id."""
            return {"id": thing_id}

    app = build_app(store)
    add_resource(app, things, "/api/v1/things")
    client, headers = app.test_client(), bearer(key_for("billing"))
    assert client.get("/api/v1/things/9223372036854775807", headers=headers).get_json() == {
        "id": 9223372036854775807}
    for too_far in ("9223372036854775808", "49601302637696442368", "0"):
        assert_problem(client.get(f"/api/v1/things/{too_far}", headers=headers), 404)
    [parameter] = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/things/{thing_id}"]["parameters"]
    assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": 9223372036854775807}


def test_times_outside_a_schema_are_iso_8601_in_the_customer_facing_zone(app):
    with app.app_context():
        text = app.json.dumps({"at": datetime(2026, 1, 31, 17, 30, tzinfo=timezone.utc),
                               "on": date(2026, 2, 1), "tên": "Giỏ quà Tết"})
    assert text == '{"at": "2026-02-01T00:30:00+07:00", "on": "2026-02-01", "tên": "Giỏ quà Tết"}'
