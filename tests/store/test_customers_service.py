from datetime import date

import pytest

from loyalty.errors import Conflict, FieldErrors, UnknownContract, UnknownCustomer
from loyalty.services.customers import (
    add_months,
    cancel_contract,
    end_contract,
    renew_contract,
    sign_contract,
    upsert_customer,
)
from loyalty.store.tables import Customer

AN_PHAT = {"name": "Công ty An Phát", "segment": "sme", "customer_since": "2024-03-01", "region": "Hà Nội"}


def contract(contract_id, monthly_value, start="2025-01-15", term=12):
    return {"id": contract_id, "monthly_value": monthly_value, "term_months": term, "start": date.fromisoformat(start)}


def test_a_new_customer_is_created_with_its_vietnamese_name_and_default_time_zone(store):
    with store.transaction() as session:
        upsert_customer(session, "C001", AN_PHAT)
    with store.reading() as session:
        customer = session.get(Customer, "C001")
        assert (customer.name, customer.region, customer.segment) == ("Công ty An Phát", "Hà Nội", "sme")
        assert customer.customer_since == date(2024, 3, 1)
        assert customer.time_zone == "Asia/Ho_Chi_Minh"
        assert (customer.active_contracts, customer.total_monthly_value) == (0, 0)


def test_an_update_changes_only_the_fields_it_gives(store):
    with store.transaction() as session:
        upsert_customer(session, "C001", AN_PHAT)
    with store.transaction() as session:
        upsert_customer(session, "C001", {"segment": "enterprise", "locale": "en"})
    with store.reading() as session:
        customer = session.get(Customer, "C001")
        assert (customer.name, customer.segment, customer.locale) == ("Công ty An Phát", "enterprise", "en")


def test_a_new_customer_without_name_segment_and_since_is_refused_naming_each_field(store):
    with pytest.raises(FieldErrors) as refused, store.transaction() as session:
        upsert_customer(session, "C002", {"region": "Huế"})
    assert set(refused.value.errors) == {"name", "segment", "customer_since"}
    with store.reading() as session:
        assert session.get(Customer, "C002") is None


def test_a_bad_segment_is_refused_by_name(store):
    with pytest.raises(FieldErrors) as refused, store.transaction() as session:
        upsert_customer(session, "C003", {**AN_PHAT, "segment": "vip"})
    assert list(refused.value.errors) == ["segment"]


def test_signing_and_renewing_keep_the_contract_summary_on_the_customer(store):
    with store.transaction() as session:
        upsert_customer(session, "C001", AN_PHAT)
        sign_contract(session, "C001", contract("K1", 1_500_000))
        sign_contract(session, "C001", contract("K2", 3_000_000, start="2025-03-31"))
    with store.transaction() as session:
        renewed = renew_contract(session, "C001", "K2", term_months=24, monthly_value=3_500_000)
        assert (renewed.renewals, renewed.term_months, renewed.end) == (1, 24, date(2028, 3, 31))
    with store.reading() as session:
        customer = session.get(Customer, "C001")
        assert (customer.active_contracts, customer.total_monthly_value) == (2, 5_000_000)
        assert (customer.main_contract_id, customer.main_contract_value, customer.main_renewals) == ("K2", 3_500_000, 1)


def test_cancelling_the_main_contract_moves_the_summary_to_the_next(store):
    with store.transaction() as session:
        upsert_customer(session, "C001", AN_PHAT)
        sign_contract(session, "C001", contract("K1", 1_500_000))
        sign_contract(session, "C001", contract("K2", 3_000_000))
        cancel_contract(session, "C001", "K2", on=date(2025, 6, 1))
        end_contract(session, "K1")
    with store.reading() as session:
        customer = session.get(Customer, "C001")
        assert (customer.active_contracts, customer.total_monthly_value, customer.main_contract_id) == (0, 0, None)


def test_a_cancelled_contract_cannot_be_renewed(store):
    with store.transaction() as session:
        upsert_customer(session, "C001", AN_PHAT)
        sign_contract(session, "C001", contract("K1", 1_500_000))
        cancel_contract(session, "C001", "K1", on=date(2025, 6, 1))
    with pytest.raises(Conflict, match="cancelled"), store.transaction() as session:
        renew_contract(session, "C001", "K1")


def test_contracts_of_unknown_customers_or_of_another_customer_are_refused(store):
    with store.transaction() as session:
        upsert_customer(session, "C001", AN_PHAT)
        upsert_customer(session, "C002", {**AN_PHAT, "name": "Nhà hàng Sen"})
        sign_contract(session, "C001", contract("K1", 1_500_000))
    with pytest.raises(UnknownCustomer, match="C404"), store.transaction() as session:
        sign_contract(session, "C404", contract("K9", 1))
    with pytest.raises(UnknownContract, match="K1"), store.transaction() as session:
        cancel_contract(session, "C002", "K1", on=date(2025, 6, 1))


def test_the_same_contract_cannot_be_signed_twice(store):
    with store.transaction() as session:
        upsert_customer(session, "C001", AN_PHAT)
        sign_contract(session, "C001", contract("K1", 1_500_000))
    with pytest.raises(Conflict, match="already signed"), store.transaction() as session:
        sign_contract(session, "C001", contract("K1", 1_500_000))


@pytest.mark.parametrize("start, months, end", [
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2025, 11, 15), 2, date(2026, 1, 15)),
])
def test_a_term_ends_on_the_same_day_or_the_last_day_of_a_shorter_month(start, months, end):
    assert add_months(start, months) == end
