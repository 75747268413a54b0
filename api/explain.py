"""GET /customers/{id}/explain: why marketing's rules would or would not reward this customer today."""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import roles
from api.blueprint import Blueprint
from api.clock import now
from api.context import current_ruleset, current_store
from loyalty.engine.model import EVENT_TYPES
from loyalty.services.customer_view import CustomerExplanation, explain_customer

blp = Blueprint("explain", __name__, url_prefix="/customers", description="Why a customer is or is not rewarded")


class ExplainArgs(ma.Schema):
    event = ma.fields.String(load_default=None, validate=ma.validate.OneOf(EVENT_TYPES),
                             metadata={"description": "only the rules `on` this event type"})


class ConditionSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": "fact, all, any or not"})
    holds = ma.fields.Boolean(required=True)
    source = ma.fields.String(required=True, metadata={"description": "file:line of the condition"})
    fact = ma.fields.String(metadata={"description": "kind fact: the fact tested"})
    op = ma.fields.String(metadata={"description": "kind fact: eq, gte, in, between, ..."})
    expected = ma.fields.Raw(allow_none=True, metadata={"description": "kind fact: the rule's value"})
    actual = ma.fields.Raw(allow_none=True, metadata={"description": "kind fact: the customer's value"})
    parts = ma.fields.List(ma.fields.Nested(lambda: ConditionSchema()),
                           metadata={"description": "all, any, not: the parts"})


class RuleExplanationSchema(ma.Schema):
    rule_id = ma.fields.String(required=True)
    programme_id = ma.fields.String(required=True)
    on = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    source = ma.fields.String(required=True)
    matched = ma.fields.Boolean(required=True, metadata={"description": "its conditions hold"})
    awards = ma.fields.Boolean(required=True, metadata={"description": "matched and nothing stops it"})
    window = ma.fields.String(required=True)
    stopped_by = ma.fields.String(required=True, allow_none=True,
                                  metadata={"description": "why a matching rule gives nothing"})
    beaten_by = ma.fields.String(required=True, allow_none=True,
                                 metadata={"description": "the rule of its group that wins"})
    condition = ma.fields.Nested(ConditionSchema, required=True, allow_none=True)


class ExplanationSchema(ma.Schema):
    customer_id = ma.fields.String(required=True)
    today = ma.fields.Date(required=True, metadata={"description": "the customer's local date"})
    event_type = ma.fields.String(required=True, allow_none=True)
    ruleset_version = ma.fields.String(required=True)
    facts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(allow_none=True), required=True)
    rules = ma.fields.List(ma.fields.Nested(RuleExplanationSchema), required=True)


def as_json(explanation: CustomerExplanation) -> dict:
    """The engine's explanation dataclasses as the dicts they render themselves to."""
    return {**vars(explanation), "rules": [rule.as_dict() for rule in explanation.rules]}


@blp.route("/<string(maxlength=64):customer_id>/explain")
class Explain(MethodView):
    @roles("marketing")
    @blp.arguments(ExplainArgs, location="query")
    @blp.response(200, ExplanationSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, args: dict, customer_id: str):
        """Explain every rule for the customer today: each condition's fact value, and what stops a match."""
        explained = explain_customer(current_store(), current_ruleset(), customer_id, now(), args["event"])
        return as_json(explained)
