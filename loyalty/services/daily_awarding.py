"""The night's time events (`anniversary`, `daily`) decided for a chunk of customers at once.

The database evaluates every rule of the event over the chunk in one scan (`loyalty.store.night_scan`):
where a slot's awards are fixed it picks the winner and drops it if already given; elsewhere it
sets a bit per matching rule beside a mask of the awards each customer already has (`given_masks`).
Python then applies `decide`'s precedence to each customer's masks, once per distinct mask: a
group is won by its highest-ranked candidate (priority, then file order), ungrouped rules stack,
and a rule outside its validity window on the night is not a candidate. Awards are built by the engine's `build_award`,
so amounts, expiry and once-keys are exactly what an event would give. Budgets and caps are
checked as ingest checks them (`loyalty.services.limits`), award by award in customer-id order, and
so is a free reward's stock (`loyalty.services.reward_stock`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Connection, Integer, Select, String, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from loyalty.engine.awards import once_key
from loyalty.engine.award_build import Award as Decided
from loyalty.engine.award_build import build_award
from loyalty.engine.decide import CompiledRuleset, compile_ruleset, is_valid_on
from loyalty.engine.facts import EventSnapshot
from loyalty.engine.model import Limit, Rule
from loyalty.services.ingest_result import Stopped
from loyalty.services.scan_ahead import ScanAhead
from loyalty.services.limits import lock_budgets, period, points_issued
from loyalty.services.reward_stock import StockLeft
from loyalty.store.bulk_rows import without_index
from loyalty.store.daily_awards import (
    Given, NightAward, NightStop, already_given, give_night_awards, given_masks, points_issued_to, record_stops,
    without_jit,
)
from loyalty.store.fact_columns import MASK_BITS, fact_columns, fact_thresholds
from loyalty.store.night_scan import CompiledScan, Slot, can_fold, candidate_masks
from loyalty.store.tables import Customer

ACTOR = "rules"


def night_event_id(event_type: str, day: date) -> str:
    """The id of the engine's own event for one night: what its awards name, and `once_per: event` keys on."""
    return f"engine:{event_type}:{day.isoformat()}"


@dataclass
class ChunkResult:
    """What one chunk of customers got."""

    customers: int = 0
    last_customer_id: str | None = None
    given: list[Given] | None = None
    stopped: int = 0


