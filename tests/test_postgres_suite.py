"""The web and demo test suites again, on PostgreSQL, inside the one ``pytest`` command.

The default run uses SQLite; this test reruns ``tests/web`` and ``tests/demo`` in a subprocess with
``IKCTRIAL_DATABASE_URL`` pointing at the PostgreSQL server (pytest-django creates and drops a test
database named for this process, so parallel runs do not collide), where the tests marked
``postgres`` (append-only trigger, 200 concurrent randomizations, ...) run too. It fails with the
subprocess's output when any of them fails. Without a reachable server it skips, unless
``IKCTRIAL_REQUIRE_POSTGRES=1`` (set by CI), where an unreachable server is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("IKCTRIAL_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
TIMEOUT_SECONDS = 900


def _server_problem() -> str | None:
    """Why the PostgreSQL server cannot be used, or None when it answers."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(f"{SERVER}/postgres", connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {SERVER} is unreachable: {exc}"
    return None


@pytest.mark.slow
def test_web_suite_passes_on_postgresql(tmp_path: Path) -> None:
    """``pytest tests/web tests/demo`` passes against PostgreSQL (``postgres`` tests included)."""
    problem = _server_problem()
    if problem is not None:
        if os.environ.get("IKCTRIAL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"IKCTRIAL_REQUIRE_POSTGRES=1 but {problem}")
        pytest.skip(problem)
    env = {
        **os.environ,
        "IKCTRIAL_DATABASE_URL": f"{SERVER}/ikctrial_pg{os.getpid()}",
        "IKCTRIAL_REQUIRE_POSTGRES": "1",
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/web",
        "tests/demo",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    command += ["--create-db", "-rfEs", "--tb=short"]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
    )
    output = f"{result.stdout}\n{result.stderr}"
    log = tmp_path / "postgres-pass.log"
    log.write_text(output, encoding="utf-8")
    assert result.returncode == 0, (
        f"web suite failed on PostgreSQL (full log: {log}):\n{output[-40000:]}"
    )
    assert " passed" in result.stdout, output[-5000:]
    assert "PostgreSQL only" not in result.stdout, f"PostgreSQL tests skipped:\n{output[-5000:]}"
