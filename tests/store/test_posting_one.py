"""On PostgreSQL a posting goes in one statement (`posting_one`): the rows must be those `write_plan`'s
statements write one by one, for every kind of posting, and a failure must write nothing."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from loyalty.ledger import NewLot, Plan, customer_account, system_account
from loyalty.store import ledger
from loyalty.store.ledger import posting, posting_one
from loyalty.store.ledger.accounts import lock_accounts
from loyalty.store.ledger.operations import posting_accounts
from loyalty.store.tables import (
    AuditRecord, Customer, LedgerAccount, LedgerEntry, LedgerTransaction, Lot, LotAllocation,
)
from ledger_helpers import T0, add_customer
from tests.conftest import empty_all_tables

JUNE_1 = date(2026, 6, 1)
TABLES = (LedgerAccount, LedgerTransaction, LedgerEntry, Lot, LotAllocation, AuditRecord)
REFERENCES = {  # a column holding another row's id, and the table of that row
    "account_id": LedgerAccount, "transaction_id": LedgerTransaction, "reverses_id": LedgerTransaction,
    "created_by_id": LedgerTransaction, "lot_id": Lot, "origin_lot_id": Lot,
}


def _every_kind_of_posting(store) -> None:
    """Earnings available, pending and in status points, spends over several lots, adjustments both
    ways, a refund, a reversal, vesting, expiry, a void and a clawback (which revokes lots)."""
    add_customer(store)
    add_customer(store, "c2", "Hộ kinh doanh Bình Minh")
    with store.transaction() as session:
        ledger.earn(session, "c1", points=100, occurred_at=T0, reference="award:1", expires_on=JUNE_1,
                    programme="welcome")
        ledger.earn(session, "c1", points=50, status_points=20, occurred_at=T0, reference="award:2",
                    programme="renewal", audited_as=_award_audit(2))
        ledger.earn(session, "c1", points=30, occurred_at=T0, reference="award:3", vests_on=JUNE_1)
        ledger.earn(session, "c2", points=40, occurred_at=T0, reference="award:4", vests_on=JUNE_1)
    with store.transaction() as session:
        spent = ledger.spend(session, "c1", 120, occurred_at=T0, reference="r1", actor="c1", reason="Ưu đãi")
        ledger.adjust(session, "c1", 15, occurred_at=T0, actor="staff", reason="bù lỗi hoá đơn")
        ledger.adjust(session, "c1", -5, occurred_at=T0, actor="staff", reason="sửa nhầm")
        ledger.adjust(session, "c1", 7, occurred_at=T0, actor="staff", reason="status", currency="status")
    with store.transaction() as session:
        ledger.refund(session, spent.transaction_id, occurred_at=T0 + timedelta(days=1), actor="c1")
        award_5 = ledger.earn(session, "c1", points=9, occurred_at=T0, reference="award:5")
        ledger.reverse(session, award_5.transaction_id, occurred_at=T0, actor="staff", reason="nhầm")
    with store.transaction() as session:
        ledger.vest(session, "c1", JUNE_1, occurred_at=T0 + timedelta(days=150))
        ledger.expire(session, "c1", JUNE_1, occurred_at=T0 + timedelta(days=150))
        ledger.void_pending(session, "c2", ["award:4"], reference="void:4", occurred_at=T0, actor="rules")
        ledger.clawback(session, "c1", ["award:2"], reference="claw:2", occurred_at=T0, actor="rules")


def _award_audit(award_id: int) -> dict:
    return dict(actor="rules", action="award.granted", subject_type="award", subject_id=award_id,
                occurred_at=T0, customer_id="c1", reason="rule renewal on event e-2",
                ruleset_version="v1", details={"points": 50, "ghi_chú": "gia hạn"})


def _rows(store) -> dict[str, list[tuple]]:
    """Every ledger and audit row in id order, each id replaced by the row's place in its table (ids
    differ between runs: sequences are not reset), and the customers' status points."""
    with store.reading() as session:
        places = {table: {row_id: n for n, row_id in enumerate(session.scalars(
            select(table.id).order_by(table.id)))} for table in TABLES}
        rows = {}
        for table in TABLES:
            columns = [c for c in table.__table__.columns if c.key != "id"]
            rows[table.__tablename__] = [
                tuple(places[REFERENCES[c.key]].get(value) if c.key in REFERENCES and value is not None
                      else _subject(value, row, places) if c.key == "subject_id" else value
                      for c, value in zip(columns, row))
                for row in session.execute(select(*columns).order_by(table.id))
            ]
        rows["customers"] = list(session.execute(select(Customer.id, Customer.status_points).order_by(Customer.id)))
    return rows


