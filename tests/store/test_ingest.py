"""Ingesting billing's events: exactly once, refused whole when out of order, in the customer's day."""
from datetime import date, datetime, timezone

import pytest
from ingest_support import (
    AN_PHAT,
    RECEIVED,
    award_count,
    contract_signed,
    customer_upserted,
    event,
    invoice_paid,
    ledger_problems,
    points_of,
    ruleset,
)
from sqlalchemy import func, select

from loyalty.errors import DuplicateEvent, EventConflict, EventOutOfOrder, FieldErrors
from loyalty.services import ingest as ingest_module
from loyalty.services import ingest_batch as ingest_batch_module
from loyalty.services.ingest import MAX_BATCH, ingest, ingest_many
from loyalty.store.tables import Contract, Customer, Event

INVOICE_POINTS = ruleset("""
    programme: business-points
    name: "Tích điểm cho doanh nghiệp"
    rules:
      - id: points-on-paid-invoice
        on: invoice.paid
        then:
          points: {per: 10000, of: event.amount}
          expires_after: P12M
    """)


@pytest.fixture
def an_phat(store):
    ingest(store, INVOICE_POINTS, customer_upserted("evt-1"), RECEIVED)
    ingest(store, INVOICE_POINTS, contract_signed("evt-2", "K1", 3_000_000), RECEIVED)
    return store


def events_recorded(store) -> int:
    with store.reading() as session:
        return session.scalar(select(func.count()).select_from(Event))


def test_an_invoice_paid_twice_by_mistake_gives_points_once(an_phat):
    first = ingest(an_phat, INVOICE_POINTS, invoice_paid("evt-3", 5_000_000), RECEIVED)
    again = ingest(an_phat, INVOICE_POINTS, invoice_paid("evt-3", 5_000_000), RECEIVED)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.awards == first.awards and first.awards[0].points == 500
    assert points_of(an_phat, "C001") == (500, 0, 0)
    assert award_count(an_phat) == 1
    assert ledger_problems(an_phat) == []


def test_a_resend_with_keys_in_another_order_is_the_same_event(an_phat):
    sent = invoice_paid("evt-3", 5_000_000)
    ingest(an_phat, INVOICE_POINTS, sent, RECEIVED)
    resent = dict(reversed(list(sent.items())))
    assert ingest(an_phat, INVOICE_POINTS, resent, RECEIVED).replayed


def test_the_same_event_id_with_another_body_is_a_conflict_that_changes_nothing(an_phat):
    ingest(an_phat, INVOICE_POINTS, invoice_paid("evt-3", 5_000_000), RECEIVED)
    with pytest.raises(EventConflict, match="evt-3"):
        ingest(an_phat, INVOICE_POINTS, invoice_paid("evt-3", 9_000_000), RECEIVED)
    assert points_of(an_phat, "C001") == (500, 0, 0)


def test_an_invoice_for_an_unknown_customer_is_refused_and_nothing_is_recorded(store):
    with pytest.raises(EventOutOfOrder, match="C404"):
        ingest(store, INVOICE_POINTS, invoice_paid("evt-9", 5_000_000, customer_id="C404"), RECEIVED)
    assert events_recorded(store) == 0


def test_a_renewal_of_a_contract_not_yet_seen_is_refused_until_billing_resends_it(an_phat):
    renewal = event("evt-5", "contract.renewed", {"contract_id": "K2"})
    with pytest.raises(EventOutOfOrder, match="'K2'"):
        ingest(an_phat, INVOICE_POINTS, renewal, RECEIVED)
    ingest(an_phat, INVOICE_POINTS, contract_signed("evt-4", "K2", 1_000_000), RECEIVED)
    assert not ingest(an_phat, INVOICE_POINTS, renewal, RECEIVED).replayed
    with an_phat.reading() as session:
        assert session.get(Contract, "K2").renewals == 1


def test_an_invoice_naming_someone_elses_contract_is_refused(an_phat):
    ingest(an_phat, INVOICE_POINTS, customer_upserted("evt-6", "C002", name="Nhà hàng Sen"), RECEIVED)
    with pytest.raises(EventOutOfOrder, match="K1"):
        ingest(an_phat, INVOICE_POINTS, invoice_paid("evt-7", 1_000_000, "C002", contract_id="K1"), RECEIVED)
    assert points_of(an_phat, "C002") == (0, 0, 0)


def test_a_signing_may_bring_the_new_customer_with_it(store):
    signing = contract_signed("evt-1", "K1", 2_000_000, customer_id="C010",
                              customer={"name": "Hộ kinh doanh Bình Minh", "segment": "home",
                                        "customer_since": "2026-11-25"})
    ingest(store, INVOICE_POINTS, signing, RECEIVED)
    with store.reading() as session:
        customer = session.get(Customer, "C010")
        assert customer.name == "Hộ kinh doanh Bình Minh"
        assert (customer.main_contract_id, customer.total_monthly_value) == ("K1", 2_000_000)


