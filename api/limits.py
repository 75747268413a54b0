"""Rate limits per API key (per address before a key is known), shared by every endpoint.

One application-wide budget per key (`LOYALTY_RATE_LIMIT`, default 600 per minute), in fixed
windows, counted in this worker's memory, or in Redis when `LOYALTY_REDIS_URL` is set so that all
workers share it. The check runs before the view, so a refused request changes nothing.

The memory count is a dict per window behind a lock: no timer threads (the `limits` memory
storage starts one every 10 ms under load to expire keys, which cost a third of a balance read),
and a new window simply replaces the old counts. When Redis stops answering, each worker counts
in memory (logged) and asks Redis again after `REDIS_RETRY_SECONDS`.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from typing import Callable

from flask import Flask
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from api.auth import rate_limited_key

log = logging.getLogger(__name__)

DEFAULT_RATE_LIMIT = "600 per minute"
REDIS_RETRY_SECONDS = 10.0
REDIS_TIMEOUT_SECONDS = 0.5
"""A limiter must not hold a request for long: Redis slower than this counts as down."""


class MemoryWindows:
    """Fixed-window counts in this worker's memory; each limit keeps only its current window."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[int, tuple[int, dict[str, int]]] = {}

    def hit(self, index: int, limit: RateLimitItem, key: str) -> float | None:
        """Count one request; None while within `limit`, else the seconds until its window ends."""
        now = self._clock()
        period = limit.get_expiry()
        window = int(now // period)
        with self._lock:
            current = self._windows.get(index)
            if current is None or current[0] != window:
                current = (window, {})
                self._windows[index] = current
            counts = current[1]
            count = counts[key] = counts.get(key, 0) + 1
        return None if count <= limit.amount else (window + 1) * period - now


class RedisWindows:
    """Fixed-window counts in Redis, shared by every worker; `StorageError` when Redis fails."""

    def __init__(self, url: str, prefix: str):
        storage = storage_from_string(url, wrap_exceptions=True, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                      socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        self._limiter = FixedWindowRateLimiter(storage)
        self._prefix = prefix

    def hit(self, index: int, limit: RateLimitItem, key: str) -> float | None:
        """Count one request; None while within `limit`, else the seconds until its window ends."""
        if self._limiter.hit(limit, self._prefix, key):
            return None
        return self._limiter.get_window_stats(limit, self._prefix, key).reset_time - time.time()


class RateLimits:
    """The app's budgets, checked once per request by `check`."""

    def __init__(self, limits: list[RateLimitItem], redis: RedisWindows | None,
                 clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self._redis = redis
        self._memory = MemoryWindows()
        self._clock = clock
        self._redis_down_until = 0.0

    def check(self) -> None:
        """Count this request against each budget; 429 with Retry-After once one is spent."""
        key = rate_limited_key()
        if key is None:
            return  # public: not counted
        windows = self._windows()
        for index, limit in enumerate(self.limits):
            try:
                wait = windows.hit(index, limit, key)
            except StorageError:
                self._fall_back()
                windows = self._memory
                wait = windows.hit(index, limit, key)
            if wait is not None:
                raise TooManyRequests(f"Over the rate limit of {limit} for this key; try again shortly.",
                                      retry_after=max(1, math.ceil(wait)))

    def _windows(self) -> MemoryWindows | RedisWindows:
        if self._redis is None or self._clock() < self._redis_down_until:
            return self._memory
        return self._redis

    def _fall_back(self) -> None:
        log.warning("Rate limit storage unreachable - falling back to in-memory storage for %.0f s",
                    REDIS_RETRY_SECONDS)
        self._redis_down_until = self._clock() + REDIS_RETRY_SECONDS


def init_limits(app: Flask) -> RateLimits:
    """Attach the limits; the app factory runs their `check` between identifying and authorizing."""
    redis_url = app.config.get("LOYALTY_REDIS_URL")
    redis = RedisWindows(redis_url, app.config.get("LOYALTY_RATE_LIMIT_PREFIX", "loyalty")) if redis_url else None
    limits = RateLimits(parse_many(app.config["LOYALTY_RATE_LIMIT"]), redis)
    app.extensions["loyalty_rate_limits"] = limits
    return limits
