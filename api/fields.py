"""How values look on the wire: times in the customer-facing zone with their offset, text as UTF-8."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import marshmallow as ma
from flask.json.provider import DefaultJSONProvider

from api.context import current_time_zone


class LocalDateTime(ma.fields.DateTime):
    """An aware UTC datetime dumped as ISO 8601 in the configured zone (+07:00 by default)."""

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        if value is None:
            return None
        return super()._serialize(value.astimezone(current_time_zone()), attr, obj, **kwargs)


class LoyaltyJSONProvider(DefaultJSONProvider):
    """Flask's JSON, but Vietnamese stays readable and a stray datetime is ISO 8601, not an HTTP date."""

    ensure_ascii = False

    @staticmethod
    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(current_time_zone()).isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return DefaultJSONProvider.default(value)
