"""Statements sent at driver level store exactly what SQLAlchemy's path would, and fail the same way."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import String, bindparam, insert, literal_column, select, update
from sqlalchemy.exc import IntegrityError

from ledger_helpers import add_customer
from loyalty.store import driver
from loyalty.store.driver import DriverStatement, execute_together
from loyalty.store.tables import Award, Customer
from loyalty.store.tables.audit import AuditRecord

WHEN = datetime(2026, 11, 25, 3, 0, 5, 123456, tzinfo=timezone(timedelta(hours=7)))
AUDIT = DriverStatement(insert(AuditRecord.__table__).returning(AuditRecord.__table__.c.id))
RENAME = DriverStatement(update(Customer.__table__).where(Customer.__table__.c.id == bindparam("customer_id"))
                         .values(name=bindparam("name")))
RENAME_RETURNING = DriverStatement(update(Customer.__table__).where(Customer.__table__.c.id == bindparam("customer_id"))
                                   .values(name=bindparam("name")).returning(Customer.__table__.c.id))


def audit_row(**changes) -> dict:
    return {"actor": "rules", "action": "award.granted", "subject_type": "award", "subject_id": "7",
            "occurred_at": WHEN, "customer_id": None, "reason": "quà tri ân", "ruleset_version": "v1",
            "details": {"points": 5, "ghi_chú": "Cảm ơn quý khách", "on": "2026-11-25"}, **changes}


def test_values_are_stored_as_the_orm_reads_them_back_and_returning_gives_the_id(store):
    before = driver.executed
    with store.transaction() as session:
        (row_id,), = AUDIT.execute(session, audit_row())
    with store.reading() as session:
        stored = session.get(AuditRecord, row_id)
        assert stored.occurred_at == WHEN and stored.occurred_at.utcoffset() == timedelta(0)
        assert stored.reason == "quà tri ân"
        assert stored.details == {"points": 5, "ghi_chú": "Cảm ơn quý khách", "on": "2026-11-25"}
    assert driver.executed == before + 1


def test_an_update_and_many_rows_at_once(store):
    add_customer(store, "c-1")
    add_customer(store, "c-2")
    with store.transaction() as session:
        RENAME.execute_many(session, [{"customer_id": "c-1", "name": "Công ty Bình Minh"},
                                      {"customer_id": "c-2", "name": "Nhà hàng Sông Hồng"}])
    with store.reading() as session:
        names = dict(session.execute(select(Customer.id, Customer.name).order_by(Customer.id)).all())
    assert names == {"c-1": "Công ty Bình Minh", "c-2": "Nhà hàng Sông Hồng"}


def test_a_broken_constraint_is_sqlalchemys_integrity_error_and_nothing_of_the_transaction_stays(store):
    award = DriverStatement(insert(Award.__table__))
    with pytest.raises(IntegrityError):
        with store.transaction() as session:
            AUDIT.execute(session, audit_row(subject_id="8"))
            award.execute(session, {"customer_id": "nobody", "rule_id": "r", "programme_id": "p",
                                    "ruleset_version": "v1", "event_id": None, "contract_id": None,
                                    "once_key": "k", "awarded_on": date(2026, 11, 25), "points": 1,
                                    "status_points": 0, "expires_on": None, "vests_on": None, "reward": None,
                                    "membership": None, "tier": None, "goodwill": None, "clawback_on": None,
                                    "status": "granted", "created_at": WHEN})
    with store.reading() as session:
        assert session.scalars(select(AuditRecord).where(AuditRecord.subject_id == "8")).all() == []


def test_an_insert_that_leaves_out_a_python_side_default_is_refused_before_it_runs(store):
    with store.transaction() as session:
        with pytest.raises(ValueError, match="customers: give locale"):
            DriverStatement(insert(Customer.__table__)).execute(
                session, {"id": "c-9", "name": "Khách mới", "segment": "sme", "customer_since": date(2026, 1, 1)})


AUDIT_ONLY = DriverStatement(insert(AuditRecord.__table__))


def _audit_reasons(store) -> list[str]:
    with store.reading() as session:
        return list(session.scalars(select(AuditRecord.reason).order_by(AuditRecord.id)))


def test_a_write_with_the_commit_is_stored_with_its_values_as_any_other(store):
    add_customer(store, "c-1")
    with store.transaction() as session:
        RENAME.execute_with_commit(session, {"customer_id": "c-1", "name": "Cửa hàng 'Hoa Sen'; DROP TABLE x"})
        AUDIT_ONLY.execute_with_commit(session, audit_row())
    with store.reading() as session:
        assert session.get(Customer, "c-1").name == "Cửa hàng 'Hoa Sen'; DROP TABLE x"
        stored = session.scalars(select(AuditRecord)).one()
        assert stored.occurred_at == WHEN and stored.details["ghi_chú"] == "Cảm ơn quý khách"


def test_a_write_with_the_commit_that_fails_takes_the_whole_transaction_with_it(store):
    add_customer(store, "c-1")
    with pytest.raises(IntegrityError):
        with store.transaction() as session:
            RENAME.execute(session, {"customer_id": "c-1", "name": "renamed before"})
            AUDIT_ONLY.execute_with_commit(session, audit_row(actor=None))  # actor is NOT NULL
    with store.reading() as session:
        assert session.get(Customer, "c-1").name != "renamed before"
    assert _audit_reasons(store) == []


def test_a_rolled_back_transaction_drops_its_writes_for_the_commit(store):
    with pytest.raises(RuntimeError):
        with store.transaction() as session:
            AUDIT_ONLY.execute_with_commit(session, audit_row(reason="rolled back"))
            raise RuntimeError("the unit of work fails after its last write")
    with store.transaction() as session:  # the pool hands out the same connection: nothing of before
        AUDIT_ONLY.execute_with_commit(session, audit_row(reason="committed"))
    assert _audit_reasons(store) == ["committed"]


def test_a_value_used_twice_and_a_literal_percent_sign_reach_the_database_as_written(store):
    add_customer(store, "c-1")
    add_customer(store, "c-2")
    customers = Customer.__table__
    name = bindparam("name")
    same_name_twice = DriverStatement(
        select(customers.c.id, literal_column("'100%'", String) + name)
        .where(customers.c.name.like(literal_column("'%'", String) + name + "%") | (customers.c.id == name))
        .order_by(customers.c.id))
    with store.transaction() as session:
        RENAME.execute(session, {"customer_id": "c-2", "name": "Công ty 50% Bình An"})
        rows = same_name_twice.execute(session, {"name": "50% Bình"})
    assert rows == [("c-2", "100%50% Bình")]


def test_statements_run_together_each_see_the_one_before_and_fail_as_one(store):
    add_customer(store, "c-1")
    names = DriverStatement(select(Customer.__table__.c.name).where(Customer.__table__.c.id == bindparam("customer_id")))
    with store.transaction() as session:
        renamed, read = execute_together(session, [(RENAME_RETURNING, {"customer_id": "c-1", "name": "Hợp tác xã Tân Phú"}),
                                                   (names, {"customer_id": "c-1"})])
    assert renamed == [("c-1",)] and read == [("Hợp tác xã Tân Phú",)]

    with pytest.raises(IntegrityError):
        with store.transaction() as session:
            execute_together(session, [(RENAME_RETURNING, {"customer_id": "c-1", "name": "đổi tên"}),
                                       (AUDIT, audit_row(actor=None))])  # actor is NOT NULL
    with store.reading() as session:
        assert session.get(Customer, "c-1").name == "Hợp tác xã Tân Phú"
