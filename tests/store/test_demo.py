"""Demo data: realistic, deterministic, and consistent with what the batch rule path reads."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import delete, select

from loyalty.engine.facts import ContractSnapshot, summarize_contracts
from loyalty.errors import Conflict
from loyalty.services.demo import MONTHLY_VALUE, generate_demo
from loyalty.services.demo_names import REGIONS
from loyalty.store.tables import Contract, Customer

TODAY = date(2026, 11, 25)


def _all_rows(store) -> tuple[list[tuple], list[tuple]]:
    """Every column a person could see, except the times the database stamps itself."""
    skip = {"created_at", "updated_at"}
    customer_columns = [c for c in Customer.__table__.c if c.name not in skip]
    with store.reading() as session:
        customers = session.execute(select(*customer_columns).order_by(Customer.id)).all()
        contracts = session.execute(select(*Contract.__table__.c).order_by(Contract.id)).all()
    return [tuple(row) for row in customers], [tuple(row) for row in contracts]


def _customers_and_contracts(store) -> list[tuple[Customer, list[Contract]]]:
    with store.reading() as session:
        customers = session.scalars(select(Customer).order_by(Customer.id)).all()
        contracts = session.scalars(select(Contract)).all()
    by_customer: dict[str, list[Contract]] = {}
    for contract in contracts:
        by_customer.setdefault(contract.customer_id, []).append(contract)
    return [(customer, by_customer.get(customer.id, [])) for customer in customers]


def test_the_same_seed_writes_identical_customers_and_contracts(store):
    generate_demo(store, 300, seed=7, today=TODAY)
    first = _all_rows(store)
    with store.transaction() as session:
        session.execute(delete(Contract))
        session.execute(delete(Customer))
    generate_demo(store, 300, seed=7, today=TODAY)
    assert _all_rows(store) == first
    assert len(first[0]) == 300


def test_every_customer_row_carries_the_summary_of_its_contracts(store):
    generate_demo(store, 500, seed=3, today=TODAY)
    for customer, contracts in _customers_and_contracts(store):
        snapshots = [ContractSnapshot(c.id, c.monthly_value, c.term_months, c.start, c.renewals, c.status)
                     for c in contracts]
        summary = summarize_contracts(snapshots)
        assert (customer.active_contracts, customer.total_monthly_value, customer.main_contract_id,
                customer.main_contract_value, customer.main_term_months, customer.main_renewals) == (
            summary.active_contracts, summary.total_monthly_value, summary.main_contract_id,
            summary.main_contract_value, summary.main_term_months, summary.main_renewals)
        since = customer.customer_since
        assert (customer.since_month_index, customer.since_month, customer.since_day) == (
            since.year * 12 + since.month - 1, since.month, since.day)


def test_customers_look_like_an_isp_customer_base_in_vietnam(sqlite_store):
    summary = generate_demo(sqlite_store, 3000, seed=11, today=TODAY)
    rows = [customer for customer, _ in _customers_and_contracts(sqlite_store)]
    shares = {segment: count / len(rows) for segment, count in Counter(c.segment for c in rows).items()}
    assert 0.66 < shares["home"] < 0.74 and 0.21 < shares["sme"] < 0.29 and 0.03 < shares["enterprise"] < 0.07
    assert summary.segments == Counter(c.segment for c in rows)
    for customer in rows:
        if customer.segment == "home":
            assert len(customer.name.split()) == 3, customer.name
        elif customer.segment == "sme":
            assert customer.name.startswith(("Công ty TNHH ", "Công ty Cổ phần ", "Doanh nghiệp tư nhân ")), customer.name
        else:
            assert customer.name.startswith(("Tập đoàn ", "Tổng công ty ")), customer.name
    assert {c.region for c in rows} == {name for name, _ in REGIONS}
    assert any(c.name.startswith("Nguyễn ") for c in rows)


def test_customers_joined_over_eight_years_with_anniversaries_today_and_on_29_february(sqlite_store):
    summary = generate_demo(sqlite_store, 3000, seed=5, today=TODAY)
    since = [customer.customer_since for customer, _ in _customers_and_contracts(sqlite_store)]
    assert min(since) >= date(2018, 11, 25) and max(since) <= TODAY
    assert max(since).year - min(since).year >= 7
    anniversaries = [d for d in since if (d.month, d.day) == (TODAY.month, TODAY.day) and d < TODAY]
    assert len(anniversaries) == summary.anniversaries_today >= 30
    assert {d for d in since if (d.month, d.day) == (2, 29)} == {date(2020, 2, 29), date(2024, 2, 29)}


def test_contracts_have_segment_prices_standard_terms_and_some_cancellations(sqlite_store):
    summary = generate_demo(sqlite_store, 2000, seed=9, today=TODAY)
    pairs = _customers_and_contracts(sqlite_store)
    assert {len(contracts) for _, contracts in pairs} == {1, 2, 3}
    contracts = [(customer.segment, contract) for customer, cs in pairs for contract in cs]
    assert len(contracts) == summary.contracts
    for segment, contract in contracts:
        lowest, highest, _step = MONTHLY_VALUE[segment]
        assert lowest <= contract.monthly_value <= highest
        assert contract.term_months in (12, 24, 36) and 0 <= contract.renewals <= 5
        assert contract.end > contract.start
    cancelled = [c for _, c in contracts if c.status == "cancelled"]
    assert len(cancelled) == summary.cancelled_contracts and 0.01 < len(cancelled) / len(contracts) < 0.08
    assert all(c.start <= c.cancelled_on <= TODAY for c in cancelled)
    assert all(c.cancelled_on is None for _, c in contracts if c.status != "cancelled")


def test_loading_the_same_seed_again_is_refused_and_another_seed_adds_customers(store):
    generate_demo(store, 50, seed=1, today=TODAY)
    with pytest.raises(Conflict, match="seed 1 are already loaded"):
        generate_demo(store, 80, seed=1, today=TODAY)
    added = generate_demo(store, 20, seed=2, today=TODAY)
    assert (added.first_id, added.last_id) == ("demo-2-0000001", "demo-2-0000020")
    with store.reading() as session:
        assert len(session.scalars(select(Customer.id)).all()) == 70


def test_progress_is_reported_after_each_chunk_up_to_the_total(sqlite_store, monkeypatch):
    monkeypatch.setattr("loyalty.services.demo.CHUNK", 40)
    reports: list[tuple[int, int]] = []
    generate_demo(sqlite_store, 100, seed=4, today=TODAY, progress=lambda done, total: reports.append((done, total)))
    assert reports == [(40, 100), (80, 100), (100, 100)]
