"""Redemptions: customers spend points on rewards; billing lists, fulfils or cancels them.

POST /customers/{id}/redemptions needs an `Idempotency-Key` header: a retry with the same key and
body answers what the first request answered (201, same body, `Idempotent-Replayed: true`).
"""
from __future__ import annotations

from datetime import datetime, timezone

import marshmallow as ma
from flask.views import MethodView

from api.auth import current_identity, ensure_can_see_customer, roles
from api.blueprint import Blueprint
from api.context import current_store
from api.errors import ProblemSchema
from api.fields import LocalDateTime
from api.pagination import PageArgs, decode_cursor, page_of, page_schema
from loyalty.services.redemptions import (
    MAX_KEY_LENGTH, cancel, customer_rewards, fulfil, redeem, redemptions_in_status,
)
from loyalty.services.keys import KeyIdentity
from loyalty.store.tables.redemptions import PENDING, REDEMPTION_STATUSES

blp = Blueprint("redemptions", __name__, url_prefix="",
                description="Spending points on rewards, and billing settling them")

REPLAYED_HEADER = "Idempotent-Replayed"
MAX_ID = 2**63 - 1
"""Ids are 64-bit: a larger one in a URL is a routing 404, never a database overflow."""


class IdempotencyHeaders(ma.Schema):
    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key", required=True, validate=ma.validate.Length(min=1, max=MAX_KEY_LENGTH),
        metadata={"description": "A key unique to this request, e.g. a UUID; send it again on a retry"})


class RedeemBody(ma.Schema):
    reward_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64),
                                 metadata={"description": "a reward of GET /rewards"})


class CancelBody(ma.Schema):
    reason = ma.fields.String(load_default=None, allow_none=True,
                              validate=ma.validate.Length(max=500))


class RedemptionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    customer_id = ma.fields.String(required=True)
    reward_id = ma.fields.String(required=True)
    reward_name = ma.fields.String(required=True, metadata={"description": "in the customer's language"})
    reward_kind = ma.fields.String(required=True)
    points = ma.fields.Integer(required=True)
    value = ma.fields.Integer(required=True, allow_none=True,
                              metadata={"description": "face value in VND when redeemed"})
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(REDEMPTION_STATUSES))
    created_at = LocalDateTime(required=True)
    settled_at = LocalDateTime(required=True, allow_none=True)
    settled_by = ma.fields.String(required=True, allow_none=True)
    cancel_reason = ma.fields.String(required=True, allow_none=True)


class CustomerRewardSchema(ma.Schema):
    source = ma.fields.String(required=True, validate=ma.validate.OneOf(("grant", "redemption")),
                              metadata={"description": "grant: given free by a rule; redemption: paid in points"})
    id = ma.fields.Integer(required=True)
    reward_id = ma.fields.String(required=True, allow_none=True)
    name = ma.fields.String(required=True, allow_none=True)
    kind = ma.fields.String(required=True)
    points = ma.fields.Integer(required=True)
    value = ma.fields.Integer(required=True, allow_none=True, metadata={"description": "VND"})
    status = ma.fields.String(required=True)
    at = LocalDateTime(required=True)
    settled_at = LocalDateTime(required=True, allow_none=True)


class RedemptionRefusedProblem(ProblemSchema):
    available = ma.fields.Integer(metadata={"description": "points the customer can spend now"})
    needed = ma.fields.Integer(metadata={"description": "points the reward costs"})
    limit = ma.fields.Integer(metadata={"description": "the per-customer limit reached"})


class RedemptionListArgs(PageArgs):
    status = ma.fields.String(load_default=PENDING, validate=ma.validate.OneOf(REDEMPTION_STATUSES))


def now() -> datetime:
    """The API layer's clock: services are always told the time."""
    return datetime.now(timezone.utc)


def actor_of(identity: KeyIdentity) -> str:
    """Who acted, for the audit log: the key's role and id."""
    return f"{identity.role} key {identity.key_id}"


@blp.route("/customers/<string(maxlength=64):customer_id>/redemptions")
class CustomerRedemptions(MethodView):
    @roles("customer", "billing")
    @blp.arguments(IdempotencyHeaders, location="headers")
    @blp.arguments(RedeemBody)
    @blp.response(201, RedemptionSchema, headers={REPLAYED_HEADER: {
        "description": "`true` when this answers a retry of an earlier request with the same key",
        "schema": {"type": "string"}}})
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, schema=RedemptionRefusedProblem, content_type="application/problem+json",
                      description="not enough points (available, needed), out of stock, limit reached, "
                                  "or the Idempotency-Key used for another request")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, headers, body, customer_id: str):
        """Spend points on a reward: a pending redemption billing applies on the next bill."""
        ensure_can_see_customer(customer_id)
        result = redeem(current_store(), customer_id, body["reward_id"], headers["idempotency_key"],
                        actor_of(current_identity()), now())
        return result.redemption, 201, {REPLAYED_HEADER: "true"} if result.replayed else {}


@blp.route("/customers/<string(maxlength=64):customer_id>/rewards")
class CustomerRewards(MethodView):
    @roles("customer", "billing", "marketing")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(CustomerRewardSchema))
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, args, customer_id: str):
        """List the customer's rewards, newest first: grants given free by rules, and redemptions."""
        ensure_can_see_customer(customer_id)
        rows = customer_rewards(current_store(), customer_id, decode_cursor(args["cursor"]), args["limit"] + 1)
        return page_of(rows, args["limit"], key=lambda row: row.cursor())


@blp.route("/redemptions")
class Redemptions(MethodView):
    @roles("billing")
    @blp.arguments(RedemptionListArgs, location="query")
    @blp.response(200, page_schema(RedemptionSchema))
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, args):
        """List redemptions in a status, oldest first: `pending` is what to apply on the next bill."""
        rows = redemptions_in_status(current_store(), args["status"], decode_cursor(args["cursor"]),
                                     args["limit"] + 1)
        return page_of(rows, args["limit"], key=lambda row: row.cursor())


@blp.route(f"/redemptions/<int(max={MAX_ID}):redemption_id>/fulfil")
class Fulfil(MethodView):
    @roles("billing")
    @blp.response(200, RedemptionSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, redemption_id: int):
        """Confirm the reward was applied; again on a fulfilled one changes nothing, on a cancelled one 409."""
        return fulfil(current_store(), redemption_id, actor_of(current_identity()), now())


@blp.route(f"/redemptions/<int(max={MAX_ID}):redemption_id>/cancel")
class Cancel(MethodView):
    @roles("billing", "customer")
    @blp.arguments(CancelBody, required=False)
    @blp.response(200, RedemptionSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body, redemption_id: int):
        """Cancel a pending redemption: points back to the lots they came from; again changes nothing."""
        identity = current_identity()
        own = identity.customer_id if identity.role == "customer" else None
        return cancel(current_store(), redemption_id, actor_of(identity), body["reason"], now(),
                      for_customer=own)
