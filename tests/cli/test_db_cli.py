"""`loyalty db upgrade` and `loyalty db current`, as an operator runs them, from any directory."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect

from loyalty.cli import main
from loyalty.store import Store
from loyalty.store.migrate import head_revision


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path, monkeypatch):
    """Run from a directory with no alembic.ini, as an operator would."""
    monkeypatch.chdir(tmp_path)


def _run(url: str, *arguments: str):
    return CliRunner().invoke(main, ["db", *arguments], env={"LOYALTY_DATABASE_URL": url})


def test_db_upgrade_creates_the_tables_in_a_new_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'operator.db'}"
    result = _run(url, "upgrade")
    assert result.exit_code == 0, result.output
    assert f"at revision {head_revision()} (newest)" in result.output
    store = Store(url)
    try:
        tables = set(inspect(store.engine).get_table_names())
    finally:
        store.dispose()
    assert {"customers", "contracts", "alembic_version"} <= tables


def test_db_upgrade_run_twice_succeeds_both_times(tmp_path):
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    assert _run(url, "upgrade").exit_code == 0
    second = _run(url, "upgrade")
    assert second.exit_code == 0, second.output
    assert head_revision() in second.output


def test_db_current_tells_the_operator_to_upgrade_a_new_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    before = _run(url, "current")
    assert before.exit_code == 0, before.output
    assert "has no schema yet; run `loyalty db upgrade`" in before.output
    _run(url, "upgrade")
    after = _run(url, "current")
    assert f"is at revision {head_revision()} (newest)" in after.output


def test_db_upgrade_never_prints_the_database_password(tmp_path):
    result = _run("postgresql+psycopg://loyalty:s3cret@127.0.0.1:1/nowhere", "current")
    assert "s3cret" not in result.output
