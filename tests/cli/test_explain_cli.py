"""`loyalty explain` as marketing runs it: every rule with each fact's value, read from the database."""
from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from loyalty.cli import main
from loyalty.services.customers import sign_contract, upsert_customer
from loyalty.store import Store
from loyalty.store.schema import create_schema


@pytest.fixture
def database(tmp_path):
    """A SQLite file with Công ty An Phát, an SME customer since 25 November 2023 with one contract."""
    url = f"sqlite:///{tmp_path / 'explain.db'}"
    store = Store(url)
    create_schema(store.engine)
    with store.transaction() as session:
        upsert_customer(session, "AP-001", {"name": "Công ty An Phát", "segment": "sme",
                                            "customer_since": "2023-11-25", "region": "Hà Nội"})
        sign_contract(session, "AP-001", {"id": "K-1", "monthly_value": 2_500_000, "term_months": 12,
                                          "start": date(2026, 1, 10)})
    store.dispose()
    return url


def _explain(url: str, *args: str):
    return CliRunner().invoke(main, ["explain", *args], env={"LOYALTY_DATABASE_URL": url, "LOYALTY_RULES_DIR": "rules"})


def test_the_third_anniversary_rule_awards_and_shows_the_tenure_it_read(database):
    result = _explain(database, "AP-001", "--date", "2026-11-25", "--event", "anniversary")
    assert result.exit_code == 0, result.output
    assert "Customer AP-001 on 2026-11-25, rules on anniversary" in result.output
    assert "tenure_years=3" in result.output and "segment='sme'" in result.output
    assert "✓ third-anniversary" in result.output
    assert "✗ second-anniversary-sme" in result.output
    assert "tenure_years = 3, needs eq 2  (anniversary.yaml:" in result.output
    assert "tier-gold" not in result.output, "only the rules on the event asked for"


def test_without_an_event_every_rule_is_explained_with_what_stops_it(database):
    result = _explain(database, "AP-001", "--date", "2026-11-25")
    assert result.exit_code == 0, result.output
    assert "✓ tier-gold" in result.output
    assert "matches, but another rule of its group has precedence: group tier is won by tier-gold" in result.output


def test_an_unknown_customer_is_an_error_that_names_it(database):
    result = _explain(database, "NOBODY")
    assert result.exit_code == 1
    assert "'NOBODY' is not known" in result.output


def test_an_unknown_event_type_is_bad_usage(database):
    assert _explain(database, "AP-001", "--event", "birthday").exit_code == 2
