"""Writing the nightly run's awards a chunk at a time: what `give_awards` does, in bulk statements.

The caller holds the night's phase row locked (`daily_runs.lock_phase`), so one writer at a time
gives a phase's awards; awards already given (an earlier night, once per year) are filtered out
first with `already_given`, and UNIQUE(customer_id, rule_id, once_key) still refuses any duplicate.
Each new award gets what `give_awards` would give it: its points (`ledger_bulk.earn_many`), reward
grant, membership, tier and `award.granted` audit row; a tier that changes is audited on its own.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Sequence

from sqlalchemy import BigInteger, ColumnElement, and_, case, cast, func, literal, select, text
from sqlalchemy.orm import Session

from loyalty.engine.award_build import Award as Decided
from loyalty.store.audit import insert_audit
from loyalty.store.bulk import insert_rows
from loyalty.store.bulk_rows import reserve_ids, stored_date, stored_time, update_rows
from loyalty.store.insert_once import DIALECT_INSERTS, insert_once
from loyalty.store.ledger_bulk import Earning, earn_many
from loyalty.store.tables import Award, Customer, Event, Membership, RewardGrant

AWARD_COLUMNS = ("id", "customer_id", "rule_id", "programme_id", "ruleset_version", "event_id", "contract_id",
                 "once_key", "awarded_on", "points", "status_points", "expires_on", "vests_on", "reward",
                 "membership", "tier", "goodwill", "clawback_on", "status", "created_at")


@dataclass(frozen=True)
class NightAward:
    """One award the night decided for one customer: the rule's award, about the customer's main contract."""

    customer_id: str
    award: Decided
    contract_id: str | None = None
    clawback_on: str | None = None
    old_tier: str | None = None
    """The customer's tier before tonight."""


@dataclass(frozen=True)
class Given:
    award_id: int
    night: NightAward


def claim_night_event(session: Session, event_id: str, event_type: str, body_hash: str, at: datetime) -> None:
    """The engine's own event for the night (`anniversary`, `daily`), which its awards name."""
    insert_once(session, Event, dict(id=event_id, type=event_type, body_hash=body_hash, customer_id="*",
                                     occurred_at=at, received_at=at, result=None), ["id"])


def without_jit(session: Session) -> None:
    """PostgreSQL would JIT-compile every chunk's scan (the masks make it look costly): 0.4 s spent
    compiling a query that runs in 0.05 s. Off for this transaction only."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def already_given(session: Session, first: str, last: str, rule_ids: Iterable[str],
                  once_keys: Iterable[str]) -> set[tuple[str, str, str]]:
    """(customer, rule, once key) of awards already given to customers first..last by these rules."""
    query = select(Award.customer_id, Award.rule_id, Award.once_key).where(
        Award.customer_id >= first, Award.customer_id <= last,
        Award.rule_id.in_(sorted(set(rule_ids))), Award.once_key.in_(sorted(set(once_keys))))
    return {tuple(row) for row in session.execute(query)}


def given_masks(customer_id: ColumnElement[str], keys: Sequence[tuple[str, str] | None],
                bits: int) -> list[ColumnElement[int]]:
    """Per `bits` rules, a bit mask of the (rule, once key) awards each customer already has.

    `keys[i]` is rule i's once key for the night, or None when it differs per customer (such
    rules are looked up with `already_given`). One index probe per customer, in the same scan.
    """
    awards = Award.__table__.alias("given")
    masks = []
    for first in range(0, max(len(keys), 1), bits):
        part = [(bit, key) for bit, key in enumerate(keys[first:first + bits]) if key is not None]
        if not part:
            masks.append(literal(0, BigInteger).label(f"given_{first // bits}"))
            continue
        flags = case(*[(and_(awards.c.rule_id == rule_id, awards.c.once_key == once_key), literal(1 << bit, BigInteger))
                       for bit, (rule_id, once_key) in part], else_=literal(0, BigInteger))
        query = select(cast(func.coalesce(func.sum(flags), 0), BigInteger)).where(  # PostgreSQL sums to numeric
            awards.c.customer_id == customer_id)  # a range of a few rows: cheaper than probing each rule
        masks.append(query.scalar_subquery().label(f"given_{first // bits}"))
    return masks


def points_issued_to(session: Session, programme_id: str, first_day: date | None, last_day: date | None,
                     customer_ids: Sequence[str]) -> dict[str, int]:
    """Points the programme's awards gave each of these customers in the period (for caps)."""
    where = [Award.programme_id == programme_id, Award.status != "rejected", Award.customer_id.in_(customer_ids)]
    if first_day is not None:
        where += [Award.awarded_on >= first_day, Award.awarded_on <= last_day]
    query = select(Award.customer_id, func.sum(Award.points)).where(and_(*where)).group_by(Award.customer_id)
    return {customer: int(points) for customer, points in session.execute(query)}


