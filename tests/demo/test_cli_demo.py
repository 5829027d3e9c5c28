"""``ikctrial demo`` as a user runs it: a fresh database, the whole trial, the summary, the report
and the exports, exit 0.

The command runs in a subprocess (it configures Django itself). The second run of the
determinism test uses the configured database when ``IKCTRIAL_DATABASE_URL`` names a PostgreSQL
server (a fresh database ``<name>_demo`` on it), so the PostgreSQL pass runs the demo there and
checks that it gives the same trial as on SQLite.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from tests.demo.conftest import SEED, SUBJECTS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 600
ALLOCATION = (
    "SELECT s.subject_ref, r.number, r.arm FROM randomization_randomization r "
    "JOIN subjects_subject s ON s.id = r.subject_id ORDER BY r.number"
)
COUNTED = (
    "subjects_subject",
    "randomization_randomization",
    "product_infusion",
    "product_bedsidecheck",
    "crf_taceprocedure",
    "crf_tumorassessment",
    "crf_immunepanelresult",
    "crf_adverseevent",
    "audit_auditevent",
)


def _demo(
    out: Path, *args: str, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"IKCTRIAL_DATABASE_URL", "IKCTRIAL_PROTOCOL"}
    }
    env["COLUMNS"] = "400"  # one line per message, whatever the path length
    if database_url:
        env["IKCTRIAL_DATABASE_URL"] = database_url
    command = [sys.executable, "-c", "from ikctrial.cli.main import run; run()", "demo"]
    command += ["--subjects", str(SUBJECTS), "--seed", str(SEED), "--out", str(out), *args]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
    )


def _trial_in(connection: Any) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """Allocation (subject, number, arm) and row counts of a demo database."""
    allocation = [tuple(row) for row in connection.execute(ALLOCATION).fetchall()]
    counts = {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}
    return allocation, counts


def _sqlite_trial(out: Path) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    with sqlite3.connect(out / "ikctrial-demo.sqlite3") as connection:
        return _trial_in(connection)


@contextmanager
def _fresh_postgres(url: str) -> Iterator[str]:
    """A fresh database ``<name>_demo`` on the server of ``url``, dropped before and after."""
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_demo"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _configured_postgres() -> str | None:
    url = os.environ.get("IKCTRIAL_DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def test_demo_runs_the_trial_and_writes_the_report_and_exports(tmp_path: Path) -> None:
    """Exit 0; the summary and audit verdict are printed; the report (HTML, PDF) and the four
    exports are written under OUT and recorded as exports with their digests and folder."""
    result = _demo(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "intact" in result.stdout
    assert f"Report: {tmp_path / 'report.html'}" in result.stdout
    allocation, counts = _sqlite_trial(tmp_path)
    assert len(allocation) == SUBJECTS
    assert counts["product_infusion"] > 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert 'id="km-at-risk"' in html
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    expected = {
        "sdtm": "dm.xpt",
        "adam": "adsl.xpt",
        "odm": "clinical.xml",
        "fhir": "bundle.json",
    }
    for export_format, name in expected.items():
        assert (tmp_path / "exports" / export_format / name).is_file(), export_format
    with sqlite3.connect(tmp_path / "ikctrial-demo.sqlite3") as connection:
        recorded = connection.execute(
            "SELECT export_format, location, files FROM exports_dataexport ORDER BY id"
        ).fetchall()
    assert [row[0] for row in recorded] == [*expected, "report"]
    _, location, files = recorded[-1]
    assert Path(location) == tmp_path.resolve()
    assert sorted(entry["name"] for entry in json.loads(files)) == ["report.html", "report.pdf"]


def test_same_seed_gives_the_same_trial(tmp_path: Path) -> None:
    """Two runs with one seed: the same allocation and the same counts (SQLite, and PostgreSQL
    when configured)."""
    first = _demo(tmp_path / "first")
    assert first.returncode == 0, first.stderr
    postgres = _configured_postgres()
    if postgres is None:
        second = _demo(tmp_path / "second")
        assert second.returncode == 0, second.stderr
        again = _sqlite_trial(tmp_path / "second")
    else:
        import psycopg

        with _fresh_postgres(postgres) as url:
            second = _demo(tmp_path / "second", database_url=url)
            assert second.returncode == 0, second.stderr
            assert "Trial database: postgresql" in " ".join(second.stdout.split())
            with psycopg.connect(url) as connection:
                again = _trial_in(connection)
    assert again == _sqlite_trial(tmp_path / "first")


def test_a_database_holding_a_trial_is_never_reused(tmp_path: Path) -> None:
    """Given by URL, a database that already holds trial data is refused (exit 2), untouched."""
    assert _demo(tmp_path).returncode == 0
    before = _sqlite_trial(tmp_path)
    url = f"sqlite:///{(tmp_path / 'ikctrial-demo.sqlite3').resolve()}"
    result = _demo(tmp_path / "again", database_url=url)
    assert result.returncode == 2
    assert "already holds trial data" in result.stderr
    assert _sqlite_trial(tmp_path) == before


@pytest.mark.parametrize("args", [("--subjects", "1"), ("--seed", "-3")])
def test_bad_options_exit_2(tmp_path: Path, args: tuple[str, str]) -> None:
    """Too few subjects or a negative seed: exit 2 before anything is created."""
    result = _demo(tmp_path / "out", *args)
    assert result.returncode == 2
    assert not (tmp_path / "out" / "ikctrial-demo.sqlite3").exists()
