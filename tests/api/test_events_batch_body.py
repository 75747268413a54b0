"""The batch answer is written by hand for speed; it must be what its documented schema dumps."""
from __future__ import annotations

from ingest_support import RECEIVED, contract_signed, customer_upserted, event, invoice_paid

from api.events import OutcomeSchema, batch_answer, outcome
from loyalty.services.ingest import ingest, ingest_many
from loyalty.services.ingest_batch import answer_json
from tests.store.test_ingest_batch_equivalence import RULES


def test_each_line_of_a_batch_answer_is_what_the_outcome_schema_dumps(app, sqlite_store):
    for item in (customer_upserted("u-1", "C1"), contract_signed("s-1", "K1", 2_000_000, customer_id="C1")):
        ingest(sqlite_store, RULES, item, RECEIVED)
    events = [invoice_paid("i-1", 2_000_000, "C1"), invoice_paid("i-1", 2_000_000, "C1"),
              invoice_paid("i-2", -1, "C1"), event("o-1", "service.incident",
                                                  {"incident_id": "I1", "outage_hours": 100, "planned": False}, "C1"),
              event("c-1", "contract.cancelled", {"contract_id": "K1"}, "C1"), "not an event"]
    results = ingest_many(sqlite_store, RULES, events, RECEIVED)
    assert any(r.clawed_back for r in results if hasattr(r, "clawed_back"))
    assert any(a.expires_on for r in results if hasattr(r, "awards") for a in r.awards)
    schema = OutcomeSchema()
    with app.test_request_context():  # refusal bodies render through the app's problem handler
        for index, (raw, result) in enumerate(zip(events, results)):
            line = outcome(index, raw, result)
            expected = {**line, "result": result} if line["result"] is not None else line
            assert line == schema.dump(expected)


def test_the_batch_answer_is_the_json_providers_dump_of_its_outcomes(app, sqlite_store):
    for item in (customer_upserted("u-1", "C1"), contract_signed("s-1", "K1", 2_000_000, customer_id="C1")):
        ingest(sqlite_store, RULES, item, RECEIVED)
    ingest(sqlite_store, RULES, invoice_paid("i-0", 2_000_000, "C1"), RECEIVED)
    events = [invoice_paid("hóa-đơn-1", 2_000_000, "C1"), invoice_paid("hóa-đơn-1", 2_000_000, "C1"),
              invoice_paid("i-0", 2_000_000, "C1"), invoice_paid("i-2", -1, "C1"),
              *(invoice_paid(f"i-{n}", 900_000, "C1") for n in range(3, 9)),
              event("o-1", "service.incident", {"incident_id": "I1", "outage_hours": 1, "planned": True}, "C1"),
              event("c-1", "contract.cancelled", {"contract_id": "K1"}, "C1"), "not an event"]
    results = ingest_many(sqlite_store, RULES, events, RECEIVED)
    assert sum(answer_json(r) is not None for r in results) == 8  # the created set-based ones: written once
    assert any(r.stopped for r in results if answer_json(r) is not None)
    assert any(not r.awards and not r.stopped for r in results if answer_json(r) is not None)
    with app.test_request_context():
        expected = app.json.response({"results": [outcome(i, raw, result)
                                                  for i, (raw, result) in enumerate(zip(events, results))]})
        assert batch_answer(events, results) == expected.get_data(as_text=True)
