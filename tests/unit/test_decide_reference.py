"""`decide` takes shortcuts (rules grouped by their first test, awards from per-rule plans, reasons
kept); for generated rulesets and facts it must answer exactly what the plain algorithm answers:
every rule of the event in file order, its whole predicate, `build_award`, `apply_precedence`."""
from __future__ import annotations

import random
from datetime import date

from rulebuilders import all_of, any_of, fact, goodwill, months, not_, points, rule, ruleset

from loyalty.engine.award_build import build_award
from loyalty.engine.decide import (
    OUTSIDE_WINDOW,
    Decision,
    PassedOver,
    apply_precedence,
    decide,
    describe_window,
    is_valid_on,
)
from loyalty.engine.facts import EventSnapshot
from loyalty.engine.model import Then
from loyalty.engine.predicate import compile_predicate

TODAYS = (date(2026, 3, 15), date(2026, 3, 31), date(2027, 1, 1))
SEGMENTS = ("home", "sme", "enterprise")
TIERS = ("silver", "gold", "platinum")


def reference_decide(rules, facts, event, today, main_contract_id) -> Decision:
    contract_id = event.contract_id or main_contract_id
    candidates, passed = [], []
    for r in rules.rules:
        if r.on != event.type or not compile_predicate(r.when)(facts):
            continue
        if not is_valid_on(r.valid, today):
            passed.append(PassedOver(r.id, f"{OUTSIDE_WINDOW}: {describe_window(r.valid)}"))
            continue
        award = build_award(r, rules.version, facts, event, today, contract_id)
        if isinstance(award, str):
            passed.append(PassedOver(r.id, award))
        else:
            candidates.append((r, award))
    winners, beaten = apply_precedence(candidates)
    return Decision(tuple(award for _, award in winners), tuple(passed + beaten))


def leaf(rng: random.Random):
    return rng.choice((
        lambda: fact("tenure_months", rng.choice(("gte", "lt", "eq", "ne")), rng.choice((6, 12, 24))),
        lambda: fact("segment", rng.choice(("in", "not_in")), rng.sample(SEGMENTS, rng.randrange(0, 3))),
        lambda: fact("tier", rng.choice(("eq", "ne")), rng.choice(TIERS)),
        lambda: fact("renewals", "between", (1, rng.randrange(1, 4))),
        lambda: fact("event.amount", "gte", rng.choice((0, 1_000_000))),
    ))()


def condition(rng: random.Random, depth: int = 2):
    roll = rng.random()
    if depth == 0 or roll < 0.3:
        return leaf(rng)
    parts = [condition(rng, depth - 1) for _ in range(rng.randrange(0, 4))]
    if roll < 0.7:
        return all_of(*parts)
    if roll < 0.9:
        return any_of(*parts)
    return not_(condition(rng, depth - 1))


def then(rng: random.Random) -> Then:
    return rng.choice((
        lambda: Then(points=points(rng.choice((0, 50, 100))), expires_after=rng.choice((None, months(12)))),
        lambda: Then(status_points=points(200), pending_days=rng.choice((None, 30))),
        lambda: Then(points=points(per=100_000, of="event.amount", max=500), pending_days=30),
        lambda: Then(reward="hamper", tier=rng.choice((None, "gold"))),
        lambda: Then(goodwill=goodwill(50_000, after_days=1, approve_above=100_000)),
        lambda: Then(points=points(10), status_points=points(5), programme="sme-care"),
    ))()


def generated(rng: random.Random):
    rules = []
    for i in range(rng.randrange(1, 25)):
        rules.append(rule(
            f"r{i}", on=rng.choice(("anniversary", "anniversary", "invoice.paid")),
            when=condition(rng) if rng.random() < 0.9 else None, then=then(rng),
            programme=rng.choice(("a", "b")), once_per=rng.choice(("event", "year", "customer", "contract")),
            group=rng.choice((None, "g1", "g2")), priority=rng.randrange(3),
            until=rng.choice((None, date(2026, 12, 31))), order=rng.randrange(100),
        ))
    return ruleset(*rules)


def facts_of(rng: random.Random) -> dict:
    return {"tenure_months": rng.choice((0, 6, 12, 24, 30)), "segment": rng.choice(SEGMENTS),
            "tier": rng.choice(TIERS + (None,)), "renewals": rng.choice((0, 1, 2, 3, None)),
            "event.amount": rng.choice((None, 0, 999_999, 3_000_000))}


def test_decide_answers_what_the_plain_algorithm_answers():
    rng = random.Random(20261125)
    for _ in range(300):
        rules = generated(rng)
        for n in range(20):
            event = EventSnapshot(type=rng.choice(("anniversary", "invoice.paid")), id=f"e{n}",
                                  contract_id=rng.choice((None, "k-event")), amount=rng.choice((None, 2_000_000)),
                                  outage_hours=rng.choice((None, 30, 100)))
            facts, today, main = facts_of(rng), rng.choice(TODAYS), rng.choice((None, "k-main"))
            assert decide(rules, facts, event, today, main) == reference_decide(rules, facts, event, today, main)
