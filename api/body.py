"""Request bodies: refused early when too large or not JSON, before any key lookup or work."""
from __future__ import annotations

from flask import Request, current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

DEFAULT_MAX_CONTENT_LENGTH = 1024 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def guard_body() -> None:
    """413 for a body over MAX_CONTENT_LENGTH; 415 for a body that does not say it is JSON.

    A request that declares no body (no Content-Length, no Transfer-Encoding: every GET the
    clients send) has nothing to check and returns at once, reading two keys of the WSGI environ:
    werkzeug's `content_length` and `headers` cost a balance read a few microseconds each. What
    follows is the same check as before for everything else, GET with a body included.
    """
    environ = request.environ
    if not environ.get("CONTENT_LENGTH") and "HTTP_TRANSFER_ENCODING" not in environ:
        return  # werkzeug reads this as no length and no body: neither branch below could refuse
    length = request.content_length
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or DEFAULT_MAX_CONTENT_LENGTH
    if length is not None and length > limit:
        raise RequestEntityTooLarge(f"The body is {length} bytes; the limit is {limit}.")
    if request.method in BODY_METHODS and (length or request.headers.get("Transfer-Encoding")):
        if not request.is_json:
            raise UnsupportedMediaType(
                f"Send the body as application/json, not {request.mimetype or 'no content type'}."
            )


class ApiRequest(Request):
    """A request that says plainly when its JSON body does not parse (Flask hides why unless debugging)."""

    def on_json_loading_failed(self, e: ValueError | None):
        if e is None:
            return super().on_json_loading_failed(e)
        raise BadRequest(f"The body is not valid JSON: {e}.")
