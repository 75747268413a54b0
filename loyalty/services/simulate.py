"""Marketing's preview of a draft ruleset before publishing: is it valid, and what would it cost?

`simulate` compares the draft with the ruleset in force in one read-only unit of work, so it never
writes: (1) the time-event rules over every current customer (`simulate_customers`: anniversaries
in the coming year, daily rules tonight); (2) a bounded replay of billing's recent events under the
draft against what was actually given (`simulate_replay`): who gains, who loses, the cost in
points and in goodwill VND.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Mapping

from loyalty.engine.decide import compile_ruleset
from loyalty.engine.loader import load_ruleset_from_texts
from loyalty.engine.model import Ruleset
from loyalty.engine.yaml_source import MAX_BYTES, too_big_message
from loyalty.errors import FieldErrors, RuleProblem, RulesetInvalid
from loyalty.services.simulate_customers import time_event_effects
from loyalty.services.simulate_replay import ReplayTotals, replay_events
from loyalty.store import Store

REPLAY_DAYS = 90
MAX_REPLAYED_EVENTS = 10_000
TOP = 10
MAX_FILES = 100
FILE_NAME = re.compile(r"^[\w.-]{1,100}\.ya?ml$")


@dataclass(frozen=True)
class DraftSummary:
    """A draft that loads: its version and size."""

    version: str
    programmes: int
    rules: int


@dataclass(frozen=True)
class RuleEffect:
    """One anniversary or daily rule over the current customers, under the draft and in force."""

    rule_id: str
    on: str
    draft_customers: int
    draft_points: int
    in_force_customers: int
    in_force_points: int


@dataclass(frozen=True)
class CustomerChange:
    """One customer whose replayed points differ: actually given, under the draft, and the difference."""

    customer_id: str
    name: str
    points_given: int
    points_draft: int
    delta: int


@dataclass(frozen=True)
class ReplaySummary:
    """The replay of recent events, bounded: `since` to the simulation's day, at most `max_events`."""

    since: date
    days: int
    max_events: int
    events: int
    truncated: bool
    customers: int
    gainers: int
    losers: int
    points_given: int
    points_draft: int
    points_delta: int
    goodwill_given: int
    goodwill_draft: int
    goodwill_delta: int
    top_gainers: tuple[CustomerChange, ...]
    top_losers: tuple[CustomerChange, ...]


@dataclass(frozen=True)
class Simulation:
    """What publishing the draft would change, against the ruleset in force."""

    today: date
    draft_version: str
    in_force_version: str
    time_events: tuple[RuleEffect, ...]
    time_events_points_draft: int
    time_events_points_in_force: int
    time_events_gainers: int
    """Customers thanked with more points under the draft (counted once per event type)."""
    time_events_losers: int
    replay: ReplaySummary


def load_draft(files: Mapping[str, str]) -> Ruleset:
    """A draft given as {file name: YAML text}, checked like a rules directory (every problem at once)."""
    if not files or len(files) > MAX_FILES:
        raise FieldErrors({"files": [f"give 1 to {MAX_FILES} rule files, not {len(files)}"]}, "No draft to read.")
    bad = [name for name in files if not FILE_NAME.match(name)]
    if bad:
        raise FieldErrors({"files": [f"{name!r} is not a rule file name (letters, digits, . _ -, ending .yaml)"
                                     for name in sorted(bad)]}, "The draft's file names are not valid.")
    sizes = {name: len(text.encode("utf-8")) for name, text in files.items()}
    too_big = [RuleProblem(name, None, too_big_message(size)) for name, size in sorted(sizes.items())
               if size > MAX_BYTES]
    if too_big:
        raise RulesetInvalid(too_big)
    return load_ruleset_from_texts(files)


def check_draft(files: Mapping[str, str]) -> DraftSummary:
    """The draft's version and size if it loads; `RulesetInvalid` with every problem if not."""
    draft = load_draft(files)
    return DraftSummary(draft.version, len(draft.programmes), len(draft.rules))


def simulate(store: Store, in_force: Ruleset, draft: Ruleset, today: date, *, days: int = REPLAY_DAYS,
             max_events: int = MAX_REPLAYED_EVENTS, top: int = TOP) -> Simulation:
    """The draft's effect on the current customers and on a replay of recent events; writes nothing."""
    with store.reading() as session:
        thanked = time_event_effects(session, in_force, draft, today)
        replayed = replay_events(session, compile_ruleset(draft), today, days, max_events)
    on = {rule.id: rule.on for ruleset in (in_force, draft) for rule in ruleset.rules}
    effects = tuple(
        RuleEffect(rule_id, on[rule_id], *_pair(thanked.draft.get(rule_id)), *_pair(thanked.in_force.get(rule_id)))
        for rule_id in sorted(thanked.draft.keys() | thanked.in_force.keys(), key=lambda r: (on[r], r)))
    return Simulation(
        today=today, draft_version=draft.version, in_force_version=in_force.version, time_events=effects,
        time_events_points_draft=sum(e.draft_points for e in effects),
        time_events_points_in_force=sum(e.in_force_points for e in effects),
        time_events_gainers=thanked.gainers, time_events_losers=thanked.losers,
        replay=_summary(replayed, days, max_events, top),
    )


def _pair(count) -> tuple[int, int]:
    return (count.customers, count.points) if count else (0, 0)


def _summary(replayed: ReplayTotals, days: int, max_events: int, top: int) -> ReplaySummary:
    changes = [CustomerChange(cid, replayed.names.get(cid, cid), t.points_given, t.points_draft, t.delta)
               for cid, t in replayed.tallies.items() if t.delta]
    gainers = sorted((c for c in changes if c.delta > 0), key=lambda c: (-c.delta, c.customer_id))
    losers = sorted((c for c in changes if c.delta < 0), key=lambda c: (c.delta, c.customer_id))
    tallies = replayed.tallies.values()
    points_given = sum(t.points_given for t in tallies)
    points_draft = sum(t.points_draft for t in tallies)
    goodwill_given = sum(t.goodwill_given for t in tallies)
    goodwill_draft = sum(t.goodwill_draft for t in tallies)
    return ReplaySummary(
        since=replayed.since, days=days, max_events=max_events, events=replayed.events,
        truncated=replayed.truncated, customers=len(replayed.tallies), gainers=len(gainers), losers=len(losers),
        points_given=points_given, points_draft=points_draft, points_delta=points_draft - points_given,
        goodwill_given=goodwill_given, goodwill_draft=goodwill_draft, goodwill_delta=goodwill_draft - goodwill_given,
        top_gainers=tuple(gainers[:top]), top_losers=tuple(losers[:top]),
    )
