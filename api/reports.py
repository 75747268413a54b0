"""Marketing's reports: where every programme's points went and the goodwill it granted; the recent nights."""
from __future__ import annotations

from datetime import date

import marshmallow as ma
from flask.views import MethodView

from api.auth import roles
from api.blueprint import Blueprint
from api.clock import now
from api.context import current_ruleset, current_store
from loyalty.ledger import local_date
from loyalty.services.daily import PHASES
from loyalty.services.nights_report import MAX_DAYS, STATES, recent_nights
from loyalty.services.reports import programme_report
from loyalty.store.tables.customers import DEFAULT_TIME_ZONE

blp = Blueprint("reports", __name__, url_prefix="/reports", description="Programme reports for marketing")


DAYS = ma.validate.Range(min=date(2000, 1, 1), max=date(9998, 12, 31))
"""Dates a ledger can hold; a year-1 date would overflow as a moment in UTC."""


class PeriodArgs(ma.Schema):
    since = ma.fields.Date(data_key="from", load_default=None, validate=DAYS,
                           metadata={"description": "first local day counted (default: the beginning)"})
    until = ma.fields.Date(load_default=None, validate=DAYS, metadata={"description": "last local day counted (default: no end)"})

    @ma.validates_schema
    def _in_order(self, data: dict, **_kwargs) -> None:
        if data["since"] and data["until"] and data["since"] > data["until"]:
            raise ma.ValidationError("must not be before from", "until")


class FiguresSchema(ma.Schema):
    issued = ma.fields.Integer(required=True, metadata={"description": "reward points earned"})
    redeemed = ma.fields.Integer(required=True, metadata={"description": "spent on rewards, less refunds"})
    expired = ma.fields.Integer(required=True)
    clawed_back = ma.fields.Integer(required=True, metadata={"description": "taken back or voided"})
    adjusted = ma.fields.Integer(required=True, metadata={"description": "manual corrections, signed"})
    outstanding = ma.fields.Integer(required=True, metadata={
        "description": "issued - redeemed - expired - clawed_back + adjusted; within a period, what it added"})
    goodwill_granted = ma.fields.Integer(required=True, metadata={"description": "bill credits granted, VND"})
    goodwill_pending = ma.fields.Integer(required=True, metadata={"description": "waiting for approval, VND"})


class RuleReportSchema(ma.Schema):
    rule_id = ma.fields.String(required=True, allow_none=True, metadata={"description": "null: no rule"})
    figures = ma.fields.Nested(FiguresSchema, required=True)


class ProgrammeReportSchema(ma.Schema):
    programme_id = ma.fields.String(required=True, allow_none=True)
    name = ma.fields.String(required=True, allow_none=True, metadata={"description": "null: not in force"})
    figures = ma.fields.Nested(FiguresSchema, required=True)
    rules = ma.fields.List(ma.fields.Nested(RuleReportSchema), required=True)


class ProgrammesReportSchema(ma.Schema):
    since = ma.fields.Date(data_key="from", required=True, allow_none=True)
    until = ma.fields.Date(required=True, allow_none=True)
    programmes = ma.fields.List(ma.fields.Nested(ProgrammeReportSchema), required=True)
    totals = ma.fields.Nested(FiguresSchema, required=True)


@blp.route("/programmes")
class Programmes(MethodView):
    @roles("marketing")
    @blp.arguments(PeriodArgs, location="query")
    @blp.response(200, ProgrammesReportSchema)
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, args: dict):
        """Per programme and rule: points issued, redeemed, expired, clawed back, outstanding; goodwill in VND."""
        return programme_report(current_store(), current_ruleset(), args["since"], args["until"])


class NightsArgs(ma.Schema):
    days = ma.fields.Integer(load_default=14, validate=ma.validate.Range(min=1, max=MAX_DAYS),
                             metadata={"description": "nights shown, today's included"})


class NightPhaseSchema(ma.Schema):
    phase = ma.fields.String(required=True, metadata={"description": f"one of {', '.join(PHASES)}, in that order"})
    finished = ma.fields.Boolean(required=True)
    customers = ma.fields.Integer(required=True, metadata={"description": "customers its committed chunks covered"})
    awards = ma.fields.Integer(required=True)
    points = ma.fields.Integer(required=True)
    moved = ma.fields.Integer(required=True, metadata={
        "description": "contracts ended, points vested or expired, or tier changes, by phase"})


class NightSchema(ma.Schema):
    day = ma.fields.Date(required=True, metadata={"description": "the local date of the night"})
    state = ma.fields.String(required=True, metadata={"description": f"one of {', '.join(STATES)}"})
    catch_up = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "unfinished or missed: `automatic` (the next run-daily runs it first) or `by_hand` "
                       "(run-daily --date)"})
    anniversaries = ma.fields.Integer(required=True)
    awards = ma.fields.Integer(required=True)
    points = ma.fields.Integer(required=True)
    tier_changes = ma.fields.Integer(required=True)
    phases = ma.fields.List(ma.fields.Nested(NightPhaseSchema), required=True)


class NightsReportSchema(ma.Schema):
    today = ma.fields.Date(required=True)
    catch_up_days = ma.fields.Integer(required=True)
    needing_attention = ma.fields.Integer(required=True, metadata={
        "description": "nights unfinished or missed, and today's if it has not run"})
    nights = ma.fields.List(ma.fields.Nested(NightSchema), required=True, metadata={"description": "newest first"})


@blp.route("/nights")
class Nights(MethodView):
    @roles("marketing")
    @blp.arguments(NightsArgs, location="query")
    @blp.response(200, NightsReportSchema)
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, args: dict):
        """The recent nightly runs: which finished, which did not and who runs them, what each gave."""
        # the night's local date where the customers are, as `loyalty run-daily` reads it
        report = recent_nights(current_store(), local_date(now(), DEFAULT_TIME_ZONE), args["days"])
        return {"today": report.today, "catch_up_days": report.catch_up_days,
                "needing_attention": len(report.needing_attention), "nights": report.nights}
