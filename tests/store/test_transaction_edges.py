"""On PostgreSQL the single-event lane sends BEGIN with its first statements and COMMIT with its last.

What a user of the store would check: the lane's unit of work is still one transaction (a failure
in its last round trip leaves nothing of the event behind, and billing's resend applies it once),
and the connection goes back to the pool as it was, so the next unit of work on it is a
transaction too, not a string of autocommitted statements.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from ingest_support import (
    RECEIVED, contract_signed, customer_upserted, invoice_paid, lane_outcomes, points_of, ruleset,
)
from ledger_helpers import add_customer
from loyalty.services.ingest import ingest
from loyalty.store import Store
from loyalty.store.driver import DriverStatement, execute_together
from loyalty.store.tables import Award, Customer, Event

RULES = ruleset("""
    programme: invoices
    name: "Hóa đơn"
    rules:
      - id: invoice-points
        on: invoice.paid
        then: {points: {per: 10000, of: event.amount}}
    """)
PID = DriverStatement(select(func.pg_backend_pid()))


def _one_connection(store: Store) -> None:
    """One connection in the pool, and customer C1 with a contract, in a programme that gave before
    (its first award ever creates the programme's accounts, which the lane leaves to the general path)."""
    store.engine.dispose()
    for item in (customer_upserted("u1", "C1"), contract_signed("s1", "K1", 1_000_000, customer_id="C1"),
                 customer_upserted("u2", "C2"), invoice_paid("first", 100_000, "C2")):
        ingest(store, RULES, item, RECEIVED)


def _autocommit_of_pooled(store: Store) -> bool:
    with store.engine.connect() as connection:
        return connection.connection.driver_connection.autocommit


def _rows(store: Store, table) -> int:
    with store.reading() as session:
        return session.scalar(select(func.count()).select_from(table))


def test_an_awarded_event_takes_the_lane_and_leaves_its_connection_out_of_autocommit(postgresql_store, monkeypatch):
    _one_connection(postgresql_store)
    taken = lane_outcomes(monkeypatch)

    given = ingest(postgresql_store, RULES, invoice_paid("i1", 500_000, "C1"), RECEIVED)
    nothing = ingest(postgresql_store, RULES, invoice_paid("i2", 5_000, "C1"), RECEIVED)

    assert [len(r.awards) for r in taken] == [1, 0]  # both answered by the lane
    assert given.awards[0].points == 50 and not nothing.awards
    assert points_of(postgresql_store, "C1")[0] == 50
    assert _autocommit_of_pooled(postgresql_store) is False


def test_a_unit_of_work_after_the_lane_is_still_one_transaction(postgresql_store):
    _one_connection(postgresql_store)
    ingest(postgresql_store, RULES, invoice_paid("i1", 500_000, "C1"), RECEIVED)

    def rename_then_fail(session):
        session.get(Customer, "C1").name = "Công ty Bình Minh"
        session.flush()
        raise RuntimeError("the work changed its mind")

    with pytest.raises(RuntimeError):
        postgresql_store.run(rename_then_fail)
    with postgresql_store.reading() as session:
        assert session.get(Customer, "C1").name != "Công ty Bình Minh"


def test_a_failed_award_round_trip_writes_nothing_and_the_resend_applies_once(postgresql_store):
    _one_connection(postgresql_store)
    with postgresql_store.engine.begin() as connection:  # the database refuses this one event's audit rows
        connection.execute(text("""
            CREATE FUNCTION refuse_i1() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.reason LIKE '%i1%' OR NEW.details::text LIKE '%i1%' THEN
              RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER refuse_i1 BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_i1();"""))
    events_before, awards_before = _rows(postgresql_store, Event), _rows(postgresql_store, Award)
    try:
        with pytest.raises(DBAPIError, match="refused for the test"):
            ingest(postgresql_store, RULES, invoice_paid("i1", 500_000, "C1"), RECEIVED)
        assert (_rows(postgresql_store, Event), _rows(postgresql_store, Award)) == (events_before, awards_before)
        assert _autocommit_of_pooled(postgresql_store) is False
    finally:
        with postgresql_store.engine.begin() as connection:
            connection.execute(text("DROP TRIGGER refuse_i1 ON audit_log; DROP FUNCTION refuse_i1()"))

    first = ingest(postgresql_store, RULES, invoice_paid("i1", 500_000, "C1"), RECEIVED)
    again = ingest(postgresql_store, RULES, invoice_paid("i1", 500_000, "C1"), RECEIVED)
    assert first.awards and again.replayed and again.awards == first.awards
    assert points_of(postgresql_store, "C1")[0] == 50


def test_commit_cannot_go_with_statements_while_the_work_has_more_to_write(postgresql_store):
    add_customer(postgresql_store)

    def rename_then_commit(session):
        session.get(Customer, "c1").name = "Nhà sách Phương Nam"  # not flushed
        execute_together(session, [(PID, {})], commit=True)

    with pytest.raises(RuntimeError, match="more to write"):
        postgresql_store.run(rename_then_commit)
    with postgresql_store.reading() as session:
        assert session.get(Customer, "c1").name != "Nhà sách Phương Nam"


def test_begin_and_commit_change_nothing_on_sqlite(sqlite_store):
    add_customer(sqlite_store)
    seen = []

    def rename_read_then_fail(session):
        session.get(Customer, "c1").name = "Quán cà phê Hạ Long"
        session.flush()
        seen.extend(execute_together(session, [(DriverStatement(select(Customer.__table__.c.name)), {})],
                                     begin=True, commit=True))
        raise RuntimeError("the work changed its mind")

    with pytest.raises(RuntimeError):
        sqlite_store.run(rename_read_then_fail)
    assert seen == [[("Quán cà phê Hạ Long",)]]  # the statements ran in the work's transaction
    with sqlite_store.reading() as session:  # which committed nothing early: the rename is gone
        assert session.get(Customer, "c1").name != "Quán cà phê Hạ Long"
