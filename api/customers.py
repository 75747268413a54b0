"""PUT /customers/{id}: billing creates or updates a customer as its own records describe them."""
from __future__ import annotations

import marshmallow as ma
from flask import request
from flask.views import MethodView

from api.auth import roles
from api.blueprint import Blueprint
from api.context import current_store
from api.fields import LocalDateTime
from loyalty.services.customers import upsert_customer
from loyalty.services.event_payloads import CustomerData

blp = Blueprint("customers", __name__, url_prefix="/customers", description="Customers, as billing sends them")


class CustomerSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    segment = ma.fields.String(required=True)
    customer_since = ma.fields.Date(required=True)
    region = ma.fields.String(required=True, allow_none=True)
    locale = ma.fields.String(required=True)
    time_zone = ma.fields.String(required=True)
    tier = ma.fields.String(required=True, allow_none=True)
    updated_at = LocalDateTime(required=True)


def _save(customer_id: str, body: object):
    """Upsert in one unit of work and read back what was stored (server-set times included)."""

    def work(session):
        customer = upsert_customer(session, customer_id, body)
        session.refresh(customer)
        return customer

    return current_store().run(work)


@blp.route("/<string(maxlength=64):customer_id>")
class CustomerById(MethodView):
    @roles("billing")
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": CustomerData}}})
    @blp.response(200, CustomerSchema)
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def put(self, customer_id: str):
        """Create the customer (name, segment and customer_since needed) or update the fields given."""
        return _save(customer_id, request.get_json())
