"""``kill -9`` of ``ikctrial serve`` in the middle of a burst of saves (domain.md 9.1 "complete").

A real server (gunicorn, 2 workers) on its own fresh database (a SQLite file in the SQLite pass, a
new PostgreSQL database in the PostgreSQL pass) takes a burst of screenings from 8 client threads;
after 25 acknowledged saves the whole server process group gets SIGKILL while requests are in
flight. Then, reading the database directly: every save answered 201 is there, every subject has
its eligibility verdict and the audit events of both records (nothing half written), and
``ikctrial audit verify`` passes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

pytestmark = pytest.mark.slow
IKCTRIAL = str(Path(sys.executable).with_name("ikctrial"))
ACKNOWLEDGED_BEFORE_KILL = 25
CLIENTS = 8
BURST_SECONDS = 120  # the burst gives up (and the test fails) if the kill never comes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, Callable[[str], list[tuple[Any, ...]]]]]:
    """A fresh, empty database of this pass's vendor: its URL and a raw query function."""
    if connection.vendor != "postgresql":
        path = tmp_path / "kill9.sqlite3"

        def query_sqlite(sql: str) -> list[tuple[Any, ...]]:
            with sqlite3.connect(path) as db:
                return db.execute(sql).fetchall()

        yield f"sqlite:///{path}", query_sqlite
        return
    import psycopg

    server_url = os.environ["IKCTRIAL_DATABASE_URL"].rsplit("/", 1)[0]
    name = f"ikctrial_kill9_{os.getpid()}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")

    def query_postgres(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(f"{server_url}/{name}") as db:
            return db.execute(sql).fetchall()

    try:
        yield f"{server_url}/{name}", query_postgres
    finally:
        with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [IKCTRIAL, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, f"ikctrial {' '.join(args)}: {result.stderr}"
    return result.stdout


def _wait_until_serving(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "ikctrial serve exited"
        try:
            with urllib.request.urlopen(f"{base}/openapi.json", timeout=10):
                return
        except OSError:  # refused while binding, reset or timed out while workers boot
            time.sleep(0.2)
    raise AssertionError("ikctrial serve did not start within 60 s")


def _screen(base: str, token: str, record: dict[str, Any]) -> dict[str, Any] | str:
    """POST one screening; the created subject, or why the server did not answer 201."""
    request = urllib.request.Request(
        f"{base}/sites/KILL/subjects",
        data=json.dumps(record).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body: dict[str, Any] = json.loads(response.read())
            return body if response.status == 201 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:  # the server answered, with an error
        return f"HTTP {exc.code}: {exc.read()[:300]!r}"
    except OSError as exc:  # refused, reset, timed out: the server died mid-request
        return f"no answer: {exc}"


def test_kill_9_mid_burst_loses_no_committed_row(
    database: tuple[str, Callable[[str], list[tuple[Any, ...]]]],
    request: pytest.FixtureRequest,
) -> None:
    """Acknowledged saves survive SIGKILL; no subject without verdict or audit events."""
    url, query = database
    env = {**os.environ, "IKCTRIAL_DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": ""}
    env.pop("DJANGO_SETTINGS_MODULE")
    _cli(env, "db", "migrate")
    _cli(env, "site", "create", "KILL", "--name", "Kill test hospital")
    _cli(env, "user", "create", "crc", "--role", "coordinator", "--site", "KILL")
    token = json.loads(_cli(env, "token", "create", "crc", "--json"))["token"]
    edc = request.config.pluginmanager.get_plugin(
        str(Path(request.config.rootpath) / "tests" / "web" / "conftest.py")
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    server = subprocess.Popen(
        [IKCTRIAL, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    acknowledged: list[dict[str, Any]] = []
    unanswered: list[bool] = []  # per request not answered 201: was the server killed by then?
    failures: list[str] = []  # why requests failed before the kill
    killed = threading.Event()
    stop = threading.Event()
    lock = threading.Lock()
    try:
        _wait_until_serving(base, server)

        deadline = time.monotonic() + BURST_SECONDS

        def client(number: int) -> None:
            sequence = 0
            while not (killed.is_set() or stop.is_set()) and time.monotonic() < deadline:
                sequence += 1
                record = edc.eligible_record(subject_ref=f"K{number}-{sequence}")
                created = _screen(base, token, record)
                if isinstance(created, str):
                    with lock:
                        unanswered.append(killed.is_set())
                        if not killed.is_set():  # a failure before the kill: stop the burst
                            failures.append(created)
                            stop.set()
                    continue
                with lock:
                    acknowledged.append(created)
                    if len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL and not killed.is_set():
                        os.killpg(server.pid, signal.SIGKILL)
                        killed.set()

        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(client, range(CLIENTS)))
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    assert not failures, f"a request failed before the kill: {failures[0]}"
    assert killed.is_set(), f"fewer than {ACKNOWLEDGED_BEFORE_KILL} saves in {BURST_SECONDS} s"
    assert server.returncode == -signal.SIGKILL
    assert unanswered, "no request was in flight at the kill"
    assert all(unanswered), "a request failed before the kill"

    subjects = {row[0] for row in query("SELECT id FROM subjects_subject")}
    verdicts = [row[0] for row in query("SELECT subject_id FROM subjects_eligibilityverdict")]
    assert {created["subject_id"] for created in acknowledged} <= subjects
    assert sorted(verdicts) == sorted(subjects), "a subject without its verdict (or vice versa)"
    audited = query(
        "SELECT model, object_pk FROM audit_auditevent WHERE action = 'create' "
        "AND model IN ('subjects.subject', 'subjects.eligibilityverdict')"
    )
    audited_subjects = {int(pk) for model, pk in audited if model == "subjects.subject"}
    assert audited_subjects == subjects
    assert sum(model == "subjects.eligibilityverdict" for model, _ in audited) == len(subjects)
    verdict = json.loads(_cli(env, "audit", "verify", "--json"))
    assert verdict["ok"], verdict
