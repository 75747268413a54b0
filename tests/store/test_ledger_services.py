"""The ledger's own use cases: a manual adjustment, settling a day for everyone, verifying."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from loyalty.errors import LedgerInvariantBroken
from loyalty.services.ledger_ops import adjust_points, settle_points, verify_ledger
from loyalty.store import ledger
from ledger_helpers import T0, add_customer

DAY = date(2026, 3, 1)


def test_settling_a_day_vests_and_expires_everyone_due_and_twice_changes_nothing(store):
    for customer_id in ("c1", "c2", "c3"):
        add_customer(store, customer_id)
    with store.transaction() as session:
        ledger.earn(session, "c1", points=100, occurred_at=T0, reference="a", expires_on=DAY)
        ledger.earn(session, "c2", points=40, occurred_at=T0, reference="b", vests_on=DAY)
        ledger.earn(session, "c3", points=70, occurred_at=T0, reference="c", expires_on=date(2026, 3, 2))
    first = settle_points(store, DAY, occurred_at=T0)
    assert (first.customers, first.vested, first.expired) == (2, 40, 100)
    again = settle_points(store, DAY, occurred_at=T0)
    assert (again.customers, again.vested, again.expired) == (0, 0, 0)
    with store.reading() as session:
        assert [ledger.balance(session, c, DAY).reward_points for c in ("c1", "c2", "c3")] == [0, 40, 70]
    assert verify_ledger(store).transactions == 5


def test_an_adjustment_is_its_own_transaction(store):
    add_customer(store)
    posted = adjust_points(store, "c1", 250, actor="lan.nguyen", reason="Khách hàng khiếu nại",
                           occurred_at=T0)
    with store.reading() as session:
        [entry, *_] = ledger.history(session, "c1").entries
    assert (entry.transaction_id, entry.kind, entry.reason, entry.actor) == (
        posted.transaction_id, "adjust", "Khách hàng khiếu nại", "lan.nguyen")


def test_verifying_a_tampered_ledger_names_every_problem(store):
    add_customer(store)
    adjust_points(store, "c1", 250, actor="lan", reason="test", occurred_at=T0)
    with store.transaction() as session:
        session.execute(text("UPDATE ledger_lots SET remaining = 10"))
    with pytest.raises(LedgerInvariantBroken) as broken:
        verify_ledger(store)
    assert {p.check for p in broken.value.problems} == {
        "balances that differ from the points left in their lots",
        "lots whose remaining differs from their allocations",
    }
