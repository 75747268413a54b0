"""One body, one hash: how an event's or a request's body is fingerprinted for idempotency.

Canonical JSON (sorted keys, no spaces, UTF-8; anything else JSON lacks, such as a date, as its
text) hashed with SHA-256. A resend with the keys in another order is the same body; one changed
value is another. The encoder is built once: building one per body cost a tenth of a batch's event.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_hash(body: Any) -> str:
    """SHA-256 of `body` as canonical JSON: the same body, the same hash."""
    return hashlib.sha256(_CANONICAL.encode(body).encode("utf-8")).hexdigest()
