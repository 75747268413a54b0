"""API keys: issue one (shown once), revoke it, and recognise it on every request.

A key reads `lk_<prefix>_<secret>`: the prefix is public and finds the row with one indexed
lookup; the database keeps only the SHA-256 of the whole key. Keys carry 256 random bits, so a
fast hash is right here (a slow password hash defends low-entropy secrets, and would cost every
request milliseconds); the stored and presented hashes are compared in constant time.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.errors import FieldErrors, KeyRefused, NotFound
from loyalty.store import Store
from loyalty.store.tables.keys import ROLES, ApiKey

KEY_SCHEME = "lk"
PREFIX_BYTES = 6
SECRET_BYTES = 32


@dataclass(frozen=True)
class KeyIdentity:
    """Who a recognised key speaks for."""

    key_id: int
    role: str
    customer_id: str | None = None


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `token` is shown to the person once and never again."""

    identity: KeyIdentity
    prefix: str
    token: str


@dataclass(frozen=True)
class KeySummary:
    """A key as `loyalty keys list` shows it: never the secret."""

    key_id: int
    prefix: str
    role: str
    customer_id: str | None
    created_at: datetime
    revoked_at: datetime | None


def hash_token(token: str) -> str:
    """The hex SHA-256 the store keeps instead of the key."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_key(store: Store, role: str, customer_id: str | None, now: datetime) -> IssuedKey:
    """Issue a key in a role; a customer key is bound to exactly one customer."""
    _check_role(role, customer_id)
    prefix = secrets.token_hex(PREFIX_BYTES)
    token = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"

    def work(session) -> int:
        row = ApiKey(prefix=prefix, hash=hash_token(token), role=role,
                     customer_id=customer_id, created_at=now)
        session.add(row)
        session.flush()
        return row.id

    key_id = store.run(work)
    return IssuedKey(KeyIdentity(key_id, role, customer_id), prefix, token)


def _check_role(role: str, customer_id: str | None) -> None:
    if role not in ROLES:
        raise FieldErrors({"role": [f"Unknown role {role!r}; one of {', '.join(ROLES)}."]})
    if (role == "customer") != bool(customer_id):
        message = ("A customer key needs --customer." if role == "customer"
                   else f"Only a customer key names a customer, not a {role} key.")
        raise FieldErrors({"customer": [message]})


def revoke_key(store: Store, key_id: int, now: datetime) -> KeySummary:
    """Refuse a key from now on; revoking a revoked key keeps its first revocation time."""

    def work(session) -> KeySummary:
        row = session.get(ApiKey, key_id, with_for_update=True)
        if row is None:
            raise NotFound(f"There is no API key with id {key_id}.")
        if row.revoked_at is None:
            row.revoked_at = now
        return _summary(row)

    return store.run(work)


def list_keys(store: Store) -> list[KeySummary]:
    """Every key ever issued, oldest first."""
    with store.reading() as session:
        return [_summary(row) for row in session.scalars(select(ApiKey).order_by(ApiKey.id))]


def _summary(row: ApiKey) -> KeySummary:
    return KeySummary(row.id, row.prefix, row.role, row.customer_id, row.created_at, row.revoked_at)


def split_token(token: str) -> str | None:
    """The public prefix written in a key, or None when the text is not shaped like one."""
    scheme, _, rest = token.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != KEY_SCHEME or len(prefix) != 2 * PREFIX_BYTES or not secret:
        return None
    return prefix


@dataclass(frozen=True)
class _KnownKey:
    hash: str
    identity: KeyIdentity
    revoked: bool


class Authenticator:
    """Recognises keys, remembering each row for `ttl` seconds so most requests skip the database.

    A revocation (by the CLI, in another process) is seen within `ttl` seconds, or at once after
    `forget`. Unknown prefixes are never remembered, so guessing keys cannot fill the memory.
    """

    def __init__(self, store: Store, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 10_000):
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._known: dict[str, tuple[float, _KnownKey]] = {}
        self._lock = threading.Lock()

    def authenticate(self, token: str) -> KeyIdentity:
        """The identity of a valid key; `KeyRefused` for anything else."""
        prefix = split_token(token)
        if prefix is None:
            raise KeyRefused("The API key is not in the form lk_<prefix>_<secret>.")
        known = self._lookup(prefix)
        if known is None or not hmac.compare_digest(known.hash, hash_token(token)):
            raise KeyRefused("The API key is not known.")
        if known.revoked:
            raise KeyRefused("The API key has been revoked.")
        return known.identity

    def forget(self, key_id: int | None = None) -> None:
        """Drop remembered keys (one, or all) so the next request reads the database."""
        with self._lock:
            if key_id is None:
                self._known.clear()
            else:
                self._known = {p: e for p, e in self._known.items() if e[1].identity.key_id != key_id}

    def _lookup(self, prefix: str) -> _KnownKey | None:
        now = self._clock()
        entry = self._known.get(prefix)
        if entry is not None and now - entry[0] < self._ttl:
            return entry[1]
        known = self._read(prefix)
        if known is not None:
            with self._lock:
                if len(self._known) >= self._max_entries:
                    self._known.clear()
                self._known[prefix] = (now, known)
        return known

    def _read(self, prefix: str) -> _KnownKey | None:
        return self._store.read(lambda session: self._known_key(session, prefix))

    @staticmethod
    def _known_key(session: Session, prefix: str) -> _KnownKey | None:
        row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
        if row is None:
            return None
        return _KnownKey(row.hash, KeyIdentity(row.id, row.role, row.customer_id), row.revoked_at is not None)
