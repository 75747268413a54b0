"""Who is calling: Bearer keys, roles, and deny by default.

Every endpoint declares the roles it admits with `@roles(...)` on the view method (or `@public`).
An endpoint that declares nothing refuses everyone with 403, so a forgotten declaration fails
closed. Admin is admitted everywhere. A customer key sees only its own customer; asking for
another customer's data is a 404, so a customer cannot learn which ids exist.

Requests pass three steps: `identify` (before the rate limiter, which counts per key), the
limiter, then `authorize`.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import Flask, current_app, g, request
from flask_smorest import Blueprint as SmorestBlueprint
from werkzeug.exceptions import Forbidden

from api.context import EXTENSION
from loyalty.errors import KeyRefused, UnknownCustomer
from loyalty.services.keys import KeyIdentity
from loyalty.store.tables.keys import ROLES

F = TypeVar("F", bound=Callable)

ROLES_ATTRIBUTE = "loyalty_roles"
PUBLIC = frozenset({"*"})
"""The declaration of an endpoint anyone may call without a key (health, the OpenAPI document)."""
ANY_ROLE = tuple(ROLES)
BEARER_SCHEME = "bearerAuth"
ROLES_CACHE = "loyalty_declared_roles"


def roles(*names: str) -> Callable[[F], F]:
    """Admit callers in these roles (admin always); documents the bearer requirement in OpenAPI."""
    unknown = set(names) - set(ROLES)
    if not names or unknown:
        raise ValueError(f"roles() needs known roles, got {names!r}")
    admitted = frozenset(names) | {"admin"}
    document = SmorestBlueprint.doc(
        security=[{BEARER_SCHEME: []}],
        responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN", "429": "TOO_MANY_REQUESTS"},
        **{"x-roles": sorted(admitted)},
    )

    def declare(view: F) -> F:
        wrapped = document(view)
        setattr(wrapped, ROLES_ATTRIBUTE, admitted)
        return wrapped

    return declare


def public(view: F) -> F:
    """Admit anyone, with or without a key."""
    wrapped = SmorestBlueprint.doc(security=[])(view)
    setattr(wrapped, ROLES_ATTRIBUTE, PUBLIC)
    return wrapped


def declared_roles(app: Flask, endpoint: str | None, method: str) -> frozenset[str]:
    """The roles an endpoint admits for a method; empty when it declares none."""
    view = app.view_functions.get(endpoint) if endpoint else None
    if view is None:
        return frozenset()
    # remembered per view function (not per endpoint name, which a later registration may rebind)
    cache = app.extensions.setdefault(ROLES_CACHE, {})
    key = (view, method)
    admitted = cache.get(key)
    if admitted is None:
        admitted = cache[key] = _roles_of(view, method)
    return admitted


def _roles_of(view: Callable, method: str) -> frozenset[str]:
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        name = "get" if method == "HEAD" else method.lower()
        view = getattr(view_class, name, None) or view_class
    return getattr(view, ROLES_ATTRIBUTE, frozenset())


def mark_public(app: Flask, endpoint: str) -> None:
    """Declare an endpoint someone else registered (flask-smorest's docs) open to anyone."""
    view = app.view_functions[endpoint]

    def open_view(*args, **kwargs):
        return view(*args, **kwargs)

    setattr(open_view, ROLES_ATTRIBUTE, PUBLIC)
    app.view_functions[endpoint] = open_view


def identify() -> None:
    """Recognise the key, if any, so the limiter can count per key; refusing is `authorize`'s job."""
    app, req, ctx = current_app._get_current_object(), request._get_current_object(), g._get_current_object()
    method = req.method
    ctx.loyalty_identity = None
    ctx.loyalty_refusal = None
    ctx.loyalty_admitted = admitted = declared_roles(app, req.endpoint, method)
    if admitted == PUBLIC or method == "OPTIONS":
        return
    header = req.environ.get("HTTP_AUTHORIZATION")  # what `request.headers["Authorization"]` reads
    if header is None:
        return
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        ctx.loyalty_refusal = KeyRefused("Send the key as `Authorization: Bearer <key>`.")
        return
    try:
        ctx.loyalty_identity = app.extensions[EXTENSION].authenticator.authenticate(token.strip())
    except KeyRefused as refusal:
        ctx.loyalty_refusal = refusal


def authorize() -> None:
    """Refuse the request unless its endpoint admits the caller's role."""
    req = request._get_current_object()
    if req.endpoint is None or req.method == "OPTIONS":
        return  # routing fails next: 404 or 405 for everyone alike
    admitted = _declared()
    if admitted == PUBLIC:
        return
    if not admitted:
        raise Forbidden("This endpoint admits no role yet (deny by default).")
    identity = g.get("loyalty_identity")
    if identity is None:
        raise g.get("loyalty_refusal") or KeyRefused("This endpoint needs an API key.")
    if identity.role not in admitted:
        raise Forbidden(f"A {identity.role} key may not do this; it needs one of: "
                        f"{', '.join(sorted(admitted))}.")


def _declared() -> frozenset[str]:
    """The current endpoint's roles, as `identify` found them (looked up once per request)."""
    admitted = g.get("loyalty_admitted")
    return admitted if admitted is not None else declared_roles(current_app, request.endpoint, request.method)


def current_identity() -> KeyIdentity:
    """The caller, on an endpoint that admits roles."""
    identity = g.get("loyalty_identity")
    if identity is None:
        raise KeyRefused("This endpoint needs an API key.")
    return identity


def ensure_can_see_customer(customer_id: str) -> None:
    """Refuse (404, as if absent) a customer key asking about any customer but its own."""
    identity = current_identity()
    if identity.role == "customer" and identity.customer_id != customer_id:
        raise UnknownCustomer(customer_id)  # the same answer as for an id that does not exist


def rate_limited_key() -> str | None:
    """The key's id once identified, else the caller's address; None for a public request (health
    and the OpenAPI document are not rate limited)."""
    req, ctx = request._get_current_object(), g._get_current_object()
    if req.endpoint is not None:
        admitted = getattr(ctx, "loyalty_admitted", None)
        if admitted is None:
            admitted = declared_roles(current_app, req.endpoint, req.method)
        if admitted == PUBLIC:
            return None
    identity = getattr(ctx, "loyalty_identity", None)
    return f"key:{identity.key_id}" if identity else f"ip:{req.remote_addr}"


def keep_out_of_shared_caches(response):
    """Answers given to a key are that caller's alone: no proxy may keep them."""
    if "HTTP_AUTHORIZATION" in request.environ:  # `"Authorization" in request.headers`, read directly
        headers = response.headers
        if "Cache-Control" not in headers:  # `setdefault`, without its second and third scan of the headers
            headers.add("Cache-Control", "private, no-store")
    return response
