"""`loyalty run-daily` as an operator runs it from cron: a summary line, exit 0, and nothing twice."""
from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from loyalty.cli import main
from loyalty.services.catalogue import list_rewards
from loyalty.services.demo import generate_demo
from loyalty.store import Store
from loyalty.store.schema import create_schema
from loyalty.store.tables import RewardGrant

NIGHT = "2026-11-25"


@pytest.fixture
def database(tmp_path):
    """A SQLite file with 300 demo customers generated for the night."""
    url = f"sqlite:///{tmp_path / 'daily.db'}"
    store = Store(url)
    create_schema(store.engine)
    generate_demo(store, 300, 4, date(2026, 11, 25))
    store.dispose()
    return url


def _run(url: str, *args: str):
    env = {"LOYALTY_DATABASE_URL": url, "LOYALTY_RULES_DIR": "rules", "LOYALTY_DAILY_CHUNK": "40"}
    return CliRunner().invoke(main, ["run-daily", *args], env=env)


def test_the_night_ends_with_a_summary_of_what_it_gave(database):
    result = _run(database, "--date", NIGHT)
    assert result.exit_code == 0, result.output
    summary = result.stdout.strip()
    assert summary.startswith("Night of 2026-11-25: 300 customers, ")
    assert " anniversaries, " in summary and " tier changes, " in summary
    assert "0 awards" not in summary
    assert summary.endswith(" s. The daily rules read 300 customers, all of them: "
                            "no earlier night reviewed them under the change clock.")


def test_the_next_night_reads_only_what_moved_unless_a_full_review_is_asked_for(database):
    _run(database, "--date", NIGHT)
    next_night = _run(database, "--date", "2026-11-26").stdout.strip()
    assert "customers, those whose facts or tenure moved since the night of 2026-11-25." in next_night
    assert "read 300 customers" not in next_night
    asked = _run(database, "--date", "2026-11-27", "--full-review")
    assert asked.exit_code == 0, asked.output
    assert asked.stdout.strip().endswith("The daily rules read 300 customers, all of them: a full review was asked for.")


def test_progress_goes_to_the_log_one_line_per_committed_chunk_when_not_on_a_terminal(database):
    result = _run(database, "--date", NIGHT)
    lines = [line for line in result.stderr.splitlines() if "run-daily tiers:" in line]
    # the daily rules scan five chunks' worth of customers per transaction (DAILY_CHUNK_FACTOR)
    assert lines[0].endswith("run-daily tiers: 200 of 300 customers committed")
    assert lines[-1].endswith("run-daily tiers: 300 of 300 customers committed")


def test_running_the_same_night_again_gives_nothing_more(database):
    _run(database, "--date", NIGHT)
    again = _run(database, "--date", NIGHT)
    assert again.exit_code == 0
    assert "0 anniversaries, 0 awards, 0 points" in again.stdout
    assert "already done earlier: contracts, anniversaries, vesting, expiry, tiers" in again.stdout


def test_a_date_that_is_not_a_date_is_bad_usage(database):
    assert _run(database, "--date", "25/11/2026").exit_code == 2


def test_the_night_offers_the_rulesets_catalogue_first_so_that_free_hampers_take_its_stock(database):
    result = _run(database, "--date", NIGHT)
    assert result.exit_code == 0, result.output
    assert "reward catalogue synced" in result.stderr
    store = Store(database)
    try:
        hampers = {offer.id: offer.stock_left for offer in list_rewards(store)}
        with store.reading() as session:
            given = session.scalar(select(func.count()).select_from(RewardGrant).where(
                RewardGrant.reward_id == "thank-you-hamper"))
    finally:
        store.dispose()
    assert hampers["thank-you-hamper"] == 500 - given


def test_tonights_run_first_finishes_the_night_the_machine_missed(database, monkeypatch):
    assert _run(database, "--date", "2026-11-24").exit_code == 0
    monkeypatch.setattr("loyalty.cli.daily.local_today", lambda: date(2026, 11, 26))

    result = _run(database)
    assert result.exit_code == 0, result.output
    nights = [line.split(":")[0] for line in result.stdout.splitlines()]
    assert nights == ["Night of 2026-11-25", "Night of 2026-11-26"]
    missed = next(line for line in result.stdout.splitlines() if line.startswith("Night of 2026-11-25"))
    assert " 0 anniversaries" not in missed and " 0 awards" not in missed  # the demo's anniversary night
    logged = result.stderr
    assert "run-daily 2026-11-25 anniversaries:" in logged and "run-daily 2026-11-26 tiers:" in logged  # which night

    again = _run(database).stdout.splitlines()
    assert [line.split(":")[0] for line in again] == ["Night of 2026-11-26"]
    assert again[0].endswith("(already done earlier: contracts, anniversaries, vesting, expiry, tiers).")


def test_the_nights_command_names_a_missed_night_and_check_fails_until_it_is_run(database, monkeypatch):
    assert _run(database, "--date", "2026-11-24").exit_code == 0
    monkeypatch.setattr("loyalty.cli.nights.local_today", lambda: date(2026, 11, 26))
    env = {"LOYALTY_DATABASE_URL": database}

    result = CliRunner().invoke(main, ["nights", "--days", "4", "--check"], env=env)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line[:10] for line in lines] == ["2026-11-26", "2026-11-25", "2026-11-24", "2026-11-23"]
    assert lines[0].endswith("not run yet: `loyalty run-daily` runs it")
    assert lines[1].endswith("missed: nothing of it ran; the next `loyalty run-daily` runs it first")
    assert lines[2].startswith("2026-11-24  finished: ") and " awards, " in lines[2]
    assert lines[3].endswith("before the first night the engine ran: nothing was due")
    assert "2 of the last 4 nights have not finished: 2026-11-25, 2026-11-26." in result.stderr

    monkeypatch.setattr("loyalty.cli.daily.local_today", lambda: date(2026, 11, 26))
    assert _run(database).exit_code == 0  # catches up on the 25th, then runs the 26th
    after = CliRunner().invoke(main, ["nights", "--days", "4", "--check"], env=env)
    assert after.exit_code == 0, after.output
    assert [line.split("  ")[1].split(":")[0] for line in after.stdout.splitlines()[:3]] == ["finished"] * 3
