"""Keyset pages: a cursor is the last item's sort key as plain JSON values (the API wraps it).

A list ordered oldest first by (time, id) continues after its cursor with one comparison, whatever
rows were added meanwhile; a cursor from another list, or tampered with, is a 422 on `cursor`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import ColumnElement, Select, and_, or_

from loyalty.errors import FieldErrors


def oldest_first(query: Select, at: ColumnElement[datetime], id_: ColumnElement[int],
                 cursor: Sequence[Any] | None) -> Select:
    """`query` ordered by (at, id), continuing after `cursor` (a previous item's [at, id])."""
    query = query.order_by(at, id_)
    if cursor is None:
        return query
    last_at, last_id = parse_cursor(cursor, (datetime, int))
    return query.where(or_(at > last_at, and_(at == last_at, id_ > last_id)))


def parse_cursor(cursor: Sequence[Any], kinds: tuple[type, ...]) -> tuple:
    """A cursor's values in their types; a 422 on `cursor` when it does not fit this list."""
    try:
        if len(cursor) != len(kinds):
            raise ValueError("wrong length")
        values = tuple(_value(raw, kind) for raw, kind in zip(cursor, kinds))
    except (TypeError, ValueError):
        raise FieldErrors({"cursor": ["Not a cursor of this list; start without one."]}) from None
    return values


def _value(raw: Any, kind: type) -> Any:
    if kind is datetime:
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            raise ValueError("naive time")
        return value
    if not isinstance(raw, kind) or isinstance(raw, bool):
        raise TypeError(f"{raw!r} is not {kind.__name__}")
    return raw
