"""The verifier finds nothing wrong in a ledger the API wrote, and names the rows someone tampered with."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from loyalty.store import ledger
from loyalty.store.tables import LedgerAccount, LedgerEntry
from ledger_helpers import T0, add_customer


@pytest.fixture
def busy(store):
    """A ledger with every kind of posting in it."""
    add_customer(store)
    add_customer(store, "c2", "Công ty Cổ phần Đại Việt")
    with store.transaction() as session:
        ledger.earn(session, "c1", points=500, status_points=30, occurred_at=T0, reference="a1",
                    expires_on=date(2026, 6, 1))
        ledger.earn(session, "c1", points=200, occurred_at=T0, reference="a2", vests_on=date(2026, 2, 1))
        ledger.earn(session, "c2", points=90, occurred_at=T0, reference="a3")
        spent = ledger.spend(session, "c1", 120, occurred_at=T0, reference="r1", actor="c1")
        ledger.refund(session, spent.transaction_id, occurred_at=T0, actor="billing")
        ledger.spend(session, "c1", 100, occurred_at=T0, reference="r2", actor="c1")
        ledger.vest(session, "c1", date(2026, 2, 1), occurred_at=T0)
        ledger.adjust(session, "c2", -40, occurred_at=T0, actor="lan", reason="sai sót")
        ledger.clawback(session, "c2", ["a3"], reference="cancel", occurred_at=T0, actor="billing")
        ledger.expire(session, "c1", date(2026, 6, 1), occurred_at=T0)
    return store


def test_a_ledger_written_through_the_api_verifies_clean(busy):
    with busy.reading() as session:
        assert ledger.verify(session) == []
        counts = ledger.summary(session)
    assert (counts.transactions, counts.accounts) == (10, 14)  # 3 per customer, 8 of the programme


def _checks(store) -> dict[str, tuple]:
    with store.reading() as session:
        return {problem.check: problem.ids for problem in ledger.verify(session)}


def test_a_balance_changed_by_hand_is_named_with_its_account_id(busy):
    with busy.transaction() as session:
        account = session.scalar(
            select(LedgerAccount.id).where(LedgerAccount.code == "customer:c1:available"))
        session.execute(text("UPDATE ledger_accounts SET balance = balance + 7 WHERE id = :id"),
                        {"id": account})
    found = _checks(busy)
    assert found["balances that differ from the sum of their entries"] == (account,)
    assert found["balances that differ from the points left in their lots"] == (account,)


def test_an_entry_changed_by_hand_unbalances_its_transaction(busy):
    with busy.transaction() as session:
        entry = session.scalar(select(LedgerEntry).order_by(LedgerEntry.id).limit(1))
        session.execute(text("UPDATE ledger_entries SET amount = amount - 1 WHERE id = :id"),
                        {"id": entry.id})
    found = _checks(busy)
    assert found["transactions whose entries do not sum to zero"] == (entry.transaction_id,)


def test_a_deleted_allocation_leaves_its_lot_disagreeing(busy):
    with busy.transaction() as session:
        lot_id, allocation_id = session.execute(text(
            "SELECT lot_id, id FROM ledger_allocations WHERE amount < 0 ORDER BY id LIMIT 1")).one()
        session.execute(text("DELETE FROM ledger_allocations WHERE id = :id"), {"id": allocation_id})
    found = _checks(busy)
    assert found["lots whose remaining differs from their allocations"] == (lot_id,)
    assert "transactions whose lot allocations differ from their entries" in found


def test_status_points_changed_on_the_customer_alone_are_named(busy):
    with busy.transaction() as session:
        session.execute(text("UPDATE customers SET status_points = 999 WHERE id = 'c2'"))
    assert _checks(busy)["customers whose status points differ from their status account"] == ("c2",)


def test_the_database_itself_refuses_a_negative_customer_balance(busy):
    with pytest.raises(IntegrityError), busy.transaction() as session:
        session.execute(text("UPDATE ledger_accounts SET balance = -1 WHERE code = 'customer:c2:available'"))


def test_history_lists_entries_newest_first_page_by_page(busy):
    seen, before = [], None
    with busy.reading() as session:
        while True:
            page = ledger.history(session, "c1", limit=3, before_id=before)
            seen += page.entries
            if page.next_before_id is None:
                break
            before = page.next_before_id
    ids = [entry.entry_id for entry in seen]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids))
    assert [e.kind for e in seen][-1] == "earn" and seen[0].kind == "expire"
    assert {e.reference for e in seen if e.kind in ("spend", "refund")} == {"r1", "r2"}
    with busy.reading() as session:
        spendable = ledger.balance(session, "c1", date(2026, 6, 1)).reward_points
    assert sum(e.points for e in seen if e.account == "available") == spendable == 200
    assert sum(e.points for e in seen if e.account == "status") == 30


def test_expiring_soon_lists_points_by_the_day_they_are_gone_within_the_horizon(store):
    add_customer(store)
    with store.transaction() as session:
        for reference, points, day in (("a", 100, date(2026, 6, 1)), ("b", 50, date(2026, 6, 1)),
                                       ("c", 70, date(2026, 7, 1)), ("d", 10, None)):
            ledger.earn(session, "c1", points=points, occurred_at=T0, reference=reference, expires_on=day)
        ledger.spend(session, "c1", 30, occurred_at=T0, reference="r1", actor="c1")
    with store.reading() as session:
        assert ledger.expiring_soon(session, "c1", date(2026, 5, 15)) == [(date(2026, 6, 1), 120)]
        assert ledger.expiring_soon(session, "c1", date(2026, 4, 1)) == []
        assert ledger.balance(session, "c1", date(2026, 6, 1)).expiring_soon == [(date(2026, 7, 1), 70)]
