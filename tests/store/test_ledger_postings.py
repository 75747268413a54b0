"""Earning, spending, refunding, adjusting and reversing points, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from loyalty.errors import DuplicatePosting, FieldErrors, InsufficientPoints, NotReversible, UnknownCustomer
from loyalty.store import ledger
from loyalty.store.tables import AuditRecord, LotAllocation, Lot
from ledger_helpers import (
    T0, add_customer, remaining_by_reference, status_points_on_customer, transaction_count,
)

TODAY = date(2026, 1, 10)


@pytest.fixture
def customer(store):
    add_customer(store)
    return store


def _earn(session, reference, points, expires_on=None, **more):
    return ledger.earn(session, "c1", points=points, occurred_at=T0, reference=reference,
                       programme="loyal-thanks", expires_on=expires_on, **more)


def test_earned_points_are_spendable_and_count_once_per_award(customer):
    with customer.transaction() as session:
        posted = _earn(session, "award-1", 500, date(2027, 1, 10))
    assert (posted.points, posted.pending_points, len(posted.lot_ids)) == (500, 0, 1)
    with customer.transaction() as session, pytest.raises(DuplicatePosting):
        _earn(session, "award-1", 500)
    with customer.reading() as session:
        assert ledger.balance(session, "c1", TODAY).reward_points == 500
        assert ledger.verify(session) == []


def test_an_unknown_customer_earns_nothing(customer):
    with customer.transaction() as session, pytest.raises(UnknownCustomer):
        ledger.earn(session, "nobody", points=1, occurred_at=T0, reference="a")


def test_a_spend_takes_the_soonest_expiring_points_first_across_lots(customer):
    with customer.transaction() as session:
        _earn(session, "never", 100)
        _earn(session, "late", 100, date(2026, 12, 1))
        _earn(session, "soon", 100, date(2026, 6, 1))
        ledger.spend(session, "c1", 150, occurred_at=T0, reference="redemption-1", actor="c1")
    with customer.reading() as session:
        assert remaining_by_reference(session) == {"never": 100, "late": 50, "soon": 0}
        assert ledger.verify(session) == []


def test_a_spend_larger_than_the_balance_is_refused_and_takes_nothing(customer):
    with customer.transaction() as session:
        _earn(session, "a1", 80)
        _earn(session, "pending", 500, vests_on=date(2026, 2, 10))
    with customer.transaction() as session, pytest.raises(InsufficientPoints) as refused:
        ledger.spend(session, "c1", 100, occurred_at=T0, reference="r1", actor="c1")
    assert (refused.value.available, refused.value.requested) == (80, 100)
    with customer.reading() as session:
        assert transaction_count(session) == 2
        assert ledger.balance(session, "c1", TODAY).reward_points == 80


def test_points_expiring_today_cannot_be_spent_even_before_the_nightly_run(customer):
    with customer.transaction() as session:
        _earn(session, "a1", 80, TODAY)
    with customer.transaction() as session, pytest.raises(InsufficientPoints):
        ledger.spend(session, "c1", 10, occurred_at=T0, reference="r1", actor="c1")


def test_a_refund_puts_the_points_back_into_the_very_lots_the_spend_took(customer):
    with customer.transaction() as session:
        _earn(session, "soon", 100, date(2026, 6, 1))
        _earn(session, "late", 100, date(2026, 12, 1))
        _earn(session, "other", 100, date(2026, 3, 1))
        _earn(session, "other2", 10, date(2026, 3, 1))
        spent = ledger.spend(session, "c1", 150, occurred_at=T0, reference="r1", actor="c1")
        ledger.spend(session, "c1", 110, occurred_at=T0, reference="r2", actor="c1")
    with customer.transaction() as session:
        refunded = ledger.refund(session, spent.transaction_id, occurred_at=T0, actor="billing")
    assert refunded.points == 150 and refunded.follow_ups == ()
    with customer.reading() as session:
        consumed = session.execute(
            select(LotAllocation.lot_id, LotAllocation.amount)
            .where(LotAllocation.transaction_id.in_([spent.transaction_id, refunded.transaction_id]))
        ).all()
        assert sorted(a for _, a in consumed if a < 0) == sorted(-a for _, a in consumed if a > 0)
        # r1 took other, other2 and 40 of soon; r2 then took soon's last 60 and 50 of late
        assert remaining_by_reference(session) == {"other": 100, "other2": 10, "soon": 40, "late": 50}
        assert ledger.verify(session) == []
    with customer.transaction() as session, pytest.raises(NotReversible):
        ledger.refund(session, spent.transaction_id, occurred_at=T0, actor="billing")


def test_points_refunded_into_an_expired_lot_expire_again_at_once(customer):
    with customer.transaction() as session:
        _earn(session, "short", 100, date(2026, 2, 1))
        _earn(session, "long", 100, date(2026, 12, 1))
        spent = ledger.spend(session, "c1", 150, occurred_at=T0, reference="r1", actor="c1")
    with customer.transaction() as session:
        refunded = ledger.refund(session, spent.transaction_id, occurred_at=T0, actor="billing",
                                 today=date(2026, 2, 1))
    [expired] = refunded.follow_ups
    assert (refunded.points, expired.kind, expired.points) == (150, "expire", -100)
    with customer.reading() as session:
        assert ledger.balance(session, "c1", date(2026, 2, 1)).reward_points == 100
        assert ledger.verify(session) == []


def test_an_adjustment_needs_a_reason_and_leaves_an_audit_row(customer):
    with customer.transaction() as session, pytest.raises(FieldErrors) as refused:
        ledger.adjust(session, "c1", 50, occurred_at=T0, actor="lan.nguyen", reason=" ")
    assert "reason" in refused.value.errors
    with customer.transaction() as session:
        ledger.adjust(session, "c1", 50, occurred_at=T0, actor="lan.nguyen",
                      reason="Bù điểm do lỗi hệ thống", ruleset_version="v7")
        down = ledger.adjust(session, "c1", -20, occurred_at=T0, actor="lan.nguyen", reason="Sửa sai")
    assert down.points == -20
    with customer.reading() as session:
        audits = session.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
        assert [(a.action, a.actor, a.reason) for a in audits] == [
            ("ledger.adjust", "lan.nguyen", "Bù điểm do lỗi hệ thống"),
            ("ledger.adjust", "lan.nguyen", "Sửa sai"),
        ]
        assert audits[0].ruleset_version == "v7" and audits[0].details["points"] == 50
        assert ledger.balance(session, "c1", TODAY).reward_points == 30


def test_a_negative_adjustment_cannot_take_the_balance_below_zero(customer):
    with customer.transaction() as session:
        _earn(session, "a1", 10)
    with customer.transaction() as session, pytest.raises(InsufficientPoints):
        ledger.adjust(session, "c1", -11, occurred_at=T0, actor="lan", reason="typo")


def test_status_points_are_kept_apart_and_mirrored_on_the_customer(customer):
    with customer.transaction() as session:
        ledger.earn(session, "c1", points=100, status_points=40, occurred_at=T0, reference="a1")
        ledger.spend(session, "c1", 100, occurred_at=T0, reference="r1", actor="c1")
        ledger.adjust(session, "c1", -15, occurred_at=T0, actor="lan", reason="duplicate award",
                      currency="status")
    with customer.reading() as session:
        seen = ledger.balance(session, "c1", TODAY)
        assert (seen.reward_points, seen.status_points) == (0, 25)
        assert status_points_on_customer(session) == 25
        assert ledger.verify(session) == []


def test_reversing_an_award_posts_its_mirror_image_once(customer):
    with customer.transaction() as session:
        earned = ledger.earn(session, "c1", points=70, status_points=5, occurred_at=T0, reference="a1")
    with customer.transaction() as session:
        reversed_ = ledger.reverse(session, earned.transaction_id, occurred_at=T0, actor="lan",
                                   reason="rule misconfigured")
    assert (reversed_.kind, reversed_.points, reversed_.status_points) == ("reverse", -70, -5)
    with customer.transaction() as session, pytest.raises(NotReversible):
        ledger.reverse(session, earned.transaction_id, occurred_at=T0, actor="lan", reason="again")
    with customer.reading() as session:
        assert session.scalar(select(Lot.remaining)) == 0
        assert status_points_on_customer(session) == 0
        assert ledger.verify(session) == []


def test_an_award_already_partly_spent_is_not_reversed_but_clawed_back(customer):
    with customer.transaction() as session:
        earned = _earn(session, "a1", 70)
        ledger.spend(session, "c1", 10, occurred_at=T0, reference="r1", actor="c1")
    with customer.transaction() as session, pytest.raises(NotReversible):
        ledger.reverse(session, earned.transaction_id, occurred_at=T0, actor="lan", reason="oops")


def test_every_posting_writes_one_audit_row_in_the_same_transaction(customer):
    with customer.transaction() as session:
        _earn(session, "a1", 70, ruleset_version="abc123")
        ledger.spend(session, "c1", 10, occurred_at=T0 + timedelta(hours=1), reference="r1", actor="c1")
    with customer.reading() as session:
        audits = session.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
        assert [(a.action, a.customer_id, a.ruleset_version) for a in audits] == [
            ("ledger.earn", "c1", "abc123"), ("ledger.spend", "c1", None)]
        assert audits[1].occurred_at == T0 + timedelta(hours=1)


def test_reversing_a_negative_adjustment_gives_the_points_back_to_the_lots_it_took(customer):
    with customer.transaction() as session:
        _earn(session, "a1", 100, date(2026, 6, 1))
        _earn(session, "a2", 100)
        taken = ledger.adjust(session, "c1", -150, occurred_at=T0, actor="lan", reason="nhầm")
    with customer.transaction() as session:
        back = ledger.reverse(session, taken.transaction_id, occurred_at=T0, actor="lan",
                              reason="the correction was itself wrong")
    assert (back.kind, back.points, back.follow_ups) == ("reverse", 150, ())
    with customer.reading() as session:
        assert remaining_by_reference(session) == {"a1": 100, "a2": 100}
        assert ledger.verify(session) == []
