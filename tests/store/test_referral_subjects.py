"""A prospect referred by name is thanked once: billing's second report of it, under any id, is refused.

`referral.converted` names the new customer by `referred_customer_id` when billing has one, and
otherwise only by `prospect_name`; both are what the event is about (decision 36).
"""
from __future__ import annotations

import unicodedata

import pytest
from ingest_support import REFERRAL_THANKS, RECEIVED, contract_signed, customer_upserted, event, points_of

from loyalty.errors import DuplicateEvent
from loyalty.services.ingest import ingest, ingest_many


def referral(event_id: str, customer_id: str = "C001", **data) -> dict:
    return event(event_id, "referral.converted", data, customer_id)


@pytest.fixture
def two_customers(store):
    ingest(store, REFERRAL_THANKS, customer_upserted("evt-1"), RECEIVED)
    ingest(store, REFERRAL_THANKS, contract_signed("evt-2", "K1", 3_000_000), RECEIVED)
    ingest(store, REFERRAL_THANKS, customer_upserted("evt-3", "C002", name="Nhà hàng Sen"), RECEIVED)
    return store


def test_the_same_prospect_reported_again_as_a_person_would_write_it_is_thanked_once(two_customers):
    ingest(two_customers, REFERRAL_THANKS, referral("r-1", prospect_name="Nhà hàng Sen Vàng"), RECEIVED)
    written_again = unicodedata.normalize("NFD", "  nhà HÀNG   sen vàng ")  # decomposed accents, other case
    with pytest.raises(DuplicateEvent, match=r"prospect_name .* which event 'r-1' already reported.*referred_customer_id"):
        ingest(two_customers, REFERRAL_THANKS, referral("r-2", prospect_name=written_again), RECEIVED)
    assert points_of(two_customers, "C001")[0] == 300


def test_another_prospect_and_another_customers_referral_of_the_same_name_are_thanked(two_customers):
    ingest(two_customers, REFERRAL_THANKS, referral("r-1", prospect_name="Nhà hàng Sen Vàng"), RECEIVED)
    ingest(two_customers, REFERRAL_THANKS, referral("r-2", prospect_name="Nhà hàng Sen Hồng"), RECEIVED)
    ingest(two_customers, REFERRAL_THANKS, referral("r-3", "C002", prospect_name="Nhà hàng Sen Vàng"), RECEIVED)
    assert (points_of(two_customers, "C001")[0], points_of(two_customers, "C002")[0]) == (600, 300)


def test_a_referred_customer_id_names_the_referral_whatever_the_prospect_is_called(two_customers):
    ingest(two_customers, REFERRAL_THANKS, referral("r-1", referred_customer_id="C077", prospect_name="Sen Vàng"), RECEIVED)
    with pytest.raises(DuplicateEvent, match="referred_customer_id 'C077'"):
        ingest(two_customers, REFERRAL_THANKS, referral("r-2", referred_customer_id="C077", prospect_name="Khác"), RECEIVED)
    ingest(two_customers, REFERRAL_THANKS, referral("r-3", prospect_name="Sen Vàng"), RECEIVED)  # by name: its own subject
    assert points_of(two_customers, "C001")[0] == 600


def test_a_name_as_long_as_billing_may_send_is_compared_whole(two_customers):
    long_name = "Công ty TNHH Thương mại và Dịch vụ Viễn thông " * 4 + "Sài Gòn"
    assert len(long_name) <= 200
    ingest(two_customers, REFERRAL_THANKS, referral("r-1", prospect_name=long_name), RECEIVED)
    ingest(two_customers, REFERRAL_THANKS, referral("r-2", prospect_name=long_name.replace("Sài Gòn", "Hà Nội")), RECEIVED)
    with pytest.raises(DuplicateEvent):
        ingest(two_customers, REFERRAL_THANKS, referral("r-3", prospect_name=long_name.upper()), RECEIVED)
    assert points_of(two_customers, "C001")[0] == 600


def test_a_batch_refuses_the_second_report_of_a_prospect_and_keeps_the_others(two_customers):
    results = ingest_many(two_customers, REFERRAL_THANKS, [
        referral("r-1", prospect_name="Quán cà phê Mộc"),
        referral("r-2", prospect_name="quán cà phê mộc"),
        referral("r-3", prospect_name="Quán cơm Mộc"),
    ], RECEIVED)
    assert [type(r).__name__ for r in results] == ["IngestResult", "DuplicateEvent", "IngestResult"]
    assert "which event 'r-1' already reported" in str(results[1])
    assert points_of(two_customers, "C001")[0] == 600
