"""`loyalty demo`, as someone trying the engine out runs it."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from loyalty.cli import main
from loyalty.store import Store
from loyalty.store.tables import Customer


def _run(url: str, *arguments: str):
    return CliRunner().invoke(main, list(arguments), env={"LOYALTY_DATABASE_URL": url})


def test_demo_fills_an_upgraded_database_and_says_what_it_added(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert _run(url, "db", "upgrade").exit_code == 0
    result = _run(url, "demo", "--customers", "120", "--seed", "8", "--today", "2024-02-29")
    assert result.exit_code == 0, result.output
    assert "Added 120 demo customers (demo-8-0000001 to demo-8-0000120)" in result.output
    assert "anniversary on 2024-02-29" in result.output
    store = Store(url)
    try:
        with store.reading() as session:
            assert session.scalar(select(func.count()).select_from(Customer)) == 120
    finally:
        store.dispose()


def test_demo_twice_with_the_same_seed_fails_with_a_message_and_exit_status_1(tmp_path):
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    _run(url, "db", "upgrade")
    _run(url, "demo", "--customers", "10")
    again = _run(url, "demo", "--customers", "10")
    assert again.exit_code == 1
    assert "already loaded" in again.output and "--seed" in again.output


def test_demo_on_a_database_without_tables_says_to_upgrade_first(tmp_path):
    result = _run(f"sqlite:///{tmp_path / 'empty.db'}", "demo", "--customers", "10")
    assert result.exit_code == 1
    assert "loyalty db upgrade" in result.output


def test_demo_needs_a_positive_number_of_customers(tmp_path):
    result = _run(f"sqlite:///{tmp_path / 'x.db'}", "demo", "--customers", "0")
    assert result.exit_code == 2


def test_demo_if_absent_leaves_a_loaded_seed_as_it_is_so_make_run_can_run_twice(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert _run(url, "db", "upgrade").exit_code == 0
    assert _run(url, "demo", "--customers", "30", "--if-absent").exit_code == 0
    again = _run(url, "demo", "--customers", "30", "--if-absent")
    assert again.exit_code == 0, again.output
    assert "already loaded; nothing added" in again.output
    store = Store(url)
    try:
        with store.reading() as session:
            assert session.scalar(select(func.count()).select_from(Customer)) == 30
    finally:
        store.dispose()
