"""The customer-facing reads and billing's events keep their documented promises on real data.

`test_openapi.py` runs schemathesis over the whole spec against an empty database, where every
customer path is a 404. Here a customer with points exists, so the 200 answers of balance, ledger
and explain are generated and checked against their schemas too, and the documented event examples
are posted (201, then 200 as replays). Bounded: a few dozen cases per operation.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from api_helpers import CATALOGUE, NOW, bearer, build_app
from ingest_support import contract_signed, customer_upserted, invoice_paid, ruleset
from loyalty.engine.model import Ruleset
from loyalty.services.ingest import ingest
from loyalty.services.keys import create_key

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MINE = ("/api/v1/events", "/api/v1/events/batch", "/api/v1/customers/{customer_id}/balance",
        "/api/v1/customers/{customer_id}/ledger", "/api/v1/customers/{customer_id}/explain")
RULES = """
    programme: tich-diem
    name: "Tích điểm"
    rules:
      - id: points-on-invoice
        on: invoice.paid
        then:
          points: {per: 10000, of: event.amount, max: 5000}
          expires_after: P20D
      - id: welcome
        on: contract.signed
        when:
          segment: {in: [sme, enterprise]}
        then:
          points: 500
          pending_days: 30
          status_points: 10
    """


@pytest.fixture
def app(store):
    loaded = ruleset(RULES)
    rules = Ruleset(version=loaded.version, programmes=loaded.programmes, rewards=CATALOGUE)
    for event in (customer_upserted("seed-1"), contract_signed("seed-2", "HD-001", 3_000_000),
                  invoice_paid("seed-3", 2_000_000)):
        ingest(store, rules, event, NOW)
    return build_app(store, LOYALTY_RULESET=rules, LOYALTY_CLOCK=lambda: NOW, LOYALTY_RATE_LIMIT="100000 per minute")


def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    found = [result.ok() for result in schema.get_all_operations()]
    return [operation for operation in found if operation.path in MINE]


def test_the_reads_of_a_real_customer_and_the_event_examples_conform(app, store):
    admin = bearer(create_key(store, "admin", None, NOW).token)
    checked = operations(app)
    assert sorted(operation.path for operation in checked) == sorted(MINE)
    for operation in checked:
        @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def keeps_its_promises(case):
            if "customer_id" in (case.path_parameters or {}):
                case.path_parameters["customer_id"] = "C001"
            case.call_and_validate(headers=admin, checks=CHECKS)

        keeps_its_promises()


def test_the_documented_event_examples_are_accepted(app, store):
    client, billing = app.test_client(), bearer(create_key(store, "billing", None, NOW).token)
    spec = client.get("/api/v1/openapi.json").get_json()
    single = spec["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]["example"]
    batch = spec["paths"]["/api/v1/events/batch"]["post"]["requestBody"]["content"]["application/json"]["example"]
    first = client.post("/api/v1/events", json=single, headers=billing)
    assert first.status_code == 201 and first.get_json()["awards"][0]["points"] == 500
    [line] = client.post("/api/v1/events/batch", json=batch, headers=billing).get_json()["results"]
    assert (line["status"], line["result"]) == ("replayed", first.get_json())
