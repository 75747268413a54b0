"""The forms billing's events must take: one marshmallow schema per event type, unknown fields refused.

`load_event` checks the envelope, then the `data` of its type, and raises `FieldErrors` keyed by
the dotted path of each bad field (`data.contract.monthly_value: must be >= 0`), so billing can fix
every problem of one event at once.
"""
from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from loyalty.engine.model import EVENT_TYPES, SEGMENTS
from loyalty.errors import DuplicateEvent, FieldErrors

INGESTED_TYPES: tuple[str, ...] = tuple(t for t in EVENT_TYPES if t not in ("anniversary", "daily"))
"""What billing may post; `anniversary` and `daily` are the engine's own time events."""

MESSAGES = {
    "Missing data for required field.": "required",
    "Unknown field.": "unknown field",
    "Field may not be null.": "may not be null",
}


class Integer(fields.Integer):
    """A JSON integer: refuses strings, fractions and booleans (True is an int in Python)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Boolean(fields.Boolean):
    """A JSON true or false, not 1, "yes" or "on"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _text(max_length: int, **kwargs) -> fields.String:
    length = validate.Length(min=1, max=max_length, error="must be 1 to {max} characters")
    return fields.String(validate=length, **kwargs)


def _not_negative(**kwargs) -> Integer:
    return Integer(validate=validate.Range(min=0, error="must be >= 0"), **kwargs)


def _positive(**kwargs) -> Integer:
    return Integer(validate=validate.Range(min=1, error="must be >= 1"), **kwargs)


def _is_time_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError("not a known time zone such as Asia/Ho_Chi_Minh") from error


class Strict(Schema):
    class Meta:
        unknown = RAISE


class CustomerData(Strict):
    """A customer as billing describes it; on an update, omitted fields keep their value."""

    name = _text(200)
    segment = fields.String(validate=validate.OneOf(SEGMENTS, error="must be one of {choices}"))
    customer_since = fields.Date()
    region = _text(100, allow_none=True)
    locale = _text(8)
    time_zone = fields.String(validate=_is_time_zone)


class ContractData(Strict):
    id = _text(64, required=True)
    monthly_value = _not_negative(required=True)
    term_months = _positive(required=True)
    start = fields.Date(required=True)


class ContractSigned(Strict):
    contract = fields.Nested(ContractData, required=True)
    customer = fields.Nested(CustomerData)
    """Lets a signing for a customer the engine has not met create that customer."""


class ContractRenewed(Strict):
    contract_id = _text(64, required=True)
    term_months = _positive()
    monthly_value = _not_negative()


class ContractCancelled(Strict):
    contract_id = _text(64, required=True)
    reason = _text(500)


class InvoicePaid(Strict):
    invoice_id = _text(64, required=True)
    amount = _not_negative(required=True)
    contract_id = _text(64)


class ServiceIncident(Strict):
    incident_id = _text(64, required=True)
    outage_hours = _not_negative(required=True)
    planned = Boolean(required=True)
    contract_id = _text(64)


class ReferralConverted(Strict):
    referred_customer_id = _text(64)
    prospect_name = _text(200)

    @validates_schema
    def _names_the_referred(self, data: dict, **_kwargs) -> None:
        if not data.get("referred_customer_id") and not data.get("prospect_name"):
            raise ValidationError("give referred_customer_id or prospect_name", "referred_customer_id")


DATA_SCHEMAS: dict[str, type[Schema]] = {
    "customer.upserted": CustomerData,
    "contract.signed": ContractSigned,
    "contract.renewed": ContractRenewed,
    "contract.cancelled": ContractCancelled,
    "invoice.paid": InvoicePaid,
    "service.incident": ServiceIncident,
    "referral.converted": ReferralConverted,
}


class Envelope(Strict):
    id = _text(128, required=True)
    type = fields.String(
        required=True, validate=validate.OneOf(INGESTED_TYPES, error="must be one of {choices}")
    )
    occurred_at = fields.AwareDateTime(
        required=True, error_messages={"invalid_awareness": "must carry a time zone (Z or an offset)"}
    )
    customer_id = _text(64, required=True)
    data = fields.Dict(required=True)


ENVELOPE = Envelope()
LOADERS: dict[str, Schema] = {event_type: schema() for event_type, schema in DATA_SCHEMAS.items()}
"""One instance of each schema, shared: building a marshmallow schema costs more than loading with it,
and loading keeps no state on the instance."""