def test_a_signing_for_an_unknown_customer_without_its_details_is_out_of_order(store):
    with pytest.raises(EventOutOfOrder, match="C010"):
        ingest(store, INVOICE_POINTS, contract_signed("evt-1", "K1", 2_000_000, customer_id="C010"), RECEIVED)


def test_an_invalid_event_names_its_field_and_records_nothing(an_phat):
    with pytest.raises(FieldErrors, match="data.amount"):
        ingest(an_phat, INVOICE_POINTS, invoice_paid("evt-3", -5), RECEIVED)
    assert events_recorded(an_phat) == 2


def test_renewal_and_cancellation_move_the_contract_summary(an_phat):
    ingest(an_phat, INVOICE_POINTS, event("evt-3", "contract.renewed",
                                          {"contract_id": "K1", "term_months": 24, "monthly_value": 4_000_000}),
           RECEIVED)
    with an_phat.reading() as session:
        assert (session.get(Customer, "C001").main_contract_value, session.get(Contract, "K1").renewals) == (
            4_000_000, 1)
    ingest(an_phat, INVOICE_POINTS, event("evt-4", "contract.cancelled", {"contract_id": "K1"},
                                          occurred_at="2026-12-31T20:00:00Z"), RECEIVED)
    with an_phat.reading() as session:
        contract = session.get(Contract, "K1")
        assert (contract.status, contract.cancelled_on) == ("cancelled", date(2027, 1, 1))
        assert session.get(Customer, "C001").active_contracts == 0


def test_points_count_in_the_customers_own_year(an_phat):
    yearly = ruleset("""
        programme: yearly
        name: "Một lần mỗi năm"
        rules:
          - id: once-a-year
            on: invoice.paid
            then: {points: 100}
            once_per: year
        """)
    new_years_eve_utc = "2026-12-31T18:30:00Z"  # already 1 January 2027 in Hà Nội
    first = ingest(an_phat, yearly, invoice_paid("evt-3", 1, occurred_at="2026-12-31T10:00:00Z"), RECEIVED)
    second = ingest(an_phat, yearly, invoice_paid("evt-4", 1, occurred_at=new_years_eve_utc), RECEIVED)
    third = ingest(an_phat, yearly, invoice_paid("evt-5", 1, occurred_at="2027-06-01T00:00:00Z"), RECEIVED)
    assert [len(r.awards) for r in (first, second, third)] == [1, 1, 0]
    assert third.stopped[0].reason == "once_per"


def test_a_batch_keeps_going_past_a_bad_event_and_each_gets_its_own_answer(an_phat):
    results = ingest_many(an_phat, INVOICE_POINTS, [
        invoice_paid("evt-3", 1_000_000),
        invoice_paid("evt-4", -1),
        invoice_paid("evt-5", 1_000_000, customer_id="C404"),
        invoice_paid("evt-3", 1_000_000),
        invoice_paid("evt-6", 2_000_000),
    ], RECEIVED)
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["IngestResult", "FieldErrors", "EventOutOfOrder", "IngestResult", "IngestResult"]
    assert results[3].replayed
    assert points_of(an_phat, "C001") == (300, 0, 0)


def test_a_refused_event_in_a_batch_takes_back_what_it_wrote_before_its_refusal(an_phat, monkeypatch):
    monkeypatch.setattr(ingest_module, "CHUNK", 2)  # events share transactions, across a chunk boundary
    newcomer = {"name": "Công ty Mới", "segment": "sme", "customer_since": "2026-11-25"}
    results = ingest_many(an_phat, INVOICE_POINTS, [
        invoice_paid("evt-3", 1_000_000),
        contract_signed("evt-4", "K1", 1_000_000, customer_id="C-NEW", customer=newcomer),  # K1 is An Phát's
        invoice_paid("evt-5", 1_000_000, customer_id="C-NEW"),
        invoice_paid("evt-6", 2_000_000),
    ], RECEIVED)
    assert [type(r).__name__ for r in results] == ["IngestResult", "Conflict", "EventOutOfOrder", "IngestResult"]
    with an_phat.reading() as session:
        assert session.get(Customer, "C-NEW") is None  # created by evt-4, rolled back with it
    assert events_recorded(an_phat) == 4
    assert points_of(an_phat, "C001") == (300, 0, 0)
    assert ledger_problems(an_phat) == []


