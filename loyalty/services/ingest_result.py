"""What ingesting one event answered: given awards, stopped awards, clawbacks, as plain values.

The first delivery's answer is stored with the event (`as_dict`) and returned as is, rebuilt by
`from_dict`, to every resend of the same event.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class GivenAward:
    """One award a rule gave for the event; `status` is granted or pending_approval."""

    award_id: int
    rule_id: str
    programme_id: str
    ruleset_version: str
    status: str
    contract_id: str | None = None
    points: int = 0
    status_points: int = 0
    expires_on: date | None = None
    vests_on: date | None = None
    reward: str | None = None
    membership: str | None = None
    tier: str | None = None
    goodwill: int | None = None


@dataclass(frozen=True)
class Stopped:
    """A matching rule that gave nothing for this event: `reason` is a short code, `detail` a sentence.

    Codes: once_per (already given), budget, cap, window, group, no_contract, below_threshold,
    nothing_to_award, stock (the rule's free reward ran out: the award gave the rest, if it carries
    anything else, and is listed among the awards too).
    """

    rule_id: str
    reason: str
    detail: str


@dataclass(frozen=True)
class ClawedBack:
    """An earlier award taken back because its contract was cancelled; `shortfall` was already spent."""

    award_id: int
    rule_id: str
    points: int
    shortfall: int = 0


@dataclass
class IngestResult:
    event_id: str
    replayed: bool = False
    awards: list[GivenAward] = field(default_factory=list)
    stopped: list[Stopped] = field(default_factory=list)
    clawed_back: list[ClawedBack] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings. Flat parts read with `vars`: `asdict` deep-copies every value."""
        return {"event_id": self.event_id, "replayed": self.replayed,
                "awards": [_jsonable(vars(a)) for a in self.awards],
                "stopped": [dict(vars(s)) for s in self.stopped],
                "clawed_back": [dict(vars(c)) for c in self.clawed_back]}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, replayed: bool) -> "IngestResult":
        """The result stored with an event, marked as a replay when it answers a resend."""
        return cls(
            event_id=data["event_id"],
            replayed=replayed,
            awards=[GivenAward(**_dates(a)) for a in data.get("awards", [])],
            stopped=[Stopped(**s) for s in data.get("stopped", [])],
            clawed_back=[ClawedBack(**c) for c in data.get("clawed_back", [])],
        )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


DATE_FIELDS = ("expires_on", "vests_on")


def _dates(data: dict[str, Any]) -> dict[str, Any]:
    return {k: date.fromisoformat(v) if k in DATE_FIELDS and v else v for k, v in data.items()}
