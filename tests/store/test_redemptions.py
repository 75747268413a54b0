"""Redeeming, fulfilling and cancelling, on both databases: stock, limits, points, lots, audit."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from loyalty.errors import (
    FieldErrors, IdempotencyKeyReused, InsufficientPoints, OutOfStock, RedemptionLimitReached,
    RedemptionSettled, RewardNotOffered, UnknownCustomer, UnknownRedemption,
)
from loyalty.services.catalogue import sync_catalogue
from loyalty.services.redemptions import (
    cancel, customer_rewards, fulfil, pending_redemptions, redeem, redemptions_in_status,
)
from redemption_support import (
    AT, CATALOGUE, add_customer, audit_actions, give_points, grant_welcome_router, ledger_problems,
    lot_remaining,
    open_catalogue, redemptions, spendable, spends, stock_taken,
)


@pytest.fixture
def lan(store):
    """Chị Lan with 1,500 points in two lots: 600 expiring soon, 900 later."""
    open_catalogue(store)
    add_customer(store)
    soon = give_points(store, "lan", 600, "award:1", expires_on=date(2027, 1, 1))
    later = give_points(store, "lan", 900, "award:2", expires_on=date(2027, 6, 1))
    return store, soon, later


def test_redeeming_spends_the_reward_cost_and_leaves_a_pending_redemption(lan):
    store, soon, later = lan
    result = redeem(store, "lan", "bill-credit-100k", "k-1", "customer:lan", AT)
    got = result.redemption
    assert (got.status, got.points, got.value, got.reward_name) == (
        "pending", 1000, 100_000, "Giảm 100.000đ hóa đơn")
    assert not result.replayed
    assert spendable(store) == 500
    assert (lot_remaining(store, soon), lot_remaining(store, later)) == (0, 500)
    assert audit_actions(store, got.id) == ["redemption.requested"]
    assert ledger_problems(store) == []


def test_not_enough_points_says_how_many_are_available_and_needed_and_takes_nothing(lan):
    store, *_ = lan
    redeem(store, "lan", "bill-credit-100k", "k-1", "customer:lan", AT)
    with pytest.raises(InsufficientPoints) as short:
        redeem(store, "lan", "bill-credit-100k", "k-2", "customer:lan", AT)
    assert (short.value.available, short.value.needed) == (500, 1000)
    assert "500" in str(short.value) and "1,000" in str(short.value)
    assert (spendable(store), redemptions(store), spends(store)) == (500, 1, 1)
    assert stock_taken(store, "bill-credit-100k") == 1


def test_a_refused_key_can_be_sent_again_once_the_customer_has_the_points(lan):
    store, *_ = lan
    redeem(store, "lan", "bill-credit-100k", "k-1", "customer:lan", AT)
    with pytest.raises(InsufficientPoints):
        redeem(store, "lan", "bill-credit-100k", "k-2", "customer:lan", AT)
    give_points(store, "lan", 500, "award:3")
    assert not redeem(store, "lan", "bill-credit-100k", "k-2", "customer:lan", AT).replayed
    assert spendable(store) == 0


def test_the_same_key_again_replays_the_first_answer_and_spends_nothing(lan):
    store, *_ = lan
    first = redeem(store, "lan", "speed-upgrade", "k-1", "customer:lan", AT)
    fulfil(store, first.redemption.id, "billing:1", AT + timedelta(days=3))
    again = redeem(store, "lan", "speed-upgrade", "k-1", "customer:lan", AT + timedelta(hours=1))
    assert again.replayed and again.redemption == first.redemption
    assert (spendable(store), spends(store), redemptions(store)) == (1200, 1, 1)


def test_the_same_key_for_another_reward_is_a_conflict(lan):
    store, *_ = lan
    redeem(store, "lan", "speed-upgrade", "k-1", "customer:lan", AT)
    with pytest.raises(IdempotencyKeyReused, match="k-1"):
        redeem(store, "lan", "bill-credit-100k", "k-1", "customer:lan", AT)
    assert spendable(store) == 1200


def test_keys_belong_to_one_customer(lan):
    store, *_ = lan
    add_customer(store, "binh", "Trần Văn Bình")
    give_points(store, "binh", 300, "award:9")
    redeem(store, "lan", "speed-upgrade", "same-key", "customer:lan", AT)
    assert not redeem(store, "binh", "speed-upgrade", "same-key", "customer:binh", AT).replayed
    assert redemptions(store) == 2


def test_stock_runs_out_and_a_cancel_returns_it(lan):
    store, *_ = lan
    add_customer(store, "binh", "Trần Văn Bình")
    add_customer(store, "chi", "Lê Thị Chi")
    for customer_id in ("binh", "chi"):
        give_points(store, customer_id, 800, f"award:{customer_id}")
    first = redeem(store, "lan", "wifi-6-router", "k-1", "customer:lan", AT).redemption
    redeem(store, "binh", "wifi-6-router", "k-1", "customer:binh", AT)
    with pytest.raises(OutOfStock, match="out of stock"):
        redeem(store, "chi", "wifi-6-router", "k-1", "customer:chi", AT)
    assert (stock_taken(store, "wifi-6-router"), spendable(store, "chi")) == (2, 800)
    cancel(store, first.id, "billing:1", "router not in the warehouse", AT)
    assert stock_taken(store, "wifi-6-router") == 1
    assert redeem(store, "chi", "wifi-6-router", "k-1", "customer:chi", AT).redemption.status == "pending"


def test_the_per_customer_limit_counts_every_redemption_not_cancelled(lan):
    store, *_ = lan
    one = redeem(store, "lan", "speed-upgrade", "k-1", "customer:lan", AT).redemption
    two = redeem(store, "lan", "speed-upgrade", "k-2", "customer:lan", AT).redemption
    fulfil(store, one.id, "billing:1", AT)
    with pytest.raises(RedemptionLimitReached, match="at most 2 times") as limited:
        redeem(store, "lan", "speed-upgrade", "k-3", "customer:lan", AT)
    assert limited.value.limit == 2
    cancel(store, two.id, "customer:lan", None, AT, for_customer="lan")
    assert redeem(store, "lan", "speed-upgrade", "k-3", "customer:lan", AT).redemption.points == 300


def test_cancelling_gives_the_points_back_to_the_very_lots_they_came_from(lan):
    store, soon, later = lan
    got = redeem(store, "lan", "bill-credit-100k", "k-1", "customer:lan", AT).redemption
    cancelled = cancel(store, got.id, "billing:1", "khách đổi ý", AT + timedelta(hours=2))
    assert (cancelled.status, cancelled.cancel_reason, cancelled.settled_by) == (
        "cancelled", "khách đổi ý", "billing:1")
    assert (lot_remaining(store, soon), lot_remaining(store, later)) == (600, 900)
    assert spendable(store) == 1500
    assert stock_taken(store, "bill-credit-100k") == 0
    assert audit_actions(store, got.id) == ["redemption.requested", "redemption.cancelled"]
    assert ledger_problems(store) == []


def test_cancelling_twice_gives_the_points_back_once(lan):
    store, *_ = lan
    got = redeem(store, "lan", "bill-credit-100k", "k-1", "customer:lan", AT).redemption
    first = cancel(store, got.id, "billing:1", "first", AT)
    second = cancel(store, got.id, "billing:1", "second", AT + timedelta(hours=1))
    assert second == first and second.cancel_reason == "first"
    assert spendable(store) == 1500
    assert audit_actions(store, got.id) == ["redemption.requested", "redemption.cancelled"]


def test_fulfilled_and_cancelled_are_final_and_exclusive(lan):
    store, *_ = lan
    kept = redeem(store, "lan", "speed-upgrade", "k-1", "customer:lan", AT).redemption
    dropped = redeem(store, "lan", "speed-upgrade", "k-2", "customer:lan", AT).redemption
    done = fulfil(store, kept.id, "billing:1", AT + timedelta(days=1))
    assert (done.status, done.settled_at) == ("fulfilled", AT + timedelta(days=1))
    assert fulfil(store, kept.id, "billing:1", AT + timedelta(days=2)) == done
    with pytest.raises(RedemptionSettled, match="already fulfilled"):
        cancel(store, kept.id, "billing:1", "too late", AT)
    cancel(store, dropped.id, "billing:1", None, AT)
    with pytest.raises(RedemptionSettled, match="already cancelled"):
        fulfil(store, dropped.id, "billing:1", AT)
    assert audit_actions(store, kept.id) == ["redemption.requested", "redemption.fulfilled"]
    assert spendable(store) == 1200


def test_a_customer_cannot_cancel_another_customers_redemption(lan):
    store, *_ = lan
    got = redeem(store, "lan", "speed-upgrade", "k-1", "customer:lan", AT).redemption
    with pytest.raises(UnknownRedemption):
        cancel(store, got.id, "customer:binh", None, AT, for_customer="binh")
    with pytest.raises(UnknownRedemption):
        fulfil(store, got.id + 1000, "billing:1", AT)
    assert spendable(store) == 1200


def test_unknown_customers_rewards_and_retired_rewards_are_refused(lan):
    store, *_ = lan
    with pytest.raises(UnknownCustomer):
        redeem(store, "nobody", "speed-upgrade", "k-1", "customer:nobody", AT)
    with pytest.raises(FieldErrors) as unknown:
        redeem(store, "lan", "no-such-reward", "k-1", "customer:lan", AT)
    assert "reward_id" in unknown.value.errors
    with pytest.raises(FieldErrors) as blank:
        redeem(store, "lan", "speed-upgrade", " ", "customer:lan", AT)
    assert "Idempotency-Key" in blank.value.errors
    sync_catalogue(store, CATALOGUE[:1])
    with pytest.raises(RewardNotOffered):
        redeem(store, "lan", "speed-upgrade", "k-1", "customer:lan", AT)
    assert (redemptions(store), spendable(store)) == (0, 1500)


def test_billing_reads_pending_redemptions_oldest_first_page_by_page(lan):
    store, *_ = lan
    rewards = ("speed-upgrade", "speed-upgrade", "wifi-6-router")
    made = [redeem(store, "lan", reward_id, f"k-{n}", "customer:lan", AT + timedelta(minutes=10 - n))
            .redemption for n, reward_id in enumerate(rewards)]
    fulfil(store, made[1].id, "billing:1", AT)
    first = pending_redemptions(store, None, 1)
    rest = pending_redemptions(store, first[-1].cursor(), 10)
    assert [r.id for r in first + rest] == [made[2].id, made[0].id]
    assert [r.id for r in redemptions_in_status(store, "fulfilled", None, 10)] == [made[1].id]
    with pytest.raises(FieldErrors):
        pending_redemptions(store, ["not a time", 1], 10)


def test_a_customers_rewards_list_grants_and_redemptions_newest_first(lan):
    store, *_ = lan
    made = [redeem(store, "lan", "speed-upgrade", f"k-{n}", "customer:lan", AT + timedelta(hours=n))
            for n in range(2)]
    cancel(store, made[0].redemption.id, "customer:lan", None, AT)
    listed = customer_rewards(store, "lan", None, 1) + customer_rewards(
        store, "lan", customer_rewards(store, "lan", None, 1)[-1].cursor(), 5)
    assert [(r.source, r.id, r.status) for r in listed] == [
        ("redemption", made[1].redemption.id, "pending"),
        ("redemption", made[0].redemption.id, "cancelled")]
    with pytest.raises(UnknownCustomer):
        customer_rewards(store, "nobody")


def test_a_reward_a_rule_gave_free_is_listed_with_the_redemptions(lan):
    store, *_ = lan
    grant_welcome_router(store)
    paid = redeem(store, "lan", "speed-upgrade", "k-1", "customer:lan", AT + timedelta(days=1))
    listed = customer_rewards(store, "lan")
    assert [(r.source, r.reward_id, r.points, r.status) for r in listed] == [
        ("redemption", "speed-upgrade", 300, "pending"), ("grant", "wifi-6-router", 0, "pending")]
    assert listed[1].name == "Bộ phát Wi-Fi 6" and listed[0].id == paid.redemption.id


def test_a_cancel_after_a_lot_expired_does_not_bring_its_points_back_to_life(lan):
    store, soon, later = lan
    got = redeem(store, "lan", "bill-credit-100k", "k-1", "customer:lan", AT).redemption
    after_expiry = AT.replace(year=2027, month=1, day=5)
    cancel(store, got.id, "billing:1", "late cancel", after_expiry)
    assert (lot_remaining(store, soon), lot_remaining(store, later)) == (0, 900)
    assert stock_taken(store, "bill-credit-100k") == 0
    assert ledger_problems(store) == []
