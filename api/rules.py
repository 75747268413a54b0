"""Marketing's rules: the ruleset in force, a draft checked, a draft's effect simulated before publishing.

A draft is a whole rules directory sent as `{"files": {"anniversary.yaml": "<YAML text>", ...}}`;
an invalid one is a 422 whose `errors` list every problem with its file, line and rule.
"""
from __future__ import annotations

import datetime as dt

import marshmallow as ma
from flask.views import MethodView

from api.auth import roles
from api.blueprint import Blueprint
from api.clock import now
from api.context import current_ruleset, current_store, current_time_zone
from loyalty.services.ruleset_view import describe_ruleset
from loyalty.services.simulate import MAX_FILES, check_draft, load_draft, simulate

blp = Blueprint("rules", __name__, url_prefix="/rules", description="Rules: in force, checked, simulated")


class LimitSchema(ma.Schema):
    points = ma.fields.Integer(required=True)
    per = ma.fields.String(required=True, metadata={"description": "year, month or programme"})


class ValiditySchema(ma.Schema):
    start = ma.fields.Date(data_key="from", required=True, allow_none=True)
    until = ma.fields.Date(required=True, allow_none=True)


class RuleSchema(ma.Schema):
    id = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    on = ma.fields.String(required=True)
    once_per = ma.fields.String(required=True)
    group = ma.fields.String(required=True, allow_none=True)
    priority = ma.fields.Integer(required=True)
    valid = ma.fields.Nested(ValiditySchema, required=True)
    condition = ma.fields.String(required=True, metadata={"description": "the `when`, on one line"})
    awards = ma.fields.String(required=True, metadata={"description": "the `then`, on one line"})
    clawback_on = ma.fields.String(required=True, allow_none=True)
    source = ma.fields.String(required=True, metadata={"description": "file:line"})


class ProgrammeSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    budget = ma.fields.Nested(LimitSchema, required=True, allow_none=True)
    cap = ma.fields.Nested(LimitSchema, required=True, allow_none=True)
    rules = ma.fields.List(ma.fields.Nested(RuleSchema), required=True)


class RulesetSchema(ma.Schema):
    version = ma.fields.String(required=True)
    programmes = ma.fields.List(ma.fields.Nested(ProgrammeSchema), required=True)
    rewards = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "catalogue ids"})


class DraftSchema(ma.Schema):
    files = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True,
                           validate=ma.validate.Length(min=1, max=MAX_FILES),
                           metadata={"description": "file name -> YAML text: the whole draft directory"})


class SimulateSchema(DraftSchema):
    date = ma.fields.Date(load_default=None, validate=ma.validate.Range(dt.date(2000, 1, 1), dt.date(9998, 12, 31)),
                          metadata={"description": "the day to simulate (default: today)"})


class CheckedSchema(ma.Schema):
    valid = ma.fields.Boolean(required=True)
    version = ma.fields.String(required=True)
    programmes = ma.fields.Integer(required=True)
    rules = ma.fields.Integer(required=True)


class RuleEffectSchema(ma.Schema):
    rule_id = ma.fields.String(required=True)
    on = ma.fields.String(required=True)
    draft_customers = ma.fields.Integer(required=True)
    draft_points = ma.fields.Integer(required=True)
    in_force_customers = ma.fields.Integer(required=True)
    in_force_points = ma.fields.Integer(required=True)


class CustomerChangeSchema(ma.Schema):
    customer_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    points_given = ma.fields.Integer(required=True)
    points_draft = ma.fields.Integer(required=True)
    delta = ma.fields.Integer(required=True)


class ReplaySchema(ma.Schema):
    since = ma.fields.Date(required=True, metadata={"description": "the first day replayed"})
    days = ma.fields.Integer(required=True)
    max_events = ma.fields.Integer(required=True)
    events = ma.fields.Integer(required=True)
    truncated = ma.fields.Boolean(required=True, metadata={"description": "more events than max_events"})
    customers = ma.fields.Integer(required=True)
    gainers = ma.fields.Integer(required=True)
    losers = ma.fields.Integer(required=True)
    points_given = ma.fields.Integer(required=True)
    points_draft = ma.fields.Integer(required=True)
    points_delta = ma.fields.Integer(required=True)
    goodwill_given = ma.fields.Integer(required=True, metadata={"description": "VND"})
    goodwill_draft = ma.fields.Integer(required=True, metadata={"description": "VND"})
    goodwill_delta = ma.fields.Integer(required=True, metadata={"description": "VND"})
    top_gainers = ma.fields.List(ma.fields.Nested(CustomerChangeSchema), required=True)
    top_losers = ma.fields.List(ma.fields.Nested(CustomerChangeSchema), required=True)


class SimulationSchema(ma.Schema):
    today = ma.fields.Date(required=True)
    draft_version = ma.fields.String(required=True)
    in_force_version = ma.fields.String(required=True)
    time_events = ma.fields.List(ma.fields.Nested(RuleEffectSchema), required=True, metadata={
        "description": "anniversary rules over each customer's next anniversary within a year; "
                       "daily rules over every customer tonight"})
    time_events_points_draft = ma.fields.Integer(required=True)
    time_events_points_in_force = ma.fields.Integer(required=True)
    time_events_gainers = ma.fields.Integer(required=True, metadata={
        "description": "customers given more points under the draft, per event type"})
    time_events_losers = ma.fields.Integer(required=True)
    replay = ma.fields.Nested(ReplaySchema, required=True)


@blp.route("")
class RulesInForce(MethodView):
    @roles("marketing")
    @blp.response(200, RulesetSchema)
    def get(self):
        """Show the ruleset in force: its programmes, each rule on one line, and the reward ids."""
        return describe_ruleset(current_ruleset())


@blp.route("/check")
class Check(MethodView):
    @roles("marketing")
    @blp.arguments(DraftSchema)
    @blp.response(200, CheckedSchema)
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body: dict):
        """Check a draft rules directory: its version and size, or every problem with file and line."""
        return {"valid": True, **vars(check_draft(body["files"]))}


@blp.route("/simulate")
class Simulate(MethodView):
    @roles("marketing")
    @blp.arguments(SimulateSchema)
    @blp.response(200, SimulationSchema)
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body: dict):
        """Compare a draft with the rules in force: customers thanked, events replayed, who gains and loses."""
        today = body["date"] or now().astimezone(current_time_zone()).date()
        return simulate(current_store(), current_ruleset(), load_draft(body["files"]), today)
