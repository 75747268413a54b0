"""What a matching rule gives for one event: the `Award`, built from the rule's `then`.

`build_award` works for any rule; `AwardPlan` is its shortcut for a rule whose award reads no fact
(fixed points or none, no goodwill), which the nightly scan asks of millions of customers. Both
give the same awards (the decide tests compare them). The arithmetic is `awards`'.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

from loyalty.engine import awards
from loyalty.engine.facts import EventSnapshot
from loyalty.engine.model import Rule, Scalar

NO_CONTRACT = "once per contract, but there is no contract"
BELOW_THRESHOLD = "below threshold"
NOTHING_TO_AWARD = "nothing to award"
"""The start of each reason a matching rule gives nothing; the particulars follow a colon."""


@dataclass(frozen=True)
class Award:
    """What one rule gives for one event; the store keeps UNIQUE(customer, rule_id, once_key)."""

    rule_id: str
    programme_id: str
    ruleset_version: str
    event_id: str
    once_key: str
    points: int = 0
    status_points: int = 0
    expires_on: date | None = None
    vests_on: date | None = None
    reward: str | None = None
    membership: str | None = None
    tier: str | None = None
    goodwill: int | None = None
    needs_approval: bool = False
    contract_id: str | None = None

    @property
    def reason(self) -> str:
        """Why it was given, as the ledger and the audit log say it: the rule and the event."""
        return f"rule {self.rule_id} on event {self.event_id}"


def build_award(
    rule: Rule,
    version: str,
    facts: Mapping[str, Scalar | None],
    event: EventSnapshot,
    today: date,
    contract_id: str | None,
) -> Award | str:
    """The award a matching rule gives, or the reason it gives nothing."""
    key = awards.once_key(rule.once_per, today, event.id, contract_id)
    if key is None:
        return NO_CONTRACT
    then = rule.then
    points = awards.points_for(then.points, facts)
    status_points = awards.points_for(then.status_points, facts)
    goodwill = awards.goodwill_amount(then.goodwill, event.outage_hours)
    if not (points or status_points or goodwill or then.reward or then.programme or then.tier):
        return _why_nothing(rule, event)
    return _new_award(
        rule_id=rule.id,
        programme_id=rule.programme,
        ruleset_version=version,
        event_id=event.id,
        once_key=key,
        points=points,
        status_points=status_points,
        expires_on=awards.expiry_date(today, then.expires_after) if points else None,
        vests_on=awards.vesting_date(today, then.pending_days) if points or status_points else None,
        reward=then.reward,
        membership=then.programme,
        tier=then.tier,
        goodwill=goodwill or None,
        needs_approval=awards.needs_approval(then.goodwill, goodwill),
        contract_id=contract_id,
    )


class AwardPlan:
    """`build_award` for a rule whose award reads no fact and no event amount (fixed points or
    none, no goodwill): everything but the event, the date and the contract is fixed, and the
    fields that depend on the date are kept for the last date asked. Gives exactly what `build_award` gives (the
    decide tests compare the two)."""

    __slots__ = ("fixed", "once_per", "expires_after", "pending_days", "gives_points", "vests", "dated")

    def __init__(self, rule: Rule, version: str):
        then = rule.then
        points = then.points.fixed if then.points is not None else 0
        status_points = then.status_points.fixed if then.status_points is not None else 0
        self.fixed = dict(rule_id=rule.id, programme_id=rule.programme, ruleset_version=version,
                          points=points, status_points=status_points, reward=then.reward,
                          membership=then.programme, tier=then.tier, goodwill=None, needs_approval=False)
        self.once_per = rule.once_per
        self.expires_after, self.pending_days = then.expires_after, then.pending_days
        self.gives_points, self.vests = bool(points), bool(points or status_points)
        self.dated: tuple[date | None, dict, str | None] = (None, {}, None)
        """(the last day asked, the award's fields on that day less the event's, its year key)"""

    @staticmethod
    def of(rule: Rule, version: str) -> "AwardPlan | None":
        then = rule.then
        fixed = all(f is None or f.fixed is not None for f in (then.points, then.status_points))
        gives = (then.points is not None and then.points.fixed) or \
                (then.status_points is not None and then.status_points.fixed) or \
                then.reward or then.programme or then.tier
        if not fixed or then.goodwill is not None or not gives or rule.once_per not in _ONCE_KINDS:
            return None
        return AwardPlan(rule, version)

    def award(self, today: date, event_id: str, event_key: str, contract_id: str | None) -> Award:
        """The award (`event_key` is the event's once key); once per contract needs a contract."""
        day, fields, year_key = self.dated
        if day != today:
            fields = {**self.fixed, "event_id": None, "once_key": None, "contract_id": None,
                      "expires_on": awards.expiry_date(today, self.expires_after) if self.gives_points else None,
                      "vests_on": awards.vesting_date(today, self.pending_days) if self.vests else None}
            year_key = f"year:{today.year}"
            self.dated = (today, fields, year_key)
        once = self.once_per
        if once == "event":
            key = event_key
        elif once == "year":
            key = year_key
        elif once == "customer":
            key = "customer"
        else:
            key = f"contract:{contract_id}"
        fields = fields.copy()  # copying the day's fields costs half of building them anew
        fields["event_id"] = event_id
        fields["once_key"] = key
        fields["contract_id"] = contract_id
        award = object.__new__(Award)
        object.__setattr__(award, "__dict__", fields)
        return award


_ONCE_KINDS = ("customer", "contract", "year", "event")


def _new_award(**fields) -> Award:
    """An `Award` built without the frozen `__init__`, whose per-field `object.__setattr__` made
    it a third of a 50-rule decision; every field must be given (the equality tests check it)."""
    award = object.__new__(Award)
    object.__setattr__(award, "__dict__", fields)  # a new dict (keyword arguments): half update()'s cost
    return award


def _why_nothing(rule: Rule, event: EventSnapshot) -> str:
    if rule.then.goodwill is not None:
        hours = event.outage_hours if event.outage_hours is not None else "no"
        return f"{BELOW_THRESHOLD}: {hours} outage hours, credit starts after {rule.then.goodwill.after_days} days"
    facts = {f.of for f in (rule.then.points, rule.then.status_points) if f is not None and f.of}
    named = ", ".join(sorted(facts)) or "the formula"
    return f"{NOTHING_TO_AWARD}: {named} gives 0 points"
