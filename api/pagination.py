"""Cursor pagination for list endpoints: an opaque cursor and a capped `limit`.

A cursor is the URL-safe base64 of the JSON list of the last item's sort key; the list endpoint
fetches `limit + 1` rows after that key and returns `next_cursor` when there are more. A `limit`
above 200 is a 422 naming the field (not silently clamped, so a client never thinks it got all).

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(EntrySchema))
    def get(self, args):
        after = decode_cursor(args["cursor"])            # None for the first page
        rows = list_entries(store, after=after, limit=args["limit"] + 1)
        return page_of(rows, args["limit"], key=lambda e: [e.created_at.isoformat(), e.id])
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Callable, Generic, Sequence, TypeVar

import marshmallow as ma

from loyalty.errors import FieldErrors

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")


class PageArgs(ma.Schema):
    """`?limit=&cursor=` for a list endpoint."""

    limit = ma.fields.Integer(load_default=DEFAULT_LIMIT,
                              validate=ma.validate.Range(min=1, max=MAX_LIMIT),
                              metadata={"description": f"items per page, at most {MAX_LIMIT}"})
    cursor = ma.fields.String(load_default=None,
                              metadata={"description": "next_cursor of the previous page"})


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items and the cursor for the next one (None on the last page)."""

    items: Sequence[T]
    next_cursor: str | None


def encode_cursor(key: Sequence[Any]) -> str:
    """The opaque cursor for a sort key of JSON values."""
    raw = json.dumps(list(key), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The sort key in a cursor; a 422 on `cursor` when it was not made by `encode_cursor`."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):
        key = None
    if not isinstance(key, list) or not key:
        raise FieldErrors({"cursor": ["Not a cursor this API gave out; start without one."]})
    return key


def page_of(rows: Sequence[T], limit: int, key: Callable[[T], Sequence[Any]]) -> Page[T]:
    """Cut `limit + 1` fetched rows to one page, with a cursor if the extra row exists."""
    items = rows[:limit]
    more = len(rows) > limit and bool(items)
    return Page(items, encode_cursor(key(items[-1])) if more else None)


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The response schema of a page of `item_schema` items."""
    return ma.Schema.from_dict(
        {"items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
         "next_cursor": ma.fields.String(allow_none=True, required=True)},
        name=f"{item_schema.__name__.removesuffix('Schema')}PageSchema",
    )
