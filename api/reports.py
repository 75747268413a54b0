"""Marketing's programme reports: where every programme's points went, and the goodwill it granted."""
from __future__ import annotations

from datetime import date

import marshmallow as ma
from flask.views import MethodView

from api.auth import roles
from api.blueprint import Blueprint
from api.context import current_ruleset, current_store
from loyalty.services.reports import programme_report

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