SUBJECTS: dict[str, tuple[str, ...]] = {
    "invoice.paid": ("invoice_id",),
    "service.incident": ("incident_id",),
    "referral.converted": ("referred_customer_id", "prospect_name"),
}
"""The fields that name what an event is about, for the types billing reports once per thing: the
first one given (a referral without `referred_customer_id` is about its `prospect_name`, decision 36)."""
PROSPECT_NAME = "prospect_name"
SUBJECT_LENGTH = 200
"""`events.subject`'s width: a longer subject is kept as a digest of itself."""


def subject_field(event: dict[str, Any]) -> str | None:
    """The data field naming what the event is about, if its type is reported once per thing."""
    return next((name for name in SUBJECTS.get(event["type"], ()) if event["data"].get(name)), None)


def event_subject(event: dict[str, Any]) -> str | None:
    """`invoice.paid:INV-1`: one event per invoice, incident or referred customer or prospect; None for
    the rest. A prospect is known by its name as a person would compare it: Unicode composed one
    way, case and runs of spaces ignored, so billing's "Nhà hàng  Sen Vàng" is "nhà hàng sen vàng"."""
    field_name = subject_field(event)
    if field_name is None:
        return None
    value = event["data"][field_name]
    if field_name == PROSPECT_NAME:
        value = "prospect:" + " ".join(unicodedata.normalize("NFC", value).casefold().split())
    subject = f"{event['type']}:{value}"
    if len(subject) > SUBJECT_LENGTH:
        subject = f"{event['type']}:sha256:{hashlib.sha256(subject.encode()).hexdigest()}"
    return subject


def already_reported(event: dict[str, Any], first_event_id: str | None) -> DuplicateEvent:
    """The refusal of a second event about the invoice, incident, referral or prospect that
    `first_event_id` reported."""
    field_name = subject_field(event)
    told_apart = " (a different prospect of the same name needs referred_customer_id)" \
        if field_name == PROSPECT_NAME else ""
    return DuplicateEvent(
        f"Event {event['id']!r} is about {field_name} {event['data'][field_name]!r} of customer "
        f"{event['customer_id']!r}, which event {first_event_id!r} already reported; nothing was applied"
        f"{told_apart}.")


def event_row(event: dict[str, Any], body_hash: str, received_at: datetime) -> dict[str, Any]:
    """The event's row as its claim inserts it (the answer and snapshot come later)."""
    return {"id": event["id"], "type": event["type"], "body_hash": body_hash, "customer_id": event["customer_id"],
            "subject": event_subject(event), "occurred_at": event["occurred_at"], "received_at": received_at}


def load_event(raw: Any) -> dict[str, Any]:
    """The event with typed values (dates, aware datetimes), or `FieldErrors` naming every bad field."""
    if not isinstance(raw, Mapping):
        raise FieldErrors({"_schema": ["an event is a JSON object"]}, "The event is not valid.")
    envelope = _load(ENVELOPE, raw, prefix="")
    envelope["data"] = _load(LOADERS[envelope["type"]], envelope["data"], prefix="data.")
    return envelope


def load_customer_data(raw: Any, *, prefix: str = "") -> dict[str, Any]:
    """A customer's fields (as in `customer.upserted` and PUT /customers/{id}), typed and checked."""
    if not isinstance(raw, Mapping):
        raise FieldErrors({prefix.rstrip(".") or "_schema": ["must be an object"]}, "The customer is not valid.")
    return _load(LOADERS["customer.upserted"], raw, prefix=prefix)


def _load(schema: Schema, raw: Mapping, prefix: str) -> dict[str, Any]:
    try:
        return schema.load(raw)
    except ValidationError as error:
        raise FieldErrors(_flatten(error.messages, prefix), "The event is not valid.") from None


def _flatten(messages: Any, prefix: str) -> dict[str, list[str]]:
    """marshmallow's nested {"data": {"contract": {...: [...]}}} as {"data.contract.x": [...]}."""
    if isinstance(messages, list):
        return {prefix.rstrip(".") or "_schema": [MESSAGES.get(m, _lower(m)) for m in messages]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = prefix.rstrip(".") if key == "_schema" and prefix else f"{prefix}{key}"
        flat.update(_flatten(value, f"{name}."))
    return flat


def _lower(message: str) -> str:
    return message[:1].lower() + message[1:].rstrip(".") if message else message
