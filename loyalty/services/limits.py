"""Programme budgets and per-customer caps: an award that does not fit is stopped whole.

"Issued" is the sum of the programme's award points in the period (the customer's own, for a cap),
counting every award not rejected; an award fits when issued + its points <= the limit. The
budget is checked under a lock on the programme's row (SELECT ... FOR UPDATE on PostgreSQL;
SQLite serialises writers with BEGIN IMMEDIATE), so two concurrent awards cannot both fit.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from loyalty.engine.award_build import Award as Decided
from loyalty.engine.model import Limit, Programme
from loyalty.services.customers import add_months
from loyalty.services.ingest_result import Stopped
from loyalty.store.driver import DriverStatement
from loyalty.store.insert_once import insert_once
from loyalty.store.tables import Award, ProgrammeBudgetLock


def lock_budgets(session: Session, programmes: list[Programme]) -> None:
    """Lock the rows of the budgeted programmes, in one fixed order so transactions cannot deadlock."""
    for programme_id in sorted({p.id for p in programmes if p.budget is not None}):
        insert_once(session, ProgrammeBudgetLock, {"programme_id": programme_id}, ["programme_id"])
        session.execute(
            select(ProgrammeBudgetLock.programme_id)
            .where(ProgrammeBudgetLock.programme_id == programme_id)
            .with_for_update()
        )


def check_limits(session: Session, programme: Programme, award: Decided, customer_id: str,
                 today: date) -> Stopped | None:
    """Why the award does not fit its programme's budget or the customer's cap; None when it fits."""
    if award.points <= 0:
        return None
    if programme.budget is not None:
        issued = points_issued(session, programme.id, programme.budget, today)
        if issued + award.points > programme.budget.points:
            return Stopped(award.rule_id, "budget", _over("programme " + programme.id + " budget",
                                                          programme.budget, issued, award.points))
    if programme.cap is not None:
        issued = points_issued(session, programme.id, programme.cap, today, customer_id)
        if issued + award.points > programme.cap.points:
            return Stopped(award.rule_id, "cap", _over(f"customer cap of programme {programme.id}",
                                                       programme.cap, issued, award.points))
    return None


def points_issued(session: Session, programme_id: str, limit: Limit, today: date,
                  customer_id: str | None = None) -> int:
    """Points the programme's awards (one customer's, if given) gave in the limit's period around `today`."""
    first, last = period(limit.per, today)
    statement = _issued_statement(first is not None, customer_id is not None)
    session.flush()  # the statement goes past the ORM: awards it has not sent yet first
    (issued,), = statement.execute(session, {"programme_id": programme_id, "first": first, "last": last,
                                             "customer_id": customer_id})
    return int(issued)


@lru_cache(maxsize=None)
def _issued_statement(in_period: bool, of_customer: bool) -> DriverStatement:
    """Built once per shape, run at driver level: building a statement cost more than running it, and
    SQLAlchemy's execution path more than the sum itself (an index-only scan)."""
    query = select(func.coalesce(func.sum(Award.points), 0)).where(
        Award.programme_id == bindparam("programme_id"), Award.status != "rejected"
    )
    if in_period:
        query = query.where(Award.awarded_on >= bindparam("first"), Award.awarded_on <= bindparam("last"))
    if of_customer:
        query = query.where(Award.customer_id == bindparam("customer_id"))
    return DriverStatement(query)


def period(per: str, today: date) -> tuple[date | None, date | None]:
    """The calendar year or month containing `today`; (None, None) for the programme's whole life."""
    if per == "year":
        return date(today.year, 1, 1), date(today.year, 12, 31)
    if per == "month":
        first = today.replace(day=1)
        return first, add_months(first, 1) - timedelta(days=1)
    return None, None


def _over(what: str, limit: Limit, issued: int, points: int) -> str:
    left = max(limit.points - issued, 0)
    per = "in all" if limit.per == "programme" else f"per {limit.per}"
    return f"{what} of {limit.points:,} points {per} has {left:,} left; this award is {points:,}"