class NightRules:
    """The rules of one time event that may award on one night, ranked for precedence.

    `scope` limits the customers (the night's anniversaries, or the customers whose facts moved for
    the daily rules; it may be set until the first scan), `chunk` is customers per scan.
    """

    def __init__(self, ruleset, event_type: str, day: date, scope: ColumnElement[bool] | None = None,
                 chunk: int = 10_000):
        self.compiled: CompiledRuleset = compile_ruleset(ruleset)
        self.day = day
        self.event = EventSnapshot(type=event_type, id=night_event_id(event_type, day))
        self.rules: list[Rule] = [rule for rule in self.compiled.ruleset.rules_for(event_type)
                                  if is_valid_on(rule.valid, day)]
        self.formula_facts = sorted({f.of for r in self.rules for f in (r.then.points, r.then.status_points)
                                     if f is not None and f.of})
        self.templates = [self._build(rule, {}, None) for rule in self.rules]
        self.per_customer_key = [r.once_per == "contract" for r in self.rules]
        self.per_customer = [_uses_facts(r) or r.once_per == "contract" for r in self.rules]
        self.keys = [None if self.per_customer_key[i] else (r.id, once_key(r.once_per, day, self.event.id, None))
                     for i, r in enumerate(self.rules)]
        self.slots = [slot for slot in map(self._slot, _slots(self.rules)) if slot.members]
        self.width = max(1, -(-len(self.rules) // MASK_BITS))
        self.scope, self.chunk = scope, chunk
        self.sparse = False
        """Set when `scope` holds few of the customers and has indexes of its own (until the first scan)."""
        self._scans: dict[str, tuple[CompiledScan, CompiledScan]] = {}
        self._memo: dict[tuple[int, ...], list[tuple[int, Decided]]] = {}
        """New winners per (match masks, given masks): a night has few distinct ones."""

    def _slot(self, members: tuple[int, ...]) -> Slot:
        """Folded when every member's award is fixed: members that give nothing then never win, so go."""
        if can_fold(members) and not any(self.per_customer[i] for i in members):
            return Slot(tuple(i for i in members if self.templates[i] is not None), folded=True)
        return Slot(members, folded=False)

    def _build(self, rule: Rule, facts: dict, contract_id: str | None) -> Decided | None:
        award = build_award(rule, self.compiled.version, facts, self.event, self.day, contract_id)
        return None if isinstance(award, str) else award

    def select(self) -> Select:
        """Customers after `after` up to `upto` (both parameters) in scope that some rule could still award.

        The masks are tested in WHERE and only the rows that pass compute their columns again, so a
        night reads the few customers with something new, not the million without.
        """
        where = and_(self._in_scope(), self._order_key() <= bindparam("upto", "", type_=String))
        columns = fact_columns(self.day)
        masks = candidate_masks(self.rules, self.slots, self.keys, columns, fact_thresholds(self.day))
        unfolded = {i for slot in self.slots if not slot.folded for i in slot.members}
        given = given_masks(Customer.id, [key if i in unfolded else None for i, key in enumerate(self.keys)],
                            MASK_BITS)
        extra = [Customer.main_contract_id, Customer.tier] + [columns[f].label(f"fact_{i}")
                                                             for i, f in enumerate(self.formula_facts)]
        candidates = or_(*[mask != 0 for mask in masks])
        return select(Customer.id, *masks, *given, *extra).where(where, candidates).order_by(self._order_key())

    def bounds(self) -> Select:
        """How many customers in scope follow `after` within a chunk of `size`, and the last of them."""
        chunk = (select(Customer.id).where(self._in_scope()).order_by(self._order_key())
                 .limit(bindparam("size", self.chunk, type_=Integer)).subquery())
        return select(func.count(), func.max(chunk.c.id))

    def _in_scope(self) -> ColumnElement[bool]:
        after = self._order_key() > bindparam("after", "", type_=String)
        return after if self.scope is None else and_(self.scope, after)

    def _order_key(self) -> ColumnElement[str]:
        """The id; for a `sparse` scope `without_index`, so the few customers come from the scope's indexes."""
        return without_index(Customer.id) if self.sparse else Customer.id

    def next_chunk(self, connection: Connection, after: str | None,
                   size: int | None = None) -> tuple[int, str | None, list[tuple]]:
        """(customers in the chunk, the last one's id, the rows of those with candidate awards)."""
        count, upto = self.chunk_after(connection, after, size)
        return (count, upto, self.rows_between(connection, after, upto)) if count else (0, None, [])

    def chunk_after(self, connection: Connection, after: str | None, size: int | None = None) -> tuple[int, str | None]:
        """How many customers the chunk after `after` holds (at most `size`, by default `chunk`), and its last one's id."""
        [(count, upto)] = self._compiled(connection)[0].rows(connection, {"after": after or "", "size": size or self.chunk})
        return count, upto

    def rows_between(self, connection: Connection, after: str | None, upto: str) -> list[tuple]:
        """The scan of the customers after `after` up to `upto`: those with candidate awards."""
        return self._compiled(connection)[1].rows(connection, {"after": after or "", "upto": upto})

    def _compiled(self, connection: Connection) -> tuple[CompiledScan, CompiledScan]:
        scans = self._scans.get(connection.dialect.name)
        if scans is None:
            scans = self._scans[connection.dialect.name] = (CompiledScan(self.bounds(), connection),
                                                            CompiledScan(self.select(), connection))
        return scans

    def contract_and_tier(self, row) -> tuple[str | None, str | None]:
        """The customer's main contract id and tier, from a row of `select`."""
        return row[1 + 2 * self.width], row[2 + 2 * self.width]

    def new_winners(self, row) -> list[tuple[int, Decided]]:
        """The (rule index, award) each group or ungrouped rule gives this customer row, in file order,
        less the awards the row's given masks say the customer already has (per-contract keys aside)."""
        key = row[1:1 + 2 * self.width]
        if not any(self.per_customer):
            won = self._memo.get(key)
            if won is None:
                won = self._memo[key] = self._unless_given(self._pick(self._matched(key), {}, None), key)
            return won
        facts = dict(zip(self.formula_facts, row[3 + 2 * self.width:]))
        return self._unless_given(self._pick(self._matched(key), facts, row[1 + 2 * self.width]), key)

    def _unless_given(self, won: list[tuple[int, Decided]], key) -> list[tuple[int, Decided]]:
        given = key[self.width:]
        return [(i, award) for i, award in won if not given[i // MASK_BITS] >> (i % MASK_BITS) & 1]

    def _matched(self, masks: tuple[int, ...]) -> list[bool]:
        return [bool(masks[i // MASK_BITS] >> (i % MASK_BITS) & 1) for i in range(len(self.rules))]

    def _pick(self, matched: list[bool], facts: dict, contract_id: str | None) -> list[tuple[int, Decided]]:
        """`decide`'s precedence: in each slot the best-ranked matching rule that gives something."""
        won = []
        for slot in self.slots:
            for i in slot.members:
                award = self._award_for(i, facts, contract_id) if matched[i] else None
                if award is not None:
                    won.append((i, award))
                    break
        return sorted(won, key=lambda pair: pair[0])

    def _award_for(self, i: int, facts: dict, contract_id: str | None) -> Decided | None:
        if self.per_customer[i]:
            return self._build(self.rules[i], facts, contract_id)
        return self.templates[i]


def _uses_facts(rule: Rule) -> bool:
    return any(f is not None and f.of for f in (rule.then.points, rule.then.status_points))


def _slots(rules: list[Rule]) -> list[tuple[int, ...]]:
    """Each group's rules best first (priority, then file order), and each ungrouped rule alone."""
    slots: dict[object, list[int]] = {}
    for i, rule in enumerate(rules):
        slots.setdefault(rule.group if rule.group is not None else ("alone", i), []).append(i)
    return [tuple(sorted(members, key=lambda i: (-rules[i].priority, rules[i].order))) for members in slots.values()]


def award_chunk(session: Session, rules: NightRules, after: str | None, at: datetime,
                ahead: ScanAhead | None = None) -> ChunkResult:
    """Decide and give the night's awards to the next chunk of customers, in the caller's transaction.

    With `ahead`, the chunk's scan may already be done, and the next ones are under way meanwhile."""
    without_jit(session)
    count, upto, rows = (ahead.take(after) if ahead else None) or rules.next_chunk(session.connection(), after)
    if not count:
        return ChunkResult()
    decided = []
    for row in rows:
        won = rules.new_winners(row)
        if won:
            contract_id, tier = rules.contract_and_tier(row)
            decided += [(row[0], tier, contract_id, i, award) for i, award in won]
    per_contract = [entry for entry in decided if rules.per_customer_key[entry[3]]]
    seen = already_given(session, rows[0][0], rows[-1][0], [a.rule_id for *_x, a in per_contract],
                         [a.once_key for *_x, a in per_contract]) if per_contract else set()
    fresh = [entry for entry in decided if (entry[0], entry[-1].rule_id, entry[-1].once_key) not in seen] \
        if seen else decided
    nights, stopped = _within_limits(session, rules, fresh, at)
    given = give_night_awards(session, nights, rules.day, at, ACTOR)
    return ChunkResult(count, upto, given, stopped)


def _within_limits(session: Session, rules: NightRules, fresh, at: datetime) -> tuple[list[NightAward], int]:
    """Awards that fit their programme's budget and the customer's cap, counted in customer-id order,
    and whose reward is in stock (or given without it, decision 33)."""
    ruleset = rules.compiled.ruleset
    programmes = {a.programme_id: ruleset.programme(a.programme_id) for *_x, a in fresh if a.points > 0}
    limited = {pid: p for pid, p in programmes.items() if p.budget is not None or p.cap is not None}
    lock_budgets(session, list(limited.values()))
    budget_left = {pid: p.budget.points - points_issued(session, pid, p.budget, rules.day)
                   for pid, p in limited.items() if p.budget is not None}
    caps = {pid: _cap_issued(session, p, rules.day, fresh) for pid, p in limited.items() if p.cap is not None}
    stock = StockLeft(session, ruleset, (a.reward for *_x, a in fresh))
    nights, stops = [], []
    for customer, tier, contract_id, i, award in fresh:
        refusal = _refusal(limited.get(award.programme_id), award, customer, budget_left, caps)
        out_of_stock = None
        if refusal is None:
            fitted, out_of_stock = stock.fit(award)
            award, refusal = (award, out_of_stock) if fitted is None else (fitted, None)
        if refusal is not None:
            stops.append(NightStop(customer, award.rule_id, refusal.reason, refusal.detail, award.ruleset_version))
            continue
        if out_of_stock is not None:  # given without its reward: why, where a customer's thanks are traced
            stops.append(NightStop(customer, award.rule_id, out_of_stock.reason, out_of_stock.detail,
                                   award.ruleset_version, given=True))
        nights.append(NightAward(customer, award, contract_id, rules.rules[i].clawback_on, tier))
    stock.write()
    record_stops(session, stops, at, ACTOR)
    return nights, sum(not stop.given for stop in stops)


def _cap_issued(session: Session, programme, day: date, fresh) -> dict[str, int]:
    first, last = period(programme.cap.per, day)
    customers = sorted({entry[0] for entry in fresh if entry[-1].programme_id == programme.id})
    return points_issued_to(session, programme.id, first, last, customers)


def _refusal(programme, award: Decided, customer: str, budget_left: dict, caps: dict) -> Stopped | None:
    """Like `check_limits`, against running totals; an award that fits is counted at once."""
    if programme is None or award.points <= 0:
        return None
    if programme.budget is not None and award.points > budget_left[programme.id]:
        issued = programme.budget.points - budget_left[programme.id]
        return Stopped(award.rule_id, "budget", _over(f"programme {programme.id} budget", programme.budget,
                                                      issued, award.points))
    issued = caps.get(programme.id, {}).get(customer, 0)
    if programme.cap is not None and issued + award.points > programme.cap.points:
        return Stopped(award.rule_id, "cap", _over(f"customer cap of programme {programme.id}", programme.cap,
                                                   issued, award.points))
    if programme.budget is not None:
        budget_left[programme.id] -= award.points
    if programme.cap is not None:
        caps[programme.id][customer] = issued + award.points
    return None


def _over(what: str, limit: Limit, issued: int, points: int) -> str:
    """The same sentence ingest gives when a limit stops an award."""
    per = "in all" if limit.per == "programme" else f"per {limit.per}"
    return f"{what} of {limit.points:,} points {per} has {max(limit.points - issued, 0):,} left; this award is {points:,}"