def give_night_awards(session: Session, nights: Sequence[NightAward], today: date, at: datetime,
                      actor: str) -> list[Given]:
    """Insert the awards and deliver each: points, grants, membership, tier, audit."""
    if not nights:
        return []
    stamp = stored_time(session, at)
    ids = reserve_ids(session, Award.__table__, len(nights))
    insert_rows(session, Award.__table__, AWARD_COLUMNS, [_award_row(i, n, today, stamp) for i, n in zip(ids, nights)])
    given = [Given(i, n) for i, n in zip(ids, nights)]
    earn_many(session, [_earning(g) for g in given if g.night.award.points or g.night.award.status_points],
              occurred_at=at, actor=actor)
    _grant_rewards(session, given, stamp)
    _join_programmes(session, given, today)
    _set_tiers(session, given, stamp, actor)
    insert_audit(session, [(stamp, actor, "award.granted", "award", str(g.award_id), g.night.customer_id,
                            g.night.award.reason, g.night.award.ruleset_version, _details(g.night))
                           for g in given])
    return given


@dataclass(frozen=True)
class NightStop:
    """A budget, cap or stock that stopped a customer's award at night; `given`: the award was given
    all the same, without its reward (decision 33)."""

    customer_id: str
    rule_id: str
    code: str
    reason: str
    ruleset_version: str
    given: bool = False


def record_stops(session: Session, stops: Sequence[NightStop], at: datetime, actor: str) -> None:
    """Each stop in the audit log, as an event's result records it (`award.stopped.<code>`, or
    `award.reward_out_of_stock` for one given without its reward), in one multi-row insert: once the
    hampers run out a million-customer night has thousands."""
    if not stops:
        return
    stamp = stored_time(session, at)
    insert_audit(session, [(stamp, actor, "award.reward_out_of_stock" if stop.given else f"award.stopped.{stop.code}",
                            "rule", stop.rule_id, stop.customer_id, stop.reason, stop.ruleset_version, "{}")
                           for stop in stops])


def _award_row(award_id: int, night: NightAward, today: date, stamp: str) -> tuple:
    a = night.award
    return (award_id, night.customer_id, a.rule_id, a.programme_id, a.ruleset_version, a.event_id, night.contract_id,
            a.once_key, today.isoformat(), a.points, a.status_points, stored_date(a.expires_on),
            stored_date(a.vests_on), a.reward, a.membership, a.tier, a.goodwill, night.clawback_on, "granted", stamp)


def _earning(given: Given) -> Earning:
    a = given.night.award
    return Earning(customer_id=given.night.customer_id, reference=f"award:{given.award_id}", points=a.points,
                   status_points=a.status_points, programme=a.programme_id, expires_on=a.expires_on,
                   vests_on=a.vests_on, reason=a.reason, ruleset_version=a.ruleset_version)


def _grant_rewards(session: Session, given: list[Given], stamp: str) -> None:
    rows = [(g.night.customer_id, g.award_id, "reward", g.night.award.reward, "pending", stamp)
            for g in given if g.night.award.reward]
    ids = reserve_ids(session, RewardGrant.__table__, len(rows))
    insert_rows(session, RewardGrant.__table__, ("id", "customer_id", "award_id", "kind", "reward_id", "status",
                                                 "granted_at"), [(i, *row) for i, row in zip(ids, rows)])


def _join_programmes(session: Session, given: list[Given], today: date) -> None:
    rows = [dict(customer_id=g.night.customer_id, programme_id=g.night.award.membership, award_id=g.award_id,
                 since=today) for g in given if g.night.award.membership]
    if rows:
        insert = DIALECT_INSERTS[session.get_bind().dialect.name]
        session.execute(insert(Membership.__table__).on_conflict_do_nothing(
            index_elements=["customer_id", "programme_id"]), rows)


def _set_tiers(session: Session, given: list[Given], stamp: str, actor: str) -> None:
    """The customer's tier is its newest tier award's; a change (not a repeat) is audited on its own."""
    tiers = {g.night.customer_id: g for g in given if g.night.award.tier}
    changed = sorted((g for g in tiers.values() if g.night.award.tier != g.night.old_tier),
                     key=lambda g: g.night.customer_id)
    update_rows(session, Customer.__table__, "tier", [(g.night.customer_id, g.night.award.tier) for g in changed])
    insert_audit(session, [
        (stamp, actor, "customer.tier_changed", "customer", g.night.customer_id, g.night.customer_id,
         g.night.award.reason, g.night.award.ruleset_version,
         json.dumps({"from": g.night.old_tier, "to": g.night.award.tier, "award_id": g.award_id}))
        for g in changed])


_TEMPLATE_DETAILS: dict[int, tuple[Decided, str]] = {}


def _details(night: NightAward) -> str:
    """The details `give_awards` records for an award, as JSON text (the template's, then the contract)."""
    award = night.award
    cached = _TEMPLATE_DETAILS.get(id(award))
    if cached is None or cached[0] is not award:
        if len(_TEMPLATE_DETAILS) > 1024:
            _TEMPLATE_DETAILS.clear()
        details = {k: v.isoformat() if isinstance(v, date) else v for k, v in vars(award).items()
                   if v not in (None, 0, False) and k != "contract_id"}
        cached = _TEMPLATE_DETAILS[id(award)] = (award, json.dumps(details))
    if not night.contract_id:
        return cached[1]
    contract = f'"contract_id": {json.dumps(night.contract_id)}}}'  # the last field of an award
    return cached[1][:-1] + (", " if len(cached[1]) > 2 else "") + contract
