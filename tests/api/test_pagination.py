"""Cursor pagination for list endpoints, and query parameters checked as strictly as bodies."""
from __future__ import annotations

import pytest
from flask.views import MethodView
from hypothesis import given, settings
from hypothesis import strategies as st

import marshmallow as ma
from api.auth import roles
from api.blueprint import Blueprint
from api.pagination import MAX_LIMIT, PageArgs, decode_cursor, encode_cursor, page_of, page_schema
from api_helpers import add_resource, assert_problem, bearer, build_app
from loyalty.errors import FieldErrors

NUMBERS = list(range(1, 121))


class NumberSchema(ma.Schema):
    n = ma.fields.Integer(required=True)


@pytest.fixture
def numbers_client(store):
    """An app with a list endpoint written as later resources will write theirs."""
    numbers = Blueprint("numbers", __name__, url_prefix="/numbers")

    @numbers.route("")
    class Numbers(MethodView):
        @roles("marketing")
        @numbers.arguments(PageArgs, location="query")
        @numbers.response(200, page_schema(NumberSchema))
        def get(self, args):
            """Numbers one to 120, in pages."""
            after = decode_cursor(args["cursor"])
            rows = [{"n": n} for n in NUMBERS if after is None or n > after[0]][: args["limit"] + 1]
            return page_of(rows, args["limit"], key=lambda row: [row["n"]])

    app = build_app(store)
    add_resource(app, numbers, "/api/v1/numbers")
    return app.test_client()


def test_following_next_cursor_visits_every_item_once(numbers_client, key_for):
    headers, seen, query = bearer(key_for("marketing")), [], "limit=50"
    while True:
        page = numbers_client.get(f"/api/v1/numbers?{query}", headers=headers).get_json()
        seen += [row["n"] for row in page["items"]]
        if page["next_cursor"] is None:
            break
        query = f"limit=50&cursor={page['next_cursor']}"
    assert seen == NUMBERS


def test_the_default_page_has_fifty_items(numbers_client, key_for):
    page = numbers_client.get("/api/v1/numbers", headers=bearer(key_for("marketing"))).get_json()
    assert len(page["items"]) == 50 and page["next_cursor"]


@pytest.mark.parametrize("query, field", [(f"limit={MAX_LIMIT + 1}", "limit"), ("limit=0", "limit"),
                                          ("cursor=bm9wZQ", "cursor"), ("limt=10", "limt")])
def test_a_bad_page_request_is_a_422_naming_the_field(numbers_client, key_for, query, field):
    response = numbers_client.get(f"/api/v1/numbers?{query}", headers=bearer(key_for("marketing")))
    body = assert_problem(response, 422)
    assert list(body["errors"]) == [field]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.integers(), st.text(), st.booleans()), min_size=1, max_size=4))
def test_a_cursor_gives_back_the_key_it_was_made_from(key):
    cursor = encode_cursor(key)
    assert cursor.isascii() and "=" not in cursor
    assert decode_cursor(cursor) == key


@pytest.mark.parametrize("cursor", ["", "!!!", encode_cursor([])[:0] + "W10", "e30"])
def test_a_cursor_this_api_did_not_make_is_refused(cursor):
    with pytest.raises(FieldErrors) as refusal:
        decode_cursor(cursor)
    assert list(refusal.value.errors) == ["cursor"]


def test_the_last_page_has_no_cursor():
    assert page_of([1, 2], 2, key=lambda n: [n]).next_cursor is None
    assert decode_cursor(page_of([1, 2, 3], 2, key=lambda n: [n]).next_cursor) == [2]
