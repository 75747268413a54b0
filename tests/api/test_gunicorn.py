"""Production serves the API with gunicorn: it starts, answers health, and stops cleanly."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from loyalty.store import Store
from loyalty.store.schema import create_schema

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
STARTUP_SECONDS = 15


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _poll_health(url: str, process: subprocess.Popen, log: Path) -> tuple[int, dict]:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited early with {process.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return response.status, json.load(response)
        except OSError:  # refused, reset or timed out while the workers boot
            time.sleep(0.1)  # polling a starting server, bounded by the deadline
    pytest.fail(f"gunicorn did not answer {url} within {STARTUP_SECONDS} s")


@pytest.mark.slow
def test_gunicorn_serves_health_from_a_sqlite_file(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'loyalty.db'}"
    store = Store(database_url)
    create_schema(store.engine)
    store.dispose()
    port = _free_port()
    env = os.environ | {"LOYALTY_DATABASE_URL": database_url, "LOYALTY_RULES_DIR": str(RULES_DIR)}
    command = [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
               "--graceful-timeout", "5", "api.wsgi:app"]
    log = tmp_path / "gunicorn.log"
    with log.open("w") as log_file, subprocess.Popen(command, cwd=tmp_path, env=env,
                                                     stdout=log_file, stderr=log_file) as process:
        try:
            status, body = _poll_health(f"http://127.0.0.1:{port}/api/v1/health", process, log)
        finally:
            process.terminate()
            process.wait(timeout=10)
    assert (status, body) == (200, {"status": "ok", "database": "ok"})
    assert process.returncode == 0
