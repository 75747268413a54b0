"""The blueprint every resource uses: flask-smorest's, with unknown input refused everywhere.

webargs excludes unknown query parameters by default; this parser leaves the decision to the
schema (marshmallow's default, RAISE), so a misspelt `?limt=` is a 422, not silently ignored.
Headers, cookies and files stay EXCLUDE: every request carries headers no schema names.
"""
from __future__ import annotations

import flask_smorest
from marshmallow import EXCLUDE
from webargs.flaskparser import FlaskParser


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
