"""The clock the customers' fact changes are stamped with, and the SQL of "changed since".

The database's triggers (migration b8c9d0e1f2a3) stamp `customers.facts_epoch` with the clock's
epoch whenever a stored fact changes, and `standing_epoch` whenever the tier or the status points
do, whichever writer changes them. A daily phase advances the clock once before it reads anyone
(`advance`): every change its scans may have missed then carries the new epoch or a later one, so
the next night finds them with `changed_since` instead of reading the whole base.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, update
from sqlalchemy.orm import Session

from loyalty.engine.tenure_moves import ANY_MONTH, TenureMoves
from loyalty.store.tables import Customer, FactsClock

LOCK_WAIT = "30s"
"""How long the night waits for the writers in flight; an event's transaction takes milliseconds."""


def advance(session: Session) -> int:
    """The clock's next epoch, taken once no transaction can still stamp the one before.

    On PostgreSQL a writer holds ROW EXCLUSIVE on `customers` from its first write until it commits;
    the SHARE lock waits for those in flight and holds new ones back for the moment the update
    takes, so no change stamped with the old epoch can commit after this one. On SQLite this
    transaction is the only writer. Writers queue behind a waiting lock, so the wait is bounded:
    past `LOCK_WAIT` the night stops with PostgreSQL's lock timeout and a rerun carries on.
    """
    if session.get_bind().dialect.name == "postgresql":
        connection = session.connection()
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
        connection.exec_driver_sql("LOCK TABLE customers IN SHARE MODE")
    statement = update(FactsClock).where(FactsClock.id == 1).values(epoch=FactsClock.epoch + 1)
    return session.execute(statement.returning(FactsClock.epoch)).scalar_one()


def changed_since(epoch: int, *, standing: bool) -> ColumnElement[bool]:
    """Customers whose stored facts (and, with `standing`, tier or status points) changed at `epoch` or later."""
    columns = Customer.__table__.c
    changed = columns.facts_epoch >= epoch
    return or_(changed, columns.standing_epoch >= epoch) if standing else changed


def started_in(moves: TenureMoves) -> ColumnElement[bool]:
    """Customers whose start (month, day of month) is one of `moves`."""
    columns = Customer.__table__.c
    by_month: dict[int, list[int]] = {}
    for month, day in sorted(moves.starts):
        by_month.setdefault(month, []).append(day)
    terms = [columns.since_day.in_(days) if month == ANY_MONTH
             else and_(columns.since_month == month, columns.since_day.in_(days))
             for month, days in by_month.items()]
    return or_(*terms) if terms else false()
