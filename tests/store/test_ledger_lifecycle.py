"""Points that expire, vest, are voided in their cooling-off period or clawed back, on both databases."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from loyalty.store import ledger
from loyalty.store.tables import AuditRecord, Customer, LedgerTransaction
from ledger_helpers import (
    T0, add_customer, remaining_by_reference, status_points_on_customer, transaction_count,
)

JUNE_1 = date(2026, 6, 1)


@pytest.fixture
def customer(store):
    add_customer(store)
    return store


def _earn(session, reference, points, expires_on=None, customer_id="c1", **more):
    return ledger.earn(session, customer_id, points=points, occurred_at=T0, reference=reference,
                       expires_on=expires_on, **more)


def test_points_expire_on_their_expiry_day_and_running_it_again_posts_nothing(customer):
    with customer.transaction() as session:
        _earn(session, "due", 100, JUNE_1)
        _earn(session, "later", 100, date(2026, 6, 2))
        ledger.spend(session, "c1", 30, occurred_at=T0, reference="r1", actor="c1")
    with customer.transaction() as session:
        assert ledger.expire(session, "c1", date(2026, 5, 31), occurred_at=T0) is None
        expired = ledger.expire(session, "c1", JUNE_1, occurred_at=T0)
    assert (expired.kind, expired.points) == ("expire", -70)
    with customer.transaction() as session:
        before = transaction_count(session)
        assert ledger.expire(session, "c1", JUNE_1, occurred_at=T0) is None
        assert transaction_count(session) == before
    with customer.reading() as session:
        assert remaining_by_reference(session) == {"due": 0, "later": 100}
        assert ledger.balance(session, "c1", JUNE_1).reward_points == 100
        assert ledger.verify(session) == []


def test_the_nightly_work_list_names_only_customers_with_points_due(customer):
    add_customer(customer, "c2", "Hộ kinh doanh Bình Minh")
    add_customer(customer, "c3", "Nhà hàng Phở Việt")
    with customer.transaction() as session:
        _earn(session, "a", 10, JUNE_1)
        _earn(session, "b", 10, date(2026, 7, 1), customer_id="c2")
        _earn(session, "c", 10, customer_id="c3", vests_on=JUNE_1)
    with customer.reading() as session:
        assert ledger.customers_with_due_lots(session, JUNE_1) == ["c1", "c3"]


def test_pending_points_are_visible_but_not_spendable_until_they_vest(customer):
    with customer.transaction() as session:
        _earn(session, "welcome", 300, date(2027, 1, 10), vests_on=date(2026, 2, 9))
    with customer.reading() as session:
        seen = ledger.balance(session, "c1", date(2026, 2, 8))
        assert (seen.reward_points, seen.pending_points, seen.vesting) == (0, 300, [(date(2026, 2, 9), 300)])
    with customer.transaction() as session:
        assert ledger.vest(session, "c1", date(2026, 2, 8), occurred_at=T0) is None
        vested = ledger.vest(session, "c1", date(2026, 2, 9), occurred_at=T0)
        assert (vested.points, vested.pending_points) == (300, -300)
        assert ledger.vest(session, "c1", date(2026, 2, 9), occurred_at=T0) is None
        ledger.spend(session, "c1", 100, occurred_at=T0, reference="r1", actor="c1",
                     today=date(2026, 2, 9))
    with customer.reading() as session:
        seen = ledger.balance(session, "c1", date(2026, 2, 9))
        assert (seen.reward_points, seen.pending_points) == (200, 0)
        assert ledger.verify(session) == []


def test_voiding_in_the_cooling_off_period_takes_back_the_pending_points(customer):
    with customer.transaction() as session:
        _earn(session, "welcome", 300, vests_on=date(2026, 2, 9), status_points=50)
        _earn(session, "other", 40)
    with customer.transaction() as session:
        voided = ledger.void_pending(session, "c1", ["welcome"], reference="contract-9",
                                     occurred_at=T0, actor="billing", reason="huỷ trong 30 ngày")
    assert (voided.pending_points, voided.status_points, voided.shortfall) == (300, 50, 0)
    with customer.reading() as session:
        seen = ledger.balance(session, "c1", date(2026, 2, 9))
        assert (seen.reward_points, seen.pending_points, seen.status_points) == (40, 0, 0)
        assert status_points_on_customer(session) == 0
        assert ledger.verify(session) == []


def test_voiding_points_already_vested_and_spent_takes_only_what_is_left_and_records_the_rest(customer):
    with customer.transaction() as session:
        _earn(session, "welcome", 300, vests_on=date(2026, 2, 1))
        ledger.vest(session, "c1", date(2026, 2, 1), occurred_at=T0)
        ledger.spend(session, "c1", 120, occurred_at=T0, reference="r1", actor="c1",
                     today=date(2026, 2, 1))
    with customer.transaction() as session:
        voided = ledger.void_pending(session, "c1", ["welcome"], reference="contract-9",
                                     occurred_at=T0, actor="billing")
    assert (voided.points, voided.pending_points, voided.shortfall) == (180, 0, 120)
    with customer.reading() as session:
        recorded = session.scalar(select(LedgerTransaction).where(LedgerTransaction.kind == "void"))
        assert recorded.shortfall == 120
        assert ledger.balance(session, "c1", date(2026, 2, 1)).reward_points == 0
        assert ledger.verify(session) == []


def test_a_clawback_reverses_only_the_unspent_points_of_the_named_awards(customer):
    with customer.transaction() as session:
        _earn(session, "award-a", 100, JUNE_1, status_points=10)
        _earn(session, "award-b", 100, date(2026, 9, 1))
        _earn(session, "keep", 100)
        ledger.spend(session, "c1", 60, occurred_at=T0, reference="r1", actor="c1")
    with customer.transaction() as session:
        taken = ledger.clawback(session, "c1", ["award-a", "award-b"], reference="cancel-7",
                                occurred_at=T0, actor="billing", reason="contract.cancelled")
    assert (taken.points, taken.status_points, taken.shortfall) == (140, 10, 60)
    with customer.reading() as session:
        assert remaining_by_reference(session) == {"award-a": 0, "award-b": 0, "keep": 100}
        assert ledger.verify(session) == []


def test_a_refund_into_a_clawed_back_lot_is_clawed_back_at_once(customer):
    with customer.transaction() as session:
        _earn(session, "award-a", 100, JUNE_1)
        _earn(session, "keep", 100)
        spent = ledger.spend(session, "c1", 80, occurred_at=T0, reference="r1", actor="c1")
        ledger.clawback(session, "c1", ["award-a"], reference="cancel-7", occurred_at=T0, actor="billing")
    with customer.transaction() as session:
        refunded = ledger.refund(session, spent.transaction_id, occurred_at=T0, actor="billing")
    assert [(p.kind, p.points) for p in refunded.follow_ups] == [("clawback", -80)]
    with customer.reading() as session:
        assert ledger.balance(session, "c1", date(2026, 1, 10)).reward_points == 100
        assert ledger.verify(session) == []


def test_a_void_with_nothing_left_to_take_still_audits_the_shortfall(customer):
    with customer.transaction() as session:
        _earn(session, "welcome", 300, vests_on=date(2026, 2, 1))
        ledger.vest(session, "c1", date(2026, 2, 1), occurred_at=T0)
        ledger.spend(session, "c1", 300, occurred_at=T0, reference="r1", actor="c1",
                     today=date(2026, 2, 1))
    with customer.transaction() as session:
        voided = ledger.void_pending(session, "c1", ["welcome"], reference="contract-9",
                                     occurred_at=T0, actor="billing")
    assert (voided.points, voided.shortfall, voided.transaction_id) == (0, 300, None)
    with customer.reading() as session:
        audit = session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc())).first()
        assert (audit.action, audit.details["shortfall"]) == ("ledger.void", 300)
        assert ledger.verify(session) == []


def test_the_callers_customer_row_shows_status_points_moved_in_its_transaction(customer):
    with customer.transaction() as session:
        held = session.get(Customer, "c1")
        assert held.status_points == 0
        ledger.earn(session, "c1", status_points=25, occurred_at=T0, reference="a1")
        assert held.status_points == 25


def test_pending_points_that_expire_before_they_vest_are_expired_not_vested(customer):
    with customer.transaction() as session:
        _earn(session, "odd", 90, date(2026, 2, 1), vests_on=date(2026, 3, 1))
        expired = ledger.expire(session, "c1", date(2026, 2, 1), occurred_at=T0)
        assert (expired.pending_points, expired.points) == (-90, 0)
        assert ledger.vest(session, "c1", date(2026, 3, 1), occurred_at=T0) is None
    with customer.reading() as session:
        assert ledger.verify(session) == []
