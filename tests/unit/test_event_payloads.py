import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.errors import FieldErrors
from loyalty.ledger import local_date
from loyalty.services.event_payloads import INGESTED_TYPES, load_event
from loyalty.services.canonical import canonical_hash

EXAMPLES = {
    "customer.upserted": {"name": "Công ty An Phát", "segment": "sme", "customer_since": "2024-03-01",
                          "region": "Hà Nội", "locale": "vi", "time_zone": "Asia/Ho_Chi_Minh"},
    "contract.signed": {"contract": {"id": "K1", "monthly_value": 3_000_000, "term_months": 12,
                                     "start": "2026-11-25"}},
    "contract.renewed": {"contract_id": "K1", "term_months": 24, "monthly_value": 3_500_000},
    "contract.cancelled": {"contract_id": "K1", "reason": "Chuyển nhà"},
    "invoice.paid": {"invoice_id": "INV-1", "amount": 5_000_000, "contract_id": "K1"},
    "service.incident": {"incident_id": "INC-7", "outage_hours": 48, "planned": False},
    "referral.converted": {"prospect_name": "Nhà hàng Sen Vàng"},
}


def envelope(type_, data, **changes):
    return {"id": "evt-123", "type": type_, "occurred_at": "2026-11-25T03:00:00Z", "customer_id": "C001",
            "data": data, **changes}


def errors_of(raw):
    with pytest.raises(FieldErrors) as refused:
        load_event(raw)
    return refused.value.errors


def test_every_type_billing_posts_has_an_example_that_loads():
    assert set(EXAMPLES) == set(INGESTED_TYPES)
    for type_, data in EXAMPLES.items():
        loaded = load_event(envelope(type_, data))
        assert loaded["occurred_at"] == datetime(2026, 11, 25, 3, tzinfo=timezone.utc)


def test_dates_and_vietnamese_text_come_out_typed_and_intact():
    loaded = load_event(envelope("customer.upserted", EXAMPLES["customer.upserted"]))
    assert loaded["data"]["customer_since"] == date(2024, 3, 1)
    assert loaded["data"]["name"] == "Công ty An Phát"


def test_a_negative_monthly_value_is_named_by_its_full_path():
    data = {"contract": {**EXAMPLES["contract.signed"]["contract"], "monthly_value": -1}}
    assert errors_of(envelope("contract.signed", data)) == {"data.contract.monthly_value": ["must be >= 0"]}
    with pytest.raises(FieldErrors, match=r"data\.contract\.monthly_value: must be >= 0"):
        load_event(envelope("contract.signed", data))


def test_unknown_fields_are_refused_at_every_level():
    errors = errors_of(envelope("invoice.paid", {**EXAMPLES["invoice.paid"], "amout": 5}, extra=1))
    assert errors == {"extra": ["unknown field"]}  # the envelope is checked first
    errors = errors_of(envelope("invoice.paid", {**EXAMPLES["invoice.paid"], "amout": 5}))
    assert errors == {"data.amout": ["unknown field"]}


def test_every_problem_of_an_envelope_is_reported_at_once():
    errors = errors_of({"type": "contract.exploded", "occurred_at": "2026-11-25T03:00:00", "data": {}})
    assert set(errors) == {"id", "customer_id", "type", "occurred_at"}
    assert errors["occurred_at"] == ["must carry a time zone (Z or an offset)"]


@pytest.mark.parametrize("type_", ["anniversary", "daily"])
def test_the_engines_own_time_events_cannot_be_posted(type_):
    assert "type" in errors_of(envelope(type_, {}))


@pytest.mark.parametrize("bad", ["48", 4.5, True, None])
def test_outage_hours_must_be_a_whole_number(bad):
    data = {**EXAMPLES["service.incident"], "outage_hours": bad}
    assert list(errors_of(envelope("service.incident", data))) == ["data.outage_hours"]


@pytest.mark.parametrize("bad", [1, "false", None])
def test_planned_must_be_true_or_false(bad):
    data = {**EXAMPLES["service.incident"], "planned": bad}
    assert list(errors_of(envelope("service.incident", data))) == ["data.planned"]


def test_missing_required_fields_are_named():
    errors = errors_of(envelope("contract.signed", {"contract": {"id": "K1"}}))
    assert errors == {f"data.contract.{name}": ["required"] for name in ("monthly_value", "term_months", "start")}


def test_a_referral_must_name_who_was_referred():
    assert errors_of(envelope("referral.converted", {})) == {
        "data.referred_customer_id": ["give referred_customer_id or prospect_name"]}


def test_an_unknown_time_zone_is_refused():
    data = {**EXAMPLES["customer.upserted"], "time_zone": "Asia/Saigon City"}
    assert list(errors_of(envelope("customer.upserted", data))) == ["data.time_zone"]


def test_an_event_that_is_not_an_object_is_refused():
    assert errors_of(["not", "an", "event"]) == {"_schema": ["an event is a JSON object"]}


def test_the_local_date_is_the_customers_calendar_day():
    late_evening_utc = datetime(2026, 12, 31, 18, 0, tzinfo=timezone.utc)
    assert local_date(late_evening_utc, "Asia/Ho_Chi_Minh") == date(2027, 1, 1)
    assert local_date(late_evening_utc, "UTC") == date(2026, 12, 31)


def test_the_body_hash_ignores_key_order_but_not_values():
    first = envelope("invoice.paid", {"invoice_id": "INV-1", "amount": 5})
    reordered = dict(reversed(list(first.items())))
    assert canonical_hash(first) == canonical_hash(reordered)
    assert canonical_hash(first) != canonical_hash(envelope("invoice.paid", {"invoice_id": "INV-1", "amount": 6}))


@settings(max_examples=100, deadline=None)
@given(
    monthly_value=st.integers(min_value=-10**12, max_value=10**12),
    term=st.integers(min_value=-5, max_value=120),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_a_signing_loads_exactly_when_its_numbers_are_in_range(monthly_value, term, offset_minutes):
    zone = timezone(timedelta(minutes=offset_minutes))
    occurred = datetime(2026, 11, 25, 10, tzinfo=zone)
    raw = envelope("contract.signed", {"contract": {"id": "K1", "monthly_value": monthly_value,
                                                    "term_months": term, "start": "2026-11-25"}},
                   occurred_at=occurred.isoformat())
    expected_errors = {f"data.contract.{name}" for name, bad in
                       (("monthly_value", monthly_value < 0), ("term_months", term < 1)) if bad}
    if expected_errors:
        assert set(errors_of(raw)) == expected_errors
    else:
        loaded = load_event(raw)
        assert loaded["data"]["contract"]["monthly_value"] == monthly_value
        assert loaded["occurred_at"] == occurred


def test_every_example_in_the_events_documentation_is_a_valid_event():
    text = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text(encoding="utf-8")
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]
    events = [example for example in examples if "type" in example and example.get("data")]
    assert {example["type"] for example in events} == set(INGESTED_TYPES)
    for example in events:
        load_event(example)
