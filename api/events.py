"""POST /events and /events/batch: billing reports what happened; each event is applied exactly once.

A resend of an event answers 200 with the very body of its first answer (201): nothing is
awarded twice. A batch answers every event on its own, in order; one refused event stops nothing.
"""
from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView

from api.auth import roles
from api.blueprint import Blueprint
from api.clock import now
from api.context import current_events, current_ruleset, current_store
from api.errors import refusal_body, status_of
from loyalty.errors import LoyaltyError
from loyalty.services.event_payloads import Envelope
from loyalty.services.ingest import MAX_BATCH, ingest_many
from loyalty.services.ingest_batch import ANSWER_ENCODER, answer_json
from loyalty.services.ingest_result import IngestResult

blp = Blueprint("events", __name__, url_prefix="/events", description="Billing's events, ingested once each")

OUTCOME_OF_STATUS = {404: "not_found", 409: "conflict", 422: "invalid"}
"""A refused event's `status` in a batch, by the HTTP status it would get on its own."""
REPLAYED_HEADER = "Idempotent-Replayed"
_string = ANSWER_ENCODER.encode


EXAMPLE = {"id": "evt-5", "type": "invoice.paid", "occurred_at": "2026-11-25T03:00:00Z", "customer_id": "C001",
           "data": {"invoice_id": "INV-2026-11-001", "amount": 5000000}}
"""docs/events.md's paid invoice, shown in the OpenAPI document."""


class GivenAwardSchema(ma.Schema):
    award_id = ma.fields.Integer(required=True)
    rule_id = ma.fields.String(required=True)
    programme_id = ma.fields.String(required=True)
    ruleset_version = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "granted or pending_approval"})
    contract_id = ma.fields.String(required=True, allow_none=True)
    points = ma.fields.Integer(required=True)
    status_points = ma.fields.Integer(required=True)
    expires_on = ma.fields.Date(required=True, allow_none=True, metadata={"description": "first day gone"})
    vests_on = ma.fields.Date(required=True, allow_none=True, metadata={"description": "first day spendable"})
    reward = ma.fields.String(required=True, allow_none=True)
    membership = ma.fields.String(required=True, allow_none=True)
    tier = ma.fields.String(required=True, allow_none=True)
    goodwill = ma.fields.Integer(required=True, allow_none=True, metadata={"description": "bill credit, VND"})


class StoppedSchema(ma.Schema):
    rule_id = ma.fields.String(required=True)
    reason = ma.fields.String(required=True,
                              metadata={"description": "once_per, budget, cap, stock, window, group, ..."})
    detail = ma.fields.String(required=True)


class ClawedBackSchema(ma.Schema):
    award_id = ma.fields.Integer(required=True)
    rule_id = ma.fields.String(required=True)
    points = ma.fields.Integer(required=True)
    shortfall = ma.fields.Integer(required=True, metadata={"description": "already spent, not taken back"})


class EventResultSchema(ma.Schema):
    event_id = ma.fields.String(required=True)
    awards = ma.fields.List(ma.fields.Nested(GivenAwardSchema), required=True)
    stopped = ma.fields.List(ma.fields.Nested(StoppedSchema), required=True)
    clawed_back = ma.fields.List(ma.fields.Nested(ClawedBackSchema), required=True)


class BatchSchema(ma.Schema):
    events = ma.fields.List(
        ma.fields.Raw(), required=True,
        validate=ma.validate.Length(min=1, max=MAX_BATCH, error=f"give 1 to {MAX_BATCH} events in one batch"),
        metadata={"description": f"up to {MAX_BATCH} event envelopes, each checked on its own"},
    )


class OutcomeSchema(ma.Schema):
    index = ma.fields.Integer(required=True, metadata={"description": "position in the batch"})
    event_id = ma.fields.String(required=True, allow_none=True)
    status = ma.fields.String(required=True, metadata={"description": "created, replayed, conflict, invalid"})
    result = ma.fields.Nested(EventResultSchema, required=True, allow_none=True)
    problem = ma.fields.Raw(required=True, allow_none=True,
                            metadata={"description": "a refused event: the problem it would get alone"})


class BatchResultSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(OutcomeSchema), required=True)


def event_body(result: IngestResult) -> dict[str, Any]:
    """What `EventResultSchema` dumps, written out: the schema documents the answer, this builds it.

    Single events are a hot path and marshmallow's dump cost about as much as the rate limit and key
    check together; a test holds the two equal (as `api.points.balance_body` does for balances).
    """
    stored = result.as_dict()
    del stored["replayed"]  # the status and a header say it, not the body
    return stored


def outcome(index: int, event: Any, result: IngestResult | LoyaltyError) -> dict[str, Any]:
    """One event's line in a batch answer, as `OutcomeSchema` dumps it (a test holds them equal):
    marshmallow dumping a thousand results cost more than ingesting them."""
    if isinstance(result, IngestResult):
        status = "replayed" if result.replayed else "created"
        return {"index": index, "event_id": result.event_id, "status": status, "result": event_body(result),
                "problem": None}
    event_id = event.get("id") if isinstance(event, dict) else None
    return {"index": index, "event_id": event_id if isinstance(event_id, str) else None,
            "status": OUTCOME_OF_STATUS.get(status_of(result), "refused"), "result": None,
            "problem": refusal_body(result)}


def batch_answer(events: list[Any], results: list[IngestResult | LoyaltyError]) -> str:
    """The batch's answer as the app's JSON provider writes `{"results": [outcome, ...]}` (keys sorted,
    compact, then a newline), a test holds them equal: a created result's body is the JSON the batch
    already wrote for its event row, set in a line of text, not built and dumped again."""
    dumps = current_app.json.dumps
    lines = []
    for index, (event, result) in enumerate(zip(events, results)):
        body = answer_json(result) if isinstance(result, IngestResult) and not result.replayed else None
        if body is None:
            lines.append(dumps(outcome(index, event, result), separators=(",", ":")))
        else:
            lines.append(f'{{"event_id":{_string(result.event_id)},"index":{index},"problem":null,'
                         f'"result":{body},"status":"created"}}')
    return '{"results":[' + ",".join(lines) + "]}\n"


@blp.route("")
class Events(MethodView):
    @roles("billing")
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": Envelope, "example": EXAMPLE}}})
    @blp.response(201, EventResultSchema)
    @blp.alt_response(200, schema=EventResultSchema, description="A resend: the first answer again")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self):
        """Ingest one event (envelope in docs/events.md): 201 with its awards; a resend 200, the same body."""
        result = current_events().ingest(current_ruleset(), request.get_json(), now())
        answer = current_app.json.response(event_body(result))
        if result.replayed:  # the status and a header say so; the body is the first answer's, unchanged
            return answer, 200, {REPLAYED_HEADER: "true"}
        return answer, 201


@blp.route("/batch")
class EventBatch(MethodView):
    @roles("billing")
    @blp.arguments(BatchSchema, example={"events": [EXAMPLE]})
    @blp.response(200, BatchResultSchema)
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, batch: dict):
        """Ingest up to 1,000 events in order, each on its own: a refused one does not stop the rest."""
        events = batch["events"]
        results = ingest_many(current_store(), current_ruleset(), events, now())
        return current_app.response_class(batch_answer(events, results), mimetype=current_app.json.mimetype)
