"""The one mapping from the engine's refusals to HTTP, and problem+json for every error.

Handlers sit on the app, not a blueprint, so unknown URLs (404), wrong methods (405), bodies over
the limit (413), rate limits (429) and crashes (500) answer in the same form as domain refusals.
Validation of any kind is 422 with `errors` per field; a body that is not JSON at all is 400/415.
A database that does not answer is 503 with Retry-After; anything unexpected is 500, logged.
"""
from __future__ import annotations

import logging
import re
from http import HTTPStatus

import marshmallow as ma
from flask import Flask, Response, json, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from loyalty.errors import (Conflict, FieldErrors, InsufficientPoints, KeyRefused, LoyaltyError, NotFound,
                            RedemptionLimitReached, RulesetInvalid)

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"
PROBLEM_TYPE = "urn:loyalty:problem:{}"
BEARER_CHALLENGE = 'Bearer realm="loyalty"'
LOCATIONS = frozenset({"json", "query", "querystring", "form", "headers", "files", "cookies"})

STATUS_OF: dict[type[LoyaltyError], int] = {
    KeyRefused: 401,
    NotFound: 404,
    Conflict: 409,
    FieldErrors: 422,
    RulesetInvalid: 422,
    LoyaltyError: 422,
}
"""Each refusal's status; the most specific class in an error's MRO wins. Add new ones here."""


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error response carries them."""

    type = ma.fields.String(required=True, metadata={"description": "URN naming the problem"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    errors = ma.fields.Raw(metadata={"description": "validation: field -> messages; rules: problems"})


def problem(status: int, detail: str, *, title: str | None = None, slug: str | None = None,
            errors: object = None, headers: dict[str, str] | None = None,
            members: dict[str, object] | None = None) -> Response:
    """A problem+json response; `members` are extension members beside the standard ones."""
    phrase = HTTPStatus(status).phrase
    body = {"type": PROBLEM_TYPE.format(slug or _slug(phrase)), "title": title or phrase,
            "status": status, "detail": detail} | (members or {})
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    response.headers.update(headers or {})
    return response


def status_of(error: LoyaltyError) -> int:
    """The HTTP status for a refusal: its nearest class in `STATUS_OF`."""
    return next(STATUS_OF[cls] for cls in type(error).__mro__ if cls in STATUS_OF)


def handle_refusal(error: LoyaltyError) -> Response:
    """A domain refusal, with what the caller must fix."""
    status = status_of(error)
    name = type(error).__name__
    headers = {"WWW-Authenticate": bearer_challenge()} if status == 401 else None
    return problem(status, str(error), title=_words(name), slug=_slug(_words(name)),
                   errors=_refusal_errors(error), headers=headers, members=_refusal_members(error))


def refusal_body(error: LoyaltyError) -> dict[str, object]:
    """The problem members `handle_refusal` sends, as a dict: one answer that carries several (a batch)."""
    return json.loads(handle_refusal(error).get_data())


def _refusal_members(error: LoyaltyError) -> dict[str, object]:
    """The figures a client acts on, as numbers: points available and needed, a limit."""
    if isinstance(error, InsufficientPoints):
        return {"available": error.available, "needed": error.requested}
    if isinstance(error, RedemptionLimitReached):
        return {"limit": error.limit}
    return {}


def bearer_challenge() -> str:
    """RFC 6750: name the error only when the caller did present a key."""
    presented = "Authorization" in request.headers
    return f'{BEARER_CHALLENGE}, error="invalid_token"' if presented else BEARER_CHALLENGE


def _refusal_errors(error: LoyaltyError) -> object:
    if isinstance(error, FieldErrors):
        return error.errors
    if isinstance(error, RulesetInvalid):
        return [{"file": p.file, "line": p.line, "rule": p.rule_id, "message": p.message}
                for p in error.problems]
    return None


def handle_http_error(error: HTTPException) -> Response:
    """Werkzeug's and webargs' errors (routing, size, parsing, limits) in problem form."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("errors") or data.get("messages")
    errors = flatten_messages(messages) if messages else None
    detail = "The input is not valid; see errors." if errors else error.description
    return problem(status, detail or HTTPStatus(status).phrase, errors=errors,
                   headers=_http_headers(error))


def _http_headers(error: HTTPException) -> dict[str, str]:
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update((getattr(error, "data", None) or {}).get("headers") or {})
    if error.code == 429:
        headers.setdefault("Retry-After", "1")  # api.limits sets the seconds left in the window
    if error.code == 401:
        headers.setdefault("WWW-Authenticate", bearer_challenge())
    return headers


def handle_database_down(error: OperationalError) -> Response:
    """The database did not answer (down, or still locked after the retries): try again shortly."""
    log.error("database unavailable: %s", error.__class__.__name__, exc_info=error)
    return problem(503, "The database is unavailable; try again shortly.", headers={"Retry-After": "5"})


def handle_crash(error: Exception) -> Response:
    """An unexpected error: logged with its trace, answered without one."""
    log.exception("unhandled error", exc_info=error)
    return problem(500, "An unexpected error occurred; it has been logged.")


def flatten_messages(messages: object, path: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow messages ({location: {field: [...]}}, nested) as {"a.0.b": [...]}."""
    if not isinstance(messages, dict):
        texts = messages if isinstance(messages, list) else [messages]
        return {path or "_schema": [str(text) for text in texts]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = path if not path and key in LOCATIONS else f"{path}.{key}" if path else str(key)
        for field, texts in flatten_messages(value, name).items():
            flat.setdefault(field, []).extend(texts)
    return flat


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on the app itself (after flask-smorest, replacing its own)."""
    app.register_error_handler(LoyaltyError, handle_refusal)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(Exception, handle_crash)


def _words(class_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", class_name).capitalize()


def _slug(words: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")
