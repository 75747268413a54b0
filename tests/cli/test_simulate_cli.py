"""`loyalty rules simulate DRAFT_DIR` as marketing runs it: the headline figures, or the draft's problems."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from loyalty.cli import main
from loyalty.engine.loader import load_ruleset
from loyalty.services.customers import upsert_customer
from loyalty.services.ingest import ingest
from loyalty.store import Store
from loyalty.store.schema import create_schema

SHIPPED = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture
def database(tmp_path):
    """Three SMEs on their third anniversary within the year, and one paid invoice last week."""
    url = f"sqlite:///{tmp_path / 'simulate.db'}"
    store = Store(url)
    create_schema(store.engine)
    with store.transaction() as session:
        for n, since in enumerate(("2023-12-01", "2024-03-15", "2023-11-25")):
            upsert_customer(session, f"SME-{n}", {"name": f"Công ty Số {n}", "segment": "sme", "customer_since": since})
    invoice = {"id": "i-1", "type": "invoice.paid", "occurred_at": "2026-11-20T03:00:00Z", "customer_id": "SME-0",
               "data": {"invoice_id": "INV-1", "amount": 4_000_000}}
    ingest(store, load_ruleset(SHIPPED), invoice, datetime(2026, 11, 20, 3, tzinfo=timezone.utc))
    store.dispose()
    return url


def draft_dir(tmp_path, change=lambda text: text) -> Path:
    """The shipped rules copied to a draft directory, with `change` applied to anniversary.yaml."""
    draft = tmp_path / "draft"
    draft.mkdir()
    for path in SHIPPED.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        (draft / path.name).write_text(change(text) if path.name == "anniversary.yaml" else text, encoding="utf-8")
    return draft


def run(url: str, *args: str):
    return CliRunner().invoke(main, ["rules", "simulate", *args],
                              env={"LOYALTY_DATABASE_URL": url, "LOYALTY_RULES_DIR": str(SHIPPED)})


def test_a_more_generous_third_anniversary_shows_its_cost_against_the_rules_in_force(database, tmp_path):
    draft = draft_dir(tmp_path, lambda text: text.replace("points: 300", "points: 600"))
    result = run(database, str(draft), "--date", "2026-11-25")
    assert result.exit_code == 0, result.output
    assert "on 2026-11-25" in result.output
    assert "third-anniversary" in result.output and "3 for 1,800 pts" in result.output and "3 for 900 pts" in result.output
    assert "3 customers gain, 0 lose" in result.output and "(+900)" in result.output
    assert "Replay of 1 events from 2026-08-27 to 2026-11-25 (last 90 days, at most 10,000)" in result.output
    assert "0 customers gain, 0 lose" in result.output


def test_a_draft_with_a_typo_exits_1_naming_its_file_and_line(database, tmp_path):
    draft = draft_dir(tmp_path, lambda text: text.replace("tenure_years: {eq: 3}", "tenure_yers: {eq: 3}"))
    result = run(database, str(draft))
    assert result.exit_code == 1
    assert "anniversary.yaml:" in result.output and "tenure_yers" in result.output
