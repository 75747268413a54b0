"""`loyalty ledger verify` as an operator runs it: a summary and exit 0, or the offenders and exit 1."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from loyalty.cli import main
from loyalty.store import Store, ledger
from loyalty.store.schema import create_schema
from loyalty.store.tables import Customer

T0 = datetime(2026, 1, 10, tzinfo=timezone.utc)


@pytest.fixture
def database(tmp_path):
    """A SQLite file with two customers who earned and spent points."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store = Store(url)
    create_schema(store.engine)
    with store.transaction() as session:
        for customer_id in ("c1", "c2"):
            session.add(Customer(id=customer_id, name="Công ty Hoà Bình", segment="sme",
                                 customer_since=date(2024, 1, 1)))
    with store.transaction() as session:
        ledger.earn(session, "c1", points=1_500, status_points=10, occurred_at=T0, reference="a1")
        ledger.earn(session, "c2", points=300, occurred_at=T0, reference="a2")
        ledger.spend(session, "c1", 200, occurred_at=T0, reference="r1", actor="c1")
    yield url, store
    store.dispose()


def _verify(url: str):
    return CliRunner().invoke(main, ["ledger", "verify"], env={"LOYALTY_DATABASE_URL": url})


def test_a_sound_ledger_verifies_with_a_summary_and_exit_0(database):
    url, _store = database
    result = _verify(url)
    assert result.exit_code == 0, result.output
    # accounts: c1's three (its spend locks all), c2's available one, issuance in both currencies, redemption
    assert result.output.strip() == "ledger OK: 3 transactions, 8 entries, 7 accounts, 3 lots"


def test_a_tampered_balance_fails_with_exit_1_naming_the_account(database):
    url, store = database
    with store.transaction() as session:
        account = session.execute(text(
            "SELECT id FROM ledger_accounts WHERE code = 'customer:c2:available'")).scalar_one()
        session.execute(text("UPDATE ledger_accounts SET balance = 3000 WHERE id = :id"), {"id": account})
    result = _verify(url)
    assert result.exit_code == 1
    assert f"balances that differ from the sum of their entries: 1 accounts: {account}" in result.output


def test_a_tampered_entry_fails_naming_its_transaction(database):
    url, store = database
    with store.transaction() as session:
        first = "SELECT MIN(id) FROM ledger_entries"
        session.execute(text(f"UPDATE ledger_entries SET amount = 5 WHERE id = ({first})"))
        transaction = session.execute(
            text(f"SELECT transaction_id FROM ledger_entries WHERE id = ({first})")).scalar_one()
    result = _verify(url)
    assert result.exit_code == 1
    assert f"transactions whose entries do not sum to zero: 1 transactions: {transaction}" in result.output
