"""What one event earns one customer: matching rules, validity windows and group precedence.

`decide` is pure: facts, the event and the customer's local date in, a `Decision` out. Budgets,
caps and once-keys already used are the ingest service's business; it adds its own reasons.
Precedence is explicit: within one `group` only the highest `priority` candidate wins (ties: the
earlier in file order); rules without a group all stack. A candidate is a rule whose condition
holds, whose validity window contains the date and which would award something.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

from loyalty.engine.award_build import NO_CONTRACT, Award, AwardPlan, build_award
from loyalty.engine.facts import EventSnapshot
from loyalty.engine.model import Rule, Ruleset, Scalar, Validity
from loyalty.engine.predicate import Predicate, compile_predicate, guarded

OUTSIDE_WINDOW = "outside validity window"
BEATEN_IN_GROUP = "another rule of its group has precedence"
"""The start of every reason `decide` gives (and `award_build`'s NO_CONTRACT, BELOW_THRESHOLD,
NOTHING_TO_AWARD); each reason adds the particulars after a colon."""


@dataclass(frozen=True)
class PassedOver:
    """A matching rule that does not award, and why (`beaten_by`: the group's winner)."""

    rule_id: str
    reason: str
    beaten_by: str | None = None


@dataclass(frozen=True)
class Decision:
    awards: tuple[Award, ...] = ()
    passed_over: tuple[PassedOver, ...] = ()


NO_DECISION = Decision()


class CompiledRuleset:
    """A ruleset with every rule's predicate compiled once and the rules indexed by event type."""

    def __init__(self, ruleset: Ruleset):
        self.ruleset = ruleset
        self.version = ruleset.version
        self.predicates: dict[str, Predicate] = {}
        by_event: dict[str, list[tuple[Predicate, Rule, date, date]]] = {}
        for rule in ruleset.rules:
            predicate = compile_predicate(rule.when)
            self.predicates[rule.id] = predicate
            start, until = window_bounds(rule.valid)
            by_event.setdefault(rule.on, []).append((predicate, rule, start, until))
        self._by_event = {event: tuple(entries) for event, entries in by_event.items()}
        self._reasons: dict[tuple[str, str | None], PassedOver] = {}
        self._deciding = {event: _by_guard(entries, self.version) for event, entries in by_event.items()}
        """What `decide` walks: per event, (guard, entries) of the rules whose condition starts with
        the same test; an entry is (file order, rest of the condition, rule, (first day, last day)
        or None when always valid, its `AwardPlan` or None when `build_award` decides, group)."""

    def passed_over(self, rule: Rule, winner: Rule | None) -> PassedOver:
        """The same (immutable) reason each time: `rule` lost its group to `winner`; without a
        winner, was outside its validity window; its own winner: once per contract, no contract."""
        key = (rule.id, winner.id if winner is not None else None)
        reason = self._reasons.get(key)
        if reason is None:
            if winner is None:
                reason = PassedOver(rule.id, f"{OUTSIDE_WINDOW}: {describe_window(rule.valid)}")
            elif winner is rule:
                reason = PassedOver(rule.id, NO_CONTRACT)
            else:
                reason = PassedOver(rule.id, f"{BEATEN_IN_GROUP}: group {rule.group} is won by {winner.id}",
                                    beaten_by=winner.id)
            self._reasons[key] = reason
        return reason

    def entries_for(self, event_type: str) -> tuple[tuple[Predicate, Rule, date, date], ...]:
        """(predicate, rule, first day, last day) of every rule `on` this event, in file order."""
        return self._by_event.get(event_type, ())

    def matches(self, rule_id: str, facts: Mapping[str, Scalar | None]) -> bool:
        """Whether one rule's condition holds for these facts."""
        return self.predicates[rule_id](facts)


def _by_guard(entries: list[tuple[Predicate, Rule, date, date]], version: str) -> tuple:
    """The rules of one event grouped by their first test (`guarded`), groups in file order of
    their first rule: a test many rules start with is made once, and when it fails (an `eq`
    usually does) none of them is looked at."""
    groups: dict[object, tuple[Predicate, list]] = {}
    for order, (_predicate, rule, start, until) in enumerate(entries):
        key, guard, rest = guarded(rule.when)
        group = groups.setdefault(key if key is not None else ("alone", order), (guard, []))
        window = None if (start, until) == (date.min, date.max) else (start, until)
        group[1].append((order, rest, rule, window, AwardPlan.of(rule, version), rule.group))
    return tuple((guard, tuple(members)) for guard, members in groups.values())


_CACHE: dict[int, CompiledRuleset] = {}
_CACHE_SIZE = 8


def compile_ruleset(ruleset: Ruleset | CompiledRuleset) -> CompiledRuleset:
    """The compiled form of a ruleset, built once per ruleset object (rulesets are immutable)."""
    if isinstance(ruleset, CompiledRuleset):
        return ruleset
    compiled = _CACHE.get(id(ruleset))
    if compiled is None or compiled.ruleset is not ruleset:
        compiled = CompiledRuleset(ruleset)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[id(ruleset)] = compiled
    return compiled


def window_bounds(valid: Validity) -> tuple[date, date]:
    """The first and last local day of a validity window, open ends as the widest dates."""
    return valid.start or date.min, valid.until or date.max


def is_valid_on(valid: Validity, today: date) -> bool:
    """Whether a rule may award on this local date (both ends inclusive)."""
    start, until = window_bounds(valid)
    return start <= today <= until


def describe_window(valid: Validity) -> str:
    """`from 2026-01-01 until 2026-12-31`, for reasons and explanations."""
    start = f"from {valid.start.isoformat()}" if valid.start else ""
    until = f"until {valid.until.isoformat()}" if valid.until else ""
    return " ".join(part for part in (start, until) if part) or "always"


def decide(
    ruleset: Ruleset | CompiledRuleset,
    facts: Mapping[str, Scalar | None],
    event: EventSnapshot,
    today: date,
    main_contract_id: str | None = None,
) -> Decision:
    """The awards an event earns a customer on local date `today`, and the matching rules that don't.

    `main_contract_id` is the customer's main contract (not a fact): the contract an award is
    about when the event names none, and the key of once-per-contract rules then.
    """
    compiled = ruleset if type(ruleset) is CompiledRuleset else compile_ruleset(ruleset)
    hits = []
    for guard, members in compiled._deciding.get(event.type, ()):
        if guard(facts):
            for entry in members:
                if entry[1](facts):
                    hits.append(entry)
    if not hits:
        return NO_DECISION
    if len(hits) > 1:
        hits.sort()  # back to file order: the first items (file positions) differ
    contract_id = event.contract_id or main_contract_id
    event_id = event.id
    event_key = f"event:{event_id}"
    candidates: list[tuple[Rule, Award | AwardPlan, str | None]] = []
    passed: list[PassedOver] = []
    best: dict[str, Rule] = {}  # apply_precedence's winners, candidates coming in file order
    for _order, _rest, rule, window, plan, group in hits:
        if window is not None and not window[0] <= today <= window[1]:
            passed.append(compiled.passed_over(rule, None))
            continue
        if plan is None:
            award = build_award(rule, compiled.version, facts, event, today, contract_id)
            if isinstance(award, str):
                passed.append(PassedOver(rule.id, award))
                continue
        elif plan.once_per == "contract" and not contract_id:
            passed.append(compiled.passed_over(rule, rule))
            continue
        else:
            award = plan  # built below only if it wins its group
        candidates.append((rule, award, group))
        if group is not None:
            other = best.get(group)
            if other is None or rule.priority > other.priority or (
                    rule.priority == other.priority and rule.order < other.order):
                best[group] = rule
    won: list[Award] = []
    for rule, award, group in candidates:
        if group is None or best[group] is rule:
            won.append(award if type(award) is Award else award.award(today, event_id, event_key, contract_id))
        else:
            passed.append(compiled.passed_over(rule, best[group]))
    return _new_decision(tuple(won), tuple(passed))


def _new_decision(awards: tuple[Award, ...], passed_over: tuple[PassedOver, ...]) -> Decision:
    """A `Decision` without the frozen `__init__` (see `award_build`)."""
    decision = object.__new__(Decision)
    object.__setattr__(decision, "__dict__", {"awards": awards, "passed_over": passed_over})
    return decision


def apply_precedence(candidates: list[tuple[Rule, Award]]) -> tuple[list[tuple[Rule, Award]], list[PassedOver]]:
    """Keep every ungrouped candidate and the best of each group; say who beat the others."""
    best: dict[str, Rule] = {}
    for rule, _ in candidates:
        if rule.group is not None and (rule.group not in best or outranks(rule, best[rule.group])):
            best[rule.group] = rule
    winners: list[tuple[Rule, Award]] = []
    beaten: list[PassedOver] = []
    for rule, award in candidates:
        winner = best.get(rule.group) if rule.group is not None else None
        if winner is None or winner is rule:
            winners.append((rule, award))
        else:
            reason = f"{BEATEN_IN_GROUP}: group {rule.group} is won by {winner.id}"
            beaten.append(PassedOver(rule.id, reason, beaten_by=winner.id))
    return winners, beaten


def outranks(rule: Rule, other: Rule) -> bool:
    """Higher priority first; between equal priorities, the earlier in file order."""
    return (-rule.priority, rule.order) < (-other.priority, other.order)
