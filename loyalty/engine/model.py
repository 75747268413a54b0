"""The validated rule model: what a loaded YAML ruleset means, as plain frozen values.

The loader builds these; the compilers, `decide` and `explain` read them. Every node keeps the
source line it came from so that explanations and errors can point back into the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Union

EVENT_TYPES: tuple[str, ...] = (
    "customer.upserted",
    "contract.signed",
    "contract.renewed",
    "contract.cancelled",
    "invoice.paid",
    "service.incident",
    "referral.converted",
    "anniversary",
    "daily",
)
"""Every event a rule may name in `on`; the last two are the engine's own time events."""

OPERATORS: tuple[str, ...] = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "between")
COMBINATORS: tuple[str, ...] = ("all", "any", "not")
ONCE_PER: tuple[str, ...] = ("customer", "contract", "year", "event")
SEGMENTS: tuple[str, ...] = ("home", "sme", "enterprise")

Scalar = Union[int, str, bool]


@dataclass(frozen=True)
class SourceRef:
    """Where a node was written: file (relative to the rules directory) and 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Comparison:
    """`fact: {op: value}`; for `in`/`not_in` the value is a tuple, for `between` a (low, high) pair."""

    fact: str
    op: str
    value: Scalar | tuple[Scalar, ...]
    source: SourceRef


@dataclass(frozen=True)
class AllOf:
    parts: tuple["Condition", ...]
    source: SourceRef


@dataclass(frozen=True)
class AnyOf:
    parts: tuple["Condition", ...]
    source: SourceRef


@dataclass(frozen=True)
class Not:
    part: "Condition"
    source: SourceRef


Condition = Union[Comparison, AllOf, AnyOf, Not]


@dataclass(frozen=True)
class PointsFormula:
    """Either a fixed amount, or one `each` per whole `per` of fact `of`, capped at `max`."""

    fixed: int | None = None
    per: int | None = None
    of: str | None = None
    each: int = 1
    max: int | None = None


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 calendar duration limited to years, months and days (P12M, P1Y, P90D)."""

    years: int = 0
    months: int = 0
    days: int = 0
    text: str = ""


@dataclass(frozen=True)
class Goodwill:
    """A bill credit in VND for `service.incident`: `per_day` for each outage day beyond
    `after_days`, at most `max`; above `approve_above` it waits for marketing's approval."""

    per_day: int
    after_days: int = 0
    max: int | None = None
    approve_above: int | None = None


@dataclass(frozen=True)
class Then:
    """What a matching rule gives. At least one of the award fields is set."""

    points: PointsFormula | None = None
    status_points: PointsFormula | None = None
    expires_after: Duration | None = None
    pending_days: int | None = None
    reward: str | None = None
    programme: str | None = None
    tier: str | None = None
    goodwill: Goodwill | None = None


@dataclass(frozen=True)
class Validity:
    """Inclusive local dates between which a rule may award; either end may be open."""

    start: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    programme: str
    on: str
    then: Then
    source: SourceRef
    order: int
    """Position in the ruleset (file order, then position in file): the last tie-breaker."""
    when: Condition | None = None
    description: str = ""
    once_per: Literal["customer", "contract", "year", "event"] = "event"
    group: str | None = None
    priority: int = 0
    valid: Validity = field(default_factory=Validity)
    clawback_on: str | None = None

    def facts_read(self) -> frozenset[str]:
        """Every fact the rule's condition or its amounts read: what can change what it gives."""
        formulas = (self.then.points, self.then.status_points)
        return _condition_facts(self.when) | {f.of for f in formulas if f is not None and f.of}


def _condition_facts(condition: Condition | None) -> frozenset[str]:
    if condition is None:
        return frozenset()
    if isinstance(condition, Comparison):
        return frozenset((condition.fact,))
    if isinstance(condition, Not):
        return _condition_facts(condition.part)
    return frozenset().union(*map(_condition_facts, condition.parts))


@dataclass(frozen=True)
class Limit:
    """An amount of points per period: a programme `budget` or a per-customer `cap`."""

    points: int
    per: Literal["year", "month", "programme"] = "year"


@dataclass(frozen=True)
class Programme:
    id: str
    name: str
    source: SourceRef
    rules: tuple[Rule, ...]
    description: str = ""
    budget: Limit | None = None
    cap: Limit | None = None


@dataclass(frozen=True)
class RewardItem:
    """A catalogue item from `rewards.yaml`: spend points on it, or a rule grants it free."""

    id: str
    names: dict[str, str]
    kind: str
    points_cost: int
    source: SourceRef
    stock: int | None = None
    per_customer_limit: int | None = None
    value: int | None = None
    """Face value in VND (bill credit amount), when it has one."""


@dataclass(frozen=True)
class Ruleset:
    """All programmes of one rules directory at one content hash (`version`)."""

    version: str
    programmes: tuple[Programme, ...]
    rewards: tuple[RewardItem, ...] = ()

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(rule for programme in self.programmes for rule in programme.rules)

    def rules_for(self, event_type: str) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.on == event_type)

    def programme(self, programme_id: str) -> Programme:
        return next(p for p in self.programmes if p.id == programme_id)

    def reward(self, reward_id: str) -> RewardItem | None:
        return next((r for r in self.rewards if r.id == reward_id), None)