def test_a_crash_in_a_batch_loses_only_its_uncommitted_chunk_and_a_resend_completes_it(an_phat, monkeypatch):
    monkeypatch.setattr(ingest_module, "CHUNK", 2)
    batch = [invoice_paid(f"evt-{n}", 1_000_000) for n in range(3, 8)]
    real_apply = ingest_module.apply_event

    def crash_at_evt_6(session, loaded, **options):
        if loaded["id"] == "evt-6":
            raise RuntimeError("the worker died")
        return real_apply(session, loaded, **options)

    monkeypatch.setattr(ingest_module, "apply_event", crash_at_evt_6)
    monkeypatch.setattr(ingest_batch_module, "CHUNK", 2)  # paid invoices take the set-based path: crash it too
    real_decide = ingest_batch_module.decide

    def decide_crashing_at_evt_6(compiled, facts, snapshot, *args):
        if snapshot.id == "evt-6":
            raise RuntimeError("the worker died")
        return real_decide(compiled, facts, snapshot, *args)

    monkeypatch.setattr(ingest_batch_module, "decide", decide_crashing_at_evt_6)
    with pytest.raises(RuntimeError):
        ingest_many(an_phat, INVOICE_POINTS, batch, RECEIVED)
    assert events_recorded(an_phat) == 2 + 2  # evt-3 and evt-4 committed; evt-5 went with evt-6's chunk
    monkeypatch.setattr(ingest_module, "apply_event", real_apply)
    monkeypatch.setattr(ingest_batch_module, "decide", real_decide)
    results = ingest_many(an_phat, INVOICE_POINTS, batch, RECEIVED)
    assert [r.replayed for r in results] == [True, True, False, False, False]
    assert points_of(an_phat, "C001") == (500, 0, 0)
    assert ledger_problems(an_phat) == []


def test_a_batch_of_more_than_a_thousand_events_is_refused_whole(an_phat):
    with pytest.raises(FieldErrors, match="at most 1000"):
        ingest_many(an_phat, INVOICE_POINTS, [invoice_paid(f"e{i}", 1) for i in range(MAX_BATCH + 1)], RECEIVED)
    assert events_recorded(an_phat) == 2


def test_the_stored_result_is_json_and_rebuilds_the_same_answer(an_phat):
    result = ingest(an_phat, INVOICE_POINTS, invoice_paid("evt-3", 5_000_000), RECEIVED)
    as_json = result.as_dict()
    assert as_json["awards"][0]["expires_on"] == "2027-11-25"
    assert as_json["awards"][0]["rule_id"] == "points-on-paid-invoice"
    assert as_json["awards"][0]["ruleset_version"] == INVOICE_POINTS.version
    with an_phat.reading() as session:
        stored = session.get(Event, "evt-3")
        assert stored.result == as_json
        assert stored.occurred_at == datetime(2026, 11, 25, 3, tzinfo=timezone.utc)


def test_a_naive_received_at_is_a_programming_error(an_phat):
    with pytest.raises(ValueError, match="aware"):
        ingest(an_phat, INVOICE_POINTS, invoice_paid("evt-3", 1), datetime(2026, 11, 25))


def test_customer_upserted_updates_the_customer(an_phat):
    ingest(an_phat, INVOICE_POINTS, customer_upserted("evt-3", segment="enterprise", region="Đà Nẵng"), RECEIVED)
    with an_phat.reading() as session:
        customer = session.get(Customer, "C001")
        assert (customer.segment, customer.region, customer.name) == ("enterprise", "Đà Nẵng", AN_PHAT["name"])


def test_the_same_invoice_reported_again_under_a_new_id_gives_no_second_points(an_phat):
    ingest(an_phat, INVOICE_POINTS, invoice_paid("evt-3", 5_000_000, invoice_id="INV-7"), RECEIVED)
    with pytest.raises(DuplicateEvent, match="INV-7.*evt-3"):
        ingest(an_phat, INVOICE_POINTS, invoice_paid("evt-4", 5_000_000, invoice_id="INV-7"), RECEIVED)
    assert points_of(an_phat, "C001") == (500, 0, 0)
    assert events_recorded(an_phat) == 3


def test_another_customers_invoice_with_the_same_number_is_its_own(an_phat):
    ingest(an_phat, INVOICE_POINTS, customer_upserted("evt-3", "C002", name="Nhà hàng Sen"), RECEIVED)
    ingest(an_phat, INVOICE_POINTS, invoice_paid("evt-4", 1_000_000, invoice_id="INV-7"), RECEIVED)
    ingest(an_phat, INVOICE_POINTS, invoice_paid("evt-5", 1_000_000, "C002", invoice_id="INV-7"), RECEIVED)
    assert (points_of(an_phat, "C001")[0], points_of(an_phat, "C002")[0]) == (100, 100)
