"""Marshmallow fields the API shares: times shown in the customer's zone with their offset."""
from __future__ import annotations

from datetime import datetime

import marshmallow as ma

from api.context import current_time_zone


class LocalDateTime(ma.fields.DateTime):
    """An aware UTC datetime dumped as ISO 8601 in the configured zone (+07:00 by default)."""

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):
        if value is None:
            return None
        return super()._serialize(value.astimezone(current_time_zone()), attr, obj, **kwargs)
