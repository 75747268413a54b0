"""A reward a rule gives free takes the catalogue's stock, while stocks last (decision 33).

Checked as marketing and billing would: how many hampers are waiting for billing, what the
catalogue says is left, and what each customer's thanks were, on every path that gives awards
(one event, a batch, the night) and on both databases.
"""
from __future__ import annotations

import textwrap
from datetime import date

import pytest
from ingest_support import RECEIVED, contract_signed, customer_upserted, event, ledger_problems, points_of
from sqlalchemy import select

from loyalty.engine.loader import load_ruleset_from_texts
from loyalty.errors import RedemptionLimitReached

from loyalty.services.catalogue import list_rewards, sync_catalogue
from loyalty.services.daily import run_daily
from loyalty.services.grants import cancel_grant, grants_in_status
from loyalty.services.ingest import ingest, ingest_many
from loyalty.services.redemptions import redeem
from loyalty.store.tables import AuditRecord, Award, RewardGrant

CATALOGUE = """\
rewards:
  - id: hamper
    name: {vi: "Giỏ quà tri ân", en: "Thank-you hamper"}
    kind: gift
    points_cost: 100
    stock: 2
  - id: mug
    name: {vi: "Cốc sứ", en: "Mug"}
    kind: gift
    points_cost: 10
  - id: scarf
    name: {vi: "Khăn lụa", en: "Silk scarf"}
    kind: gift
    points_cost: 50
    per_customer_limit: 1
"""
SCARF_ON_SIGNING = """\
programme: scarves
name: "Khăn lụa tặng khách"
rules:
  - id: scarf-on-signing
    on: contract.signed
    then: {points: 100, reward: scarf}
    once_per: customer
"""
SIGNING_THANKS = """\
programme: welcome-gifts
name: "Quà chào mừng"
rules:
  - id: hamper-on-signing
    on: contract.signed
    then: {points: 200, reward: hamper}
    once_per: customer
  - id: mug-on-signing
    on: contract.signed
    then: {reward: mug}
    once_per: customer
"""
REFERRAL_HAMPER = """\
programme: referral-gifts
name: "Quà giới thiệu"
rules:
  - id: hamper-for-a-referral
    on: referral.converted
    then: {reward: hamper}
    once_per: event
"""
ANNIVERSARY_HAMPER = """\
programme: anniversary-gifts
name: "Quà kỷ niệm"
rules:
  - id: hamper-on-anniversary
    on: anniversary
    then: {points: 300, reward: hamper}
    once_per: year
"""
NIGHT = date(2026, 11, 25)


def _with_catalogue(store, *programmes: str):
    """The programmes with the catalogue above, synced as the API and `run-daily` sync it."""
    texts = {f"{chr(ord('a') + i)}.yaml": textwrap.dedent(t) for i, t in enumerate(programmes)}
    rules = load_ruleset_from_texts({**texts, "rewards.yaml": CATALOGUE})
    sync_catalogue(store, rules.rewards)
    return rules


def _signed(store, rules, customer_id: str):
    ingest(store, rules, customer_upserted(f"{customer_id}-u", customer_id), RECEIVED)
    return ingest(store, rules, contract_signed(f"{customer_id}-s", f"K-{customer_id}", 1_000_000,
                                                customer_id=customer_id), RECEIVED)


def _hampers_waiting(store) -> list[str]:
    with store.reading() as session:
        return list(session.scalars(select(RewardGrant.customer_id).where(
            RewardGrant.reward_id == "hamper", RewardGrant.status == "pending").order_by(RewardGrant.customer_id)))


def _left(store, reward_id: str = "hamper") -> int | None:
    return next(offer.stock_left for offer in list_rewards(store) if offer.id == reward_id)


def test_hampers_go_to_the_first_customers_and_the_next_get_their_points_and_a_reason(store):
    rules = _with_catalogue(store, SIGNING_THANKS)
    first, second, third = (_signed(store, rules, c) for c in ("C1", "C2", "C3"))

    assert [a.reward for a in first.awards] == ["hamper", "mug"]
    assert [a.reward for a in second.awards] == ["hamper", "mug"]
    assert [(a.rule_id, a.points, a.reward) for a in third.awards] == [("hamper-on-signing", 200, None),
                                                                       ("mug-on-signing", 0, "mug")]
    assert [(s.rule_id, s.reason) for s in third.stopped] == [("hamper-on-signing", "stock")]
    assert third.stopped[0].detail == "reward hamper is out of stock (all 2 given); the award gave the rest"
    assert points_of(store, "C3")[0] == 200
    assert _hampers_waiting(store) == ["C1", "C2"]
    assert (_left(store), _left(store, "mug")) == (0, None)
    with store.reading() as session:
        assert session.scalar(select(Award.reward).where(Award.customer_id == "C3",
                                                         Award.rule_id == "hamper-on-signing")) is None
    assert ledger_problems(store) == []


def test_an_award_of_a_reward_alone_is_not_given_once_the_stock_is_out(store):
    rules = _with_catalogue(store, REFERRAL_HAMPER)
    for customer_id in ("C1", "C2", "C3"):
        ingest(store, rules, customer_upserted(f"{customer_id}-u", customer_id), RECEIVED)
    results = [ingest(store, rules, event(f"ref-{n}", "referral.converted", {"referred_customer_id": f"P{n}"},
                                          customer_id), RECEIVED)
               for n, customer_id in enumerate(("C1", "C2", "C3"))]

    assert [len(r.awards) for r in results] == [1, 1, 0]
    assert [(s.reason, s.detail) for s in results[2].stopped] == [
        ("stock", "reward hamper is out of stock (all 2 given); the award gives nothing else")]
    with store.reading() as session:
        assert session.scalar(select(Award.id).where(Award.customer_id == "C3")) is None
    assert _hampers_waiting(store) == ["C1", "C2"]


