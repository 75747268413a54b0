"""The balance's prepared read: the ledger's own balance, one statement, SQLAlchemy's errors."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.exc import OperationalError

from ledger_helpers import add_customer
from loyalty.errors import UnknownCustomer
from loyalty.store import Store
from loyalty.store.ledger import balance
from loyalty.store.ledger.queries import held_points, summarise

TODAY = date(2026, 11, 25)


def test_a_customer_without_points_holds_nothing_and_an_unknown_one_is_refused(store):
    add_customer(store, "c-1")
    held = held_points(store.engine, "c-1")
    assert (held.lots, held.status_points, held.tier) == ([], 0, None)
    with store.reading() as session:
        assert summarise("c-1", held.lots, held.status_points, TODAY) == balance(session, "c-1", TODAY)
    with pytest.raises(UnknownCustomer):
        held_points(store.engine, "nobody")


def test_a_database_that_does_not_answer_raises_sqlalchemys_operational_error(tmp_path):
    unreachable = Store(f"sqlite:///{tmp_path / 'missing' / 'loyalty.db'}")
    with pytest.raises(OperationalError):
        held_points(unreachable.engine, "c-1")
