"""Operators issue and revoke API keys with `loyalty keys`; a key is printed once and never again."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from api_helpers import assert_problem, bearer, build_app
from loyalty.cli import main


@pytest.fixture
def run(sqlite_store, monkeypatch):
    """Run `loyalty ...` against the test database; returns click's result."""
    monkeypatch.setenv("LOYALTY_DATABASE_URL", sqlite_store.url)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def test_a_created_key_is_printed_once_and_works(run, sqlite_store):
    created = run("keys", "create", "--role", "customer", "--customer", "c-42")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("lk_") and "shown only this once" in created.stderr
    listing = run("keys", "list")
    assert listing.exit_code == 0
    assert token not in listing.output and token.split("_")[1] in listing.output
    assert "customer\tc-42" in listing.output
    client = build_app(sqlite_store).test_client()
    assert client.get("/api/v1/rewards", headers=bearer(token)).status_code == 200


def test_a_revoked_key_stops_working(run, sqlite_store):
    token = run("keys", "create", "--role", "marketing").stdout.strip()
    key_id = run("keys", "list").output.split("\t")[0]
    revoked = run("keys", "revoke", key_id)
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert "revoked" in run("keys", "list").output
    client = build_app(sqlite_store).test_client()
    assert_problem(client.get("/api/v1/rewards", headers=bearer(token)), 401)


@pytest.mark.parametrize("args, message", [
    (("keys", "create", "--role", "customer"), "needs --customer"),
    (("keys", "create", "--role", "billing", "--customer", "c-1"), "Only a customer key"),
    (("keys", "revoke", "999"), "no API key with id 999"),
])
def test_key_mistakes_exit_1_with_a_message(run, args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.stderr


def test_an_unknown_role_is_bad_usage(run):
    assert run("keys", "create", "--role", "root").exit_code == 2


def test_serve_is_a_command_with_host_and_port(run):
    result = run("serve", "--help")
    assert result.exit_code == 0
    assert "--host" in result.output and "--port" in result.output
