"""Reward grants: free rewards given by rules and goodwill bill credits; billing lists, fulfils or cancels them."""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import current_identity, roles
from api.blueprint import Blueprint
from api.context import current_store
from api.fields import LocalDateTime
from api.pagination import PageArgs, decode_cursor, page_of, page_schema
from api.redemptions import actor_of, now
from loyalty.services.grants import GRANT_STATUSES, PENDING, cancel_grant, fulfil_grant, grants_in_status

blp = Blueprint("grants", __name__, url_prefix="",
                description="Rewards and bill credits given by rules, and billing settling them")


class GrantSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    customer_id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(("reward", "bill_credit")),
                            metadata={"description": "reward: a catalogue item given free; "
                                                     "bill_credit: goodwill, `amount` VND off the bill"})
    reward_id = ma.fields.String(required=True, allow_none=True,
                                 metadata={"description": "a reward of GET /rewards, for kind reward"})
    amount = ma.fields.Integer(required=True, allow_none=True, metadata={"description": "VND, for a bill credit"})
    award_id = ma.fields.Integer(required=True, metadata={"description": "the award that gave it"})
    rule_id = ma.fields.String(required=True)
    programme_id = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(GRANT_STATUSES))
    created_at = LocalDateTime(required=True)
    fulfilled_at = LocalDateTime(required=True, allow_none=True)


class GrantListArgs(PageArgs):
    status = ma.fields.String(load_default=PENDING, validate=ma.validate.OneOf(GRANT_STATUSES))


@blp.route("/grants")
class Grants(MethodView):
    @roles("billing")
    @blp.arguments(GrantListArgs, location="query")
    @blp.response(200, page_schema(GrantSchema))
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, args):
        """List reward grants in a status, oldest first: `pending` is what to apply on the next bill."""
        rows = grants_in_status(current_store(), args["status"], decode_cursor(args["cursor"]), args["limit"] + 1)
        return page_of(rows, args["limit"], key=lambda row: row.cursor())


@blp.route("/grants/<id:grant_id>/fulfil")
class FulfilGrant(MethodView):
    @roles("billing")
    @blp.response(200, GrantSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, grant_id: int):
        """Confirm the grant was applied on a bill; again on a fulfilled one changes nothing."""
        return fulfil_grant(current_store(), grant_id, actor_of(current_identity()), now())


class CancelGrantSchema(ma.Schema):
    reason = ma.fields.String(load_default=None, validate=ma.validate.Length(max=500),
                              metadata={"description": "why billing will not apply it, kept in the audit log"})


@blp.route("/grants/<id:grant_id>/cancel")
class CancelGrant(MethodView):
    @roles("billing")
    @blp.arguments(CancelGrantSchema, required=False)
    @blp.response(200, GrantSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body, grant_id: int):
        """Billing will not apply the grant (declined, account closed); again on a cancelled one changes nothing."""
        return cancel_grant(current_store(), grant_id, actor_of(current_identity()), now(), (body or {}).get("reason"))
