"""Whether the engine can reach its database, for load balancers and operators."""
from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from loyalty.store import Store

log = logging.getLogger(__name__)


def database_is_reachable(store: Store) -> bool:
    """True when a trivial query round-trips; a failure is logged, never raised."""
    try:
        with store.reading() as session:
            session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError as error:
        log.warning("database unreachable: %s", error.__class__.__name__)
        return False
