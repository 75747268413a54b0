"""Goodwill credits above their threshold, waiting for marketing: list them, approve or reject each.

Deciding the same way twice changes nothing (200, the same approval); the opposite decision is 409.
"""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from api.auth import current_identity, roles
from api.blueprint import Blueprint
from api.clock import now
from api.context import current_store
from api.fields import LocalDateTime
from api.pagination import PageArgs, decode_cursor, page_of, page_schema
from api.redemptions import actor_of
from loyalty.errors import FieldErrors
from loyalty.services.approvals import approve, list_approvals, reject

blp = Blueprint("approvals", __name__, url_prefix="/approvals", description="Goodwill credits waiting for marketing")

STATUSES = ("pending", "approved", "rejected")


class ApprovalListArgs(PageArgs):
    status = ma.fields.String(load_default="pending", validate=ma.validate.OneOf(STATUSES))


class ApproveBody(ma.Schema):
    note = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=500))


class RejectBody(ma.Schema):
    reason = ma.fields.String(required=True, validate=[
        ma.validate.Length(max=500), ma.validate.Regexp(r"\S", error="say why the credit is refused")])


class ApprovalSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
    customer_id = ma.fields.String(required=True)
    customer_name = ma.fields.String(required=True)
    amount = ma.fields.Integer(required=True, metadata={"description": "the bill credit, VND"})
    rule_id = ma.fields.String(required=True)
    event_id = ma.fields.String(required=True, metadata={"description": "the service incident event"})
    incident_id = ma.fields.String(required=True, allow_none=True,
                                   metadata={"description": "billing's id of the incident"})
    requested_at = LocalDateTime(required=True)
    decided_at = LocalDateTime(required=True, allow_none=True)
    decided_by = ma.fields.String(required=True, allow_none=True)
    note = ma.fields.String(required=True, allow_none=True, metadata={"description": "why, as the decider said"})


@blp.route("")
class Approvals(MethodView):
    @roles("marketing")
    @blp.arguments(ApprovalListArgs, location="query")
    @blp.response(200, page_schema(ApprovalSchema))
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, args: dict):
        """List goodwill credits in one status (pending by default), oldest first."""
        after = decode_cursor(args["cursor"])
        with current_store().reading() as session:
            rows = list_approvals(session, args["status"], _id(after), args["limit"] + 1)
        return page_of(rows, args["limit"], key=lambda approval: [approval.id])


@blp.route("/<id:approval_id>/approve")
class Approve(MethodView):
    @roles("marketing")
    @blp.arguments(ApproveBody, required=False)
    @blp.response(200, ApprovalSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body: dict, approval_id: int):
        """Approve a credit: billing finds a bill credit to apply. Approving again changes nothing."""
        actor, at = actor_of(current_identity()), now()
        return current_store().run(lambda session: approve(session, approval_id, actor=actor, at=at,
                                                           note=body.get("note")))


@blp.route("/<id:approval_id>/reject")
class Reject(MethodView):
    @roles("marketing")
    @blp.arguments(RejectBody)
    @blp.response(200, ApprovalSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, body: dict, approval_id: int):
        """Reject a credit, saying why: nothing is credited. Rejecting again changes nothing."""
        actor, at = actor_of(current_identity()), now()
        return current_store().run(lambda session: reject(session, approval_id, actor=actor, at=at,
                                                          note=body["reason"]))


def _id(cursor: list | None) -> int | None:
    """The approval id a cursor of this list carries."""
    if cursor is None:
        return None
    if not isinstance(cursor[0], int) or isinstance(cursor[0], bool):
        raise FieldErrors({"cursor": ["Not a cursor this API gave out; start without one."]})
    return cursor[0]
