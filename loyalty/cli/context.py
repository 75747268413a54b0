"""What every command reads from the environment: the database URL and the rules directory."""
from __future__ import annotations

import os
from pathlib import Path

from loyalty.store import Store, default_database_url


def rules_dir() -> Path:
    """`LOYALTY_RULES_DIR`, or `./rules`."""
    return Path(os.environ.get("LOYALTY_RULES_DIR") or "rules")


def open_store() -> Store:
    """The store named by `LOYALTY_DATABASE_URL` (default: the SQLite file loyalty.db)."""
    return Store(default_database_url())