def test_a_cancelled_grant_puts_its_hamper_back_for_the_next_customer(store):
    rules = _with_catalogue(store, SIGNING_THANKS)
    _signed(store, rules, "C1")
    _signed(store, rules, "C2")
    declined = next(g for g in grants_in_status(store, "pending", None, 10) if g.customer_id == "C1"
                    and g.reward_id == "hamper")
    cancel_grant(store, declined.id, "billing", RECEIVED, reason="khách từ chối nhận quà")
    cancel_grant(store, declined.id, "billing", RECEIVED)  # again: changes nothing

    assert _left(store) == 1
    assert [a.reward for a in _signed(store, rules, "C3").awards] == ["hamper", "mug"]
    assert _hampers_waiting(store) == ["C2", "C3"]
    assert _left(store) == 0


def test_redemptions_and_rule_grants_share_one_stock(store):
    rules = _with_catalogue(store, SIGNING_THANKS)
    _signed(store, rules, "C1")  # a hamper, and 200 points to redeem another with
    redeem(store, "C1", "hamper", "key-1", "customer", RECEIVED)

    late = _signed(store, rules, "C2")
    assert [s.reason for s in late.stopped] == ["stock"]
    assert _left(store) == 0


def test_a_reward_given_free_does_not_use_up_what_the_customer_may_redeem(store):
    rules = _with_catalogue(store, SCARF_ON_SIGNING)
    assert [a.reward for a in _signed(store, rules, "C1").awards] == ["scarf"]  # and 100 points

    redeem(store, "C1", "scarf", "key-1", "customer", RECEIVED)  # the one the limit allows
    with pytest.raises(RedemptionLimitReached):
        redeem(store, "C1", "scarf", "key-2", "customer", RECEIVED)
    assert points_of(store, "C1")[0] == 50


def test_a_batch_takes_stock_in_event_order_as_one_event_after_another(store):
    rules = _with_catalogue(store, REFERRAL_HAMPER)
    for customer_id in ("C1", "C2", "C3"):
        ingest(store, rules, customer_upserted(f"{customer_id}-u", customer_id), RECEIVED)
    batch = [event(f"ref-{n}", "referral.converted", {"referred_customer_id": f"P{n}"}, customer_id)
             for n, customer_id in enumerate(("C3", "C1", "C2"))]

    results = ingest_many(store, rules, batch, RECEIVED)
    assert [len(r.awards) for r in results] == [1, 1, 0]
    assert [s.reason for s in results[2].stopped] == ["stock"]
    assert _hampers_waiting(store) == ["C1", "C3"]
    assert _left(store) == 0
    assert [r.replayed for r in ingest_many(store, rules, batch, RECEIVED)] == [True] * 3
    assert _left(store) == 0


def test_the_night_gives_hampers_in_customer_order_and_the_rest_their_points(store):
    rules = _with_catalogue(store, ANNIVERSARY_HAMPER)
    for customer_id in ("C4", "C2", "C3", "C1"):
        ingest(store, rules, customer_upserted(f"{customer_id}-u", customer_id, customer_since="2024-11-25"),
               RECEIVED)

    summary = run_daily(store, rules, NIGHT)
    assert (summary.awards, summary.points, summary.stopped_by_limits) == (4, 1200, 0)
    assert _hampers_waiting(store) == ["C1", "C2"]
    assert _left(store) == 0
    with store.reading() as session:
        traced = session.execute(select(AuditRecord.customer_id, AuditRecord.reason).where(
            AuditRecord.action == "award.reward_out_of_stock").order_by(AuditRecord.customer_id)).all()
    assert traced == [(c, "reward hamper is out of stock (all 2 given); the award gave the rest")
                      for c in ("C3", "C4")]
    assert [points_of(store, c, NIGHT)[0] for c in ("C1", "C2", "C3", "C4")] == [300] * 4

    again = run_daily(store, rules, NIGHT)
    assert (again.awards, _hampers_waiting(store), _left(store)) == (0, ["C1", "C2"], 0)
    assert ledger_problems(store) == []


def test_a_reward_the_catalogue_does_not_hold_yet_is_given_as_before(store):
    rules = load_ruleset_from_texts({"a.yaml": SIGNING_THANKS, "rewards.yaml": CATALOGUE})  # never synced
    for customer_id in ("C1", "C2", "C3"):
        assert [a.reward for a in _signed(store, rules, customer_id).awards] == ["hamper", "mug"]
    assert _hampers_waiting(store) == ["C1", "C2", "C3"]


def test_a_batch_mixing_signings_and_referrals_counts_one_stock_across_both_paths(store):
    rules = _with_catalogue(store, SIGNING_THANKS, REFERRAL_HAMPER)
    for customer_id in ("C1", "C2", "C3"):
        ingest(store, rules, customer_upserted(f"{customer_id}-u", customer_id), RECEIVED)
    batch = [contract_signed("C1-s", "K-C1", 1_000_000, customer_id="C1"),  # ingest's own path, in the batch
             event("ref-2", "referral.converted", {"referred_customer_id": "P2"}, "C2"),  # the set-based run
             event("ref-3", "referral.converted", {"referred_customer_id": "P3"}, "C3")]

    signed, referred, too_late = ingest_many(store, rules, batch, RECEIVED)
    assert [a.reward for a in signed.awards] == ["hamper", "mug"]
    assert [a.reward for a in referred.awards] == ["hamper"]
    assert (too_late.awards, [s.reason for s in too_late.stopped]) == ([], ["stock"])
    assert _hampers_waiting(store) == ["C1", "C2"] and _left(store) == 0
