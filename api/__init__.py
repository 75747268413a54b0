"""The HTTP API's composition root: `create_app` builds the store, ruleset and app once.

Add a resource: write `api/<resource>.py` with a `blp = Blueprint(...)` (from `api.blueprint`),
declare roles on each view method, and add it to `RESOURCES` below (see docs/api.md).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from types import FunctionType
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from flask import Flask, request
from flask_smorest.spec.plugins import integerconverter2paramschema
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from api import auth, customers, events, explain, health, points, redemptions, rewards
from api import approvals, grants, reports, rules
from api.blueprint import IdConverter
from api.body import DEFAULT_MAX_CONTENT_LENGTH, ApiRequest, guard_body
from api.context import EXTENSION, LoyaltyApp
from api.errors import register_error_handlers
from api.fields import LoyaltyJSONProvider
from api.limits import DEFAULT_RATE_LIMIT, init_limits
from api.spec import DOC_ENDPOINTS, SPEC_DEFAULTS, LoyaltyApi, describe_security
from loyalty.engine.loader import load_ruleset
from loyalty.services.catalogue import sync_catalogue
from loyalty.services.ingest_group import IngestGroups
from loyalty.services.keys import Authenticator
from loyalty.store import Store, default_database_url

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
RESOURCES = (health.blp, rewards.blp, customers.blp, redemptions.blp, grants.blp, events.blp, points.blp,
             explain.blp, rules.blp, approvals.blp, reports.blp)
"""Every resource blueprint, registered under /api/v1 in this order."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Requests that only read: answered again if their database connection turns out lost."""


class LoyaltyFlask(Flask):
    """Flask, remembering which plain functions are synchronous, and reading again on a lost connection.

    Flask and flask-smorest pass every view, wrapper and request hook through `ensure_sync` on each
    request (eight times for a balance read), and each call asks `inspect` about the function anew.
    Only plain functions are remembered: bound methods are new objects on every request.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._synchronous: dict[Callable, Callable] = {}

    def dispatch_request(self):
        """The view, once more on a new connection if a read's connection turns out lost.

        PostgreSQL connections back in the pool within a second are not pinged (decision 26): after a
        server restart, the first read on each would answer 503 while the database is up again. A
        read is safe to run twice; a write is not retried here (`Store.run` retries what it safely can).
        """
        try:
            return super().dispatch_request()
        except DBAPIError as error:
            if not error.connection_invalidated or request.method not in SAFE_METHODS:
                raise
            log.warning("a read lost its database connection; reading again on a new one")
            return super().dispatch_request()

    def ensure_sync(self, func: Callable) -> Callable:
        if type(func) is not FunctionType:
            return super().ensure_sync(func)
        sync = self._synchronous.get(func)
        if sync is None:
            sync = self._synchronous[func] = super().ensure_sync(func)
        return sync


def default_config() -> dict[str, Any]:
    """Settings from the environment, before the caller's overrides."""
    return {
        **SPEC_DEFAULTS,
        "LOYALTY_DATABASE_URL": default_database_url(),
        "LOYALTY_RULES_DIR": os.environ.get("LOYALTY_RULES_DIR") or "rules",
        "LOYALTY_RATE_LIMIT": os.environ.get("LOYALTY_RATE_LIMIT") or DEFAULT_RATE_LIMIT,
        "LOYALTY_REDIS_URL": os.environ.get("LOYALTY_REDIS_URL") or None,
        "LOYALTY_TIME_ZONE": "Asia/Ho_Chi_Minh",
        "LOYALTY_KEY_CACHE_SECONDS": 5.0,
        "MAX_CONTENT_LENGTH": DEFAULT_MAX_CONTENT_LENGTH,
    }


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The API app; `config` may pass a prebuilt `LOYALTY_STORE` and `LOYALTY_RULESET`."""
    app = LoyaltyFlask(__name__, static_folder=None)
    app.request_class = ApiRequest
    app.config.update(default_config())
    app.config.update(config or {})
    app.json = LoyaltyJSONProvider(app)
    loyalty = _build_loyalty(app)
    app.extensions[EXTENSION] = loyalty
    _install_request_steps(app)
    _install_api(app)
    _sync_catalogue(loyalty)
    return app


def _build_loyalty(app: Flask) -> LoyaltyApp:
    store = app.config.get("LOYALTY_STORE") or Store(app.config["LOYALTY_DATABASE_URL"])
    # a missing or invalid rules directory stops the app: RulesetInvalid names every problem
    ruleset = app.config.get("LOYALTY_RULESET") or load_ruleset(Path(app.config["LOYALTY_RULES_DIR"]))
    authenticator = Authenticator(store, ttl=float(app.config["LOYALTY_KEY_CACHE_SECONDS"]))
    return LoyaltyApp(store, ruleset, authenticator, ZoneInfo(app.config["LOYALTY_TIME_ZONE"]), IngestGroups(store))


def _install_request_steps(app: Flask) -> None:
    """Body guard, then identify the key, then rate limit per key, then authorize.

    One before-request function runs the four in order: Flask wraps and inspects each registered
    function on every request, which a balance read noticed.
    """
    steps = (guard_body, auth.identify, init_limits(app).check, auth.authorize)

    def request_steps():
        for step in steps:
            answer = step()
            if answer is not None:
                return answer
        return None

    app.before_request(request_steps)
    app.after_request(auth.keep_out_of_shared_caches)


def _install_api(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    api = LoyaltyApi(app)
    api.register_converter(IdConverter, integerconverter2paramschema)
    describe_security(api)
    for blueprint in RESOURCES:
        api.register_blueprint(blueprint, url_prefix=f"{API_PREFIX}{blueprint.url_prefix}")
    for endpoint in DOC_ENDPOINTS:
        auth.mark_public(app, endpoint)
    register_error_handlers(app)


def _sync_catalogue(loyalty: LoyaltyApp) -> None:
    """Offer the ruleset's rewards; an unreachable database must not stop the app starting."""
    try:
        change = sync_catalogue(loyalty.store, loyalty.ruleset.rewards)
    except SQLAlchemyError:
        log.exception("could not sync the reward catalogue; health will report the database")
        return
    log.info("reward catalogue synced: %s", change)
