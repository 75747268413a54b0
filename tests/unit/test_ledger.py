"""The ledger's arithmetic on plain values: which lots a debit takes, and plans that balance."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from loyalty.errors import InsufficientPoints, LedgerInvariantBroken, NotReversible
from loyalty.ledger import (
    AVAILABLE, CLAWBACK, EXPIRY, ISSUANCE, PENDING, REWARD, STATUS, STATUS_POINTS, LotState, Plan,
    allocate, apply, customer_account, expiring_soon, local_date, plan_debit, plan_earn,
    plan_expire, plan_release, plan_reverse, plan_vest, spend_order, system_account,
)

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
TODAY = date(2026, 3, 1)


def lot(id, remaining, expires_on=None, *, account=AVAILABLE, amount=None, hours=0, **more):
    return LotState(id=id, account=account, amount=amount or remaining, remaining=remaining,
                    earned_at=T0 + timedelta(hours=hours or id), expires_on=expires_on, **more)


def test_a_debit_takes_the_lot_that_expires_first_even_if_earned_later():
    old_but_later = lot(1, 100, date(2026, 12, 1))
    new_but_sooner = lot(2, 100, date(2026, 6, 1))
    assert [(l.id, n) for l, n in allocate([old_but_later, new_but_sooner], 30, TODAY)] == [(2, 30)]


def test_a_debit_spans_lots_and_takes_points_that_never_expire_last():
    lots = [lot(1, 50), lot(2, 40, date(2026, 9, 1)), lot(3, 30, date(2026, 4, 1))]
    assert [(l.id, n) for l, n in allocate(lots, 100, TODAY)] == [(3, 30), (2, 40), (1, 30)]


def test_lots_expiring_the_same_day_are_spent_in_earned_order():
    lots = [lot(7, 10, date(2026, 6, 1), hours=5), lot(3, 10, date(2026, 6, 1), hours=9)]
    assert [l.id for l, _ in allocate(lots, 15, TODAY)] == [7, 3]


def test_a_debit_larger_than_the_spendable_points_says_how_many_there_are():
    lots = [lot(1, 50), lot(2, 70, account=PENDING), lot(3, 20, TODAY)]
    with pytest.raises(InsufficientPoints) as refused:
        allocate(lots, 60, TODAY)
    assert (refused.value.available, refused.value.requested) == (50, 60)


def test_points_are_gone_on_their_expiry_day_not_the_day_after():
    assert allocate([lot(1, 10, TODAY + timedelta(days=1))], 10, TODAY)
    with pytest.raises(InsufficientPoints):
        allocate([lot(1, 10, TODAY)], 10, TODAY)


def test_an_award_with_a_vesting_day_lands_in_the_pending_account():
    plan = plan_earn("c1", points=300, status_points=20, earned_at=T0, vests_on=date(2026, 2, 1),
                     reference="award-1")
    plan.check()
    assert (plan.points(AVAILABLE), plan.points(PENDING), plan.points(STATUS_POINTS)) == (0, 300, 20)
    assert plan.entries[system_account(ISSUANCE, REWARD)] == -300
    assert plan.entries[system_account(ISSUANCE, STATUS)] == -20


def test_expiry_takes_only_what_is_left_in_due_lots():
    lots = [lot(1, 30, TODAY, amount=100), lot(2, 50, TODAY + timedelta(days=1)), lot(3, 20)]
    plan = plan_expire("c1", lots, TODAY)
    plan.check()
    assert plan.points(AVAILABLE) == -30
    assert plan.entries[system_account(EXPIRY)] == 30
    assert plan_expire("c1", apply(lots, plan), TODAY).is_empty


def test_vesting_moves_due_pending_lots_into_new_available_lots_keeping_their_expiry():
    pending = lot(1, 80, date(2027, 1, 1), account=PENDING, vests_on=TODAY, reference="a1")
    later = lot(2, 10, account=PENDING, vests_on=TODAY + timedelta(days=1))
    plan = plan_vest("c1", [pending, later], TODAY)
    plan.check()
    assert (plan.points(PENDING), plan.points(AVAILABLE)) == (-80, 80)
    [moved] = plan.new_lots
    assert (moved.expires_on, moved.reference, moved.origin_lot_id) == (date(2027, 1, 1), "a1", 1)


def test_a_release_takes_back_what_is_held_and_records_what_was_already_spent():
    vested_from = lot(1, 0, account=PENDING, amount=100, reference="a1")
    vested = lot(2, 40, amount=100, reference="a1", origin_lot_id=1)
    still_pending = lot(3, 25, account=PENDING, reference="a1")
    status = lot(4, 10, account=STATUS_POINTS, reference="a1")
    plan = plan_release("clawback", "c1", [vested_from, vested, still_pending, status])
    plan.check()
    assert plan.entries[system_account(CLAWBACK)] == 40
    assert plan.entries[system_account(ISSUANCE)] == 25
    assert plan.entries[system_account(CLAWBACK, STATUS)] == 10
    assert plan.shortfall == 60
    assert sorted(plan.revoke_lot_ids) == [1, 2, 3, 4]


def test_reversing_an_award_whose_points_were_spent_is_refused():
    earned = lot(1, 60, amount=100)
    entries = [(customer_account("c1", AVAILABLE), 100), (system_account(ISSUANCE), -100)]
    with pytest.raises(NotReversible):
        plan_reverse("reverse", "c1", entries, [(1, 100)], {1: earned})


def test_a_plan_that_does_not_balance_is_refused():
    plan = Plan("adjust", "c1")
    plan.post(customer_account("c1", AVAILABLE), 10)
    plan.post(system_account(ISSUANCE), -9)
    with pytest.raises(LedgerInvariantBroken):
        plan.check()


def test_expiring_soon_groups_spendable_points_by_their_expiry_day():
    lots = [lot(1, 10, TODAY + timedelta(days=3)), lot(2, 5, TODAY + timedelta(days=3)),
            lot(3, 7, TODAY + timedelta(days=30)), lot(4, 9, TODAY + timedelta(days=31)),
            lot(5, 4, TODAY), lot(6, 8, TODAY + timedelta(days=2), account=PENDING)]
    assert expiring_soon(lots, TODAY, 30) == [(TODAY + timedelta(days=3), 15),
                                              (TODAY + timedelta(days=30), 7)]


def test_the_local_date_is_where_the_customer_lives():
    late_evening_utc = datetime(2026, 3, 1, 18, 30, tzinfo=timezone.utc)
    assert local_date(late_evening_utc, "Asia/Ho_Chi_Minh") == date(2026, 3, 2)


lots_strategy = st.lists(
    st.tuples(st.integers(1, 500), st.one_of(st.none(), st.integers(-5, 60))), max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(lots_strategy, st.integers(1, 3000))
def test_a_debit_takes_exactly_what_was_asked_never_more_than_a_lot_holds(shape, points):
    lots = [lot(i + 1, n, None if d is None else TODAY + timedelta(days=d)) for i, (n, d) in enumerate(shape)]
    spendable = sum(l.remaining for l in lots if l.expires_on is None or l.expires_on > TODAY)
    if points > spendable:
        with pytest.raises(InsufficientPoints):
            plan_debit("c1", lots, points, TODAY)
        return
    plan = plan_debit("c1", lots, points, TODAY)
    plan.check()
    after = {l.id: l.remaining for l in apply(lots, plan)}
    assert plan.points(AVAILABLE) == -points
    assert all(0 <= after[l.id] <= l.remaining for l in lots)
    taken = [l for l in lots if after[l.id] < l.remaining]
    untouched_sooner = [l for l in lots if after[l.id] == l.remaining and l.remaining > 0
                        and (l.expires_on is None or l.expires_on > TODAY)
                        and any(_sooner(l, t) for t in taken)]
    assert untouched_sooner == []


def _sooner(candidate: LotState, taken: LotState) -> bool:
    """Whether `candidate` should have been spent before `taken`."""
    return spend_order(candidate) < spend_order(taken)
