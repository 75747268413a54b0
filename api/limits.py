"""Rate limits per API key (per address before a key is known), shared by every endpoint.

One application-wide budget per key (`LOYALTY_RATE_LIMIT`, default 600 per minute), counted in
memory, or in Redis when `LOYALTY_REDIS_URL` is set so that all workers share it. The limiter runs
before the view, so a refused request changes nothing.
"""
from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter

from api.auth import is_public_request, rate_limit_key

DEFAULT_RATE_LIMIT = "600 per minute"


def init_limits(app: Flask) -> Limiter:
    """Attach the limiter; its check runs where it is installed among the before-request steps."""
    limiter = Limiter(
        key_func=rate_limit_key,
        application_limits=[app.config["LOYALTY_RATE_LIMIT"]],
        storage_uri=app.config.get("LOYALTY_REDIS_URL") or "memory://",
        key_prefix=app.config.get("LOYALTY_RATE_LIMIT_PREFIX", "loyalty"),
        strategy="fixed-window",
        headers_enabled=False,
        in_memory_fallback_enabled=True,  # Redis down: count per worker rather than refuse everyone
    )
    limiter.request_filter(is_public_request)
    limiter.init_app(app)
    return limiter
