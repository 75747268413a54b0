"""The OpenAPI document describes the API truthfully: schemathesis holds the app to it."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from api_helpers import NOW, bearer, build_app
from loyalty.services.keys import create_key

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_openapi_document_lists_the_paths_and_the_bearer_scheme(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/health", "/api/v1/rewards", "/api/v1/customers/{customer_id}"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]
        ["bearerAuth"]["description"]}
    assert spec["paths"]["/api/v1/rewards"]["get"]["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/api/v1/health"]["get"]["security"] == []
    problem = spec["components"]["responses"]["UNAUTHORIZED"]["content"]
    assert list(problem) == ["application/problem+json"]


def test_every_operation_has_a_summary_and_refuses_unknown_body_fields(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method != "parameters":
                assert operation.get("summary"), f"{method.upper()} {path} has no summary"
    customer = spec["components"]["schemas"]["CustomerData"]
    assert customer.get("additionalProperties") is False


def test_the_docs_page_loads_the_local_spec(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert "/api/v1/openapi.json" in response.get_data(as_text=True)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_the_api_keeps_its_documented_promises(store, mode):
    app = build_app(store, LOYALTY_RATE_LIMIT="100000 per minute")
    admin = bearer(create_key(store, "admin", None, NOW).token)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 3
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not _takes_input(operation):
            continue  # nothing to send wrong
        @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def keeps_its_promises(case):
            case.call_and_validate(headers=admin, checks=CHECKS)

        keeps_its_promises()


def _takes_input(operation) -> bool:
    return any(len(part) for part in (operation.path_parameters, operation.query, operation.body))
