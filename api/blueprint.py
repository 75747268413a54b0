"""The blueprint every resource uses: flask-smorest's, with unknown input refused everywhere.

webargs excludes unknown query parameters by default; this parser leaves the decision to the
schema (marshmallow's default, RAISE), so a misspelt `?limt=` is a 422, not silently ignored.
Headers, cookies and files stay EXCLUDE: every request carries headers no schema names.
"""
from __future__ import annotations

import flask_smorest
from marshmallow import EXCLUDE
from webargs.flaskparser import FlaskParser
from werkzeug.routing import IntegerConverter

BIGINT_MAX = 2**63 - 1


class StrictParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION = {
        "json": None,
        "form": None,
        "json_or_form": None,
        "query": None,
        "querystring": None,
        "headers": EXCLUDE,
        "cookies": EXCLUDE,
        "files": EXCLUDE,
    }


class Blueprint(flask_smorest.Blueprint):
    """One resource: MethodViews, schemas beside them, roles declared on each method."""

    ARGUMENTS_PARSER = StrictParser()


class IdConverter(IntegerConverter):
    """`<id:name>`: a positive 64-bit row id; anything larger is a 404, never a database error."""

    def __init__(self, url_map, min: int = 1, max: int = BIGINT_MAX):
        super().__init__(url_map, min=min, max=max)