def _subject(value, row, places):
    """An audit row's subject: a transaction's id becomes its place; other subjects stay as they are."""
    return f"tx#{places[LedgerTransaction].get(int(value))}" if "ledger_transaction" in row else value


def test_every_kind_of_posting_writes_the_rows_write_plan_writes(postgresql_store, monkeypatch):
    pg = postgresql_store
    one_statement = []
    write_in_one = posting.write_in_one_statement
    monkeypatch.setattr(posting, "write_in_one_statement", lambda *a, **k: one_statement.append(1) or write_in_one(*a, **k))
    _every_kind_of_posting(pg)
    in_one_statement = _rows(pg)

    empty_all_tables(pg)
    monkeypatch.setattr(posting, "fits_one_statement", lambda plan: False)
    _every_kind_of_posting(pg)
    statement_by_statement = _rows(pg)

    assert len(one_statement) >= 12  # all but the clawback, which revokes lots
    for table in statement_by_statement:
        assert in_one_statement[table] == statement_by_statement[table], table
    assert [row[2] for row in in_one_statement["audit_log"]][:4] == [
        "ledger.earn", "award.granted", "ledger.earn", "ledger.earn"]
    with pg.reading() as session:
        assert ledger.verify(session) == []


def test_a_posting_the_database_refuses_writes_nothing_of_itself(postgresql_store):
    pg = postgresql_store
    add_customer(pg)
    with pg.transaction() as session:
        lot_id = ledger.earn(session, "c1", points=10, occurred_at=T0, reference="award:1").lot_ids[0]
    with pytest.raises(IntegrityError, match="remaining_within_amount|customer_balance_not_negative"):
        with pg.transaction() as session:  # a plan the ledger never makes: more out than the account holds
            accounts = lock_accounts(session, posting_accounts("c1", "redemption"))
            plan = Plan("spend", "c1", "forced")  # 11 out of a lot of 10: balanced, but impossible
            plan.allocations.append((lot_id, "available", -11))
            plan.post(customer_account("c1", "available"), -11)
            plan.post(system_account("redemption", "reward"), 11)
            assert posting_one.fits_one_statement(plan)
            posting.write_plan(session, plan, accounts, ledger.Why(T0, "test"))
    with pg.reading() as session:
        assert session.scalar(select(LedgerTransaction.reference).order_by(LedgerTransaction.id.desc())) == "award:1"
        assert ledger.balance(session, "c1", JUNE_1).reward_points == 10
        assert ledger.verify(session) == []


def test_shapes_it_cannot_write_alike_take_write_plans_path():
    two_lots_one_account = Plan("vest", "c1", "d")
    for amount in (5, 6):
        lot = NewLot(customer_account("c1", "available"), amount, T0)
        two_lots_one_account.add_lot(lot, system_account("issuance", "reward"))
    revoking = Plan("clawback", "c1", "claw")
    revoking.revoke_lot_ids.append(7)
    vesting = Plan("vest", "c1", "2026-06-01")
    vesting.allocations.append((3, "pending", -5))
    vesting.post(customer_account("c1", "pending"), -5)
    vesting.new_lots.append(NewLot(customer_account("c1", "available"), 5, T0, origin_lot_id=3))
    vesting.post(customer_account("c1", "available"), 5)
    assert not posting_one.fits_one_statement(two_lots_one_account)
    assert not posting_one.fits_one_statement(revoking)
    assert not posting_one.fits_one_statement(vesting)
