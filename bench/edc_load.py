"""EDC write load: 32 clients doing audited CRF saves over HTTP vs pgbench on the same server.

Usage: .venv/bin/python bench/edc_load.py [--clients 32] [--seconds 15] [--workers 4]
       [--threads 1] [--server postgresql://postgres@127.0.0.1:5432]

What runs, all in this one invocation against the one PostgreSQL server:

1. pgbench TPC-B-like (``pgbench -i -s 10``, then ``-c CLIENTS -j 2 -T SECONDS``) on a scratch
   database: the server's raw transaction rate on this machine, the peer to compare with.
2. A scratch ikctrial database (``ikctrial db migrate``, a site, a coordinator and a token through
   the CLI), one screened subject per client, then ``ikctrial serve`` (gunicorn, ``--workers``
   sync workers, psycopg connection pool). Each client repeatedly saves its subject's screening CRF
   (``PUT /api/v1/subjects/{id}/screening``: a changed record and a reason for the change): one
   audited transaction that updates the subject and re-runs and updates its eligibility verdict,
   writing two hash-chained audit events with old and new values.
3. SQL statements per save: one save replayed in-process through the same Django stack with every
   statement captured (transaction control included).

Printed: saves/s, p50/p95/p99 latency, statements per save, pgbench tps, and the ratio (target:
saves/s >= 10% of pgbench tps with p99 < 100 ms). The machine (CPU count, load) is printed too: on
a shared 2-core machine the client threads, gunicorn workers and PostgreSQL share the same cores.
Scratch databases are dropped at the end. Loopback only.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import requests
from rich.console import Console
from rich.table import Table

IKCTRIAL = str(Path(sys.executable).with_name("ikctrial"))
SITE = "BENCH"
USER = "bench_crc"
# The interfaces.md example screening record (eligible; BCLC C, Child-Pugh A).
RECORD: dict[str, Any] = {
    "subject_ref": "BENCH-000",
    "screening_date": "2026-03-02",
    "birth_date": "1958-07-14",
    "sex": "male",
    "consent": {"signed": True, "date": "2026-03-01", "version": "1.0"},
    "hcc_diagnosis": {"methods": ["CT", "AFP"]},
    "tumor": {
        "nodules": 4,
        "largest_mm": 38,
        "vascular_invasion": False,
        "extrahepatic_spread": False,
    },
    "ecog": 1,
    "labs": {
        "bilirubin": {"value": 1.4, "unit": "mg/dL"},
        "albumin": {"value": 3.4, "unit": "g/dL"},
        "inr": {"value": 1.2},
        "afp": {"value": 850, "unit": "ng/mL"},
    },
    "ascites": "none",
    "encephalopathy": "none",
    "prior_tace": False,
    "prior_therapies": [{"type": "chemotherapy", "end_date": "2025-11-20"}],
    "other_trial_end_date": None,
    "hiv": False,
    "htlv": False,
    "active_infection": False,
    "active_cardiac_disease": False,
    "encephalopathy_last_episode_date": None,
    "cns_disease": False,
    "brain_or_meningeal_metastasis": False,
    "pregnant": False,
    "breast_feeding": False,
    "childbearing_potential": False,
    "adequate_contraception": None,
}
console = Console(stderr=True)


def record_version(client: int, version: int) -> dict[str, Any]:
    """The subject's screening record, corrected: a different AFP value at every save."""
    record = copy.deepcopy(RECORD)
    record["subject_ref"] = f"BENCH-{client:03d}"
    record["labs"]["afp"]["value"] = 100 + version
    return record


@contextmanager
def scratch_database(server: str, name: str) -> Iterator[str]:
    """A new empty database on the server, dropped afterwards; yields its URL."""
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def pgbench_tps(url: str, clients: int, seconds: int) -> float:
    """TPC-B-like transactions per second (pgbench, scale 10, excluding connection time)."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise SystemExit("pgbench not found (Debian: postgresql-client / postgresql-contrib)")
    subprocess.run([pgbench, "-i", "-q", "-s", "10", url], check=True, capture_output=True)
    result = subprocess.run(
        [pgbench, "-c", str(clients), "-j", "2", "-T", str(seconds), url],
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(
        r"tps = ([0-9.]+) \((?:without initial connection time|excluding)", result.stdout
    )
    if match is None:
        raise SystemExit(f"cannot read pgbench output:\n{result.stdout}")
    return float(match.group(1))


def cli(env: dict[str, str], *args: str) -> str:
    """Run an ikctrial command; its stdout."""
    result = subprocess.run([IKCTRIAL, *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"ikctrial {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(env: dict[str, str], workers: int, threads: int) -> Iterator[str]:
    """``ikctrial serve`` on a free port; yields the API base URL; stops the server after."""
    port = free_port()
    command = [IKCTRIAL, "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(
        [*command, "--threads", str(threads)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/openapi.json", timeout=5).raise_for_status()
                break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("ikctrial serve did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def load(
    base: str, token: str, subjects: list[int], seconds: float, warmup: float
) -> tuple[list[float], int]:
    """Closed-loop clients (one per subject); latencies (s) of saves finished after the warmup."""
    start = time.monotonic()
    stop_at = start + warmup + seconds
    latencies: list[list[float]] = [[] for _ in subjects]
    errors = [0] * len(subjects)

    def client(index: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        version = 0
        while time.monotonic() < stop_at:
            version += 1
            body = {"record": record_version(index, version), "reason": f"AFP re-read ({version})"}
            began = time.monotonic()
            response = session.put(f"{base}/subjects/{subjects[index]}/screening", json=body)
            finished = time.monotonic()
            if response.status_code != 200:
                errors[index] += 1
            elif began >= start + warmup:
                latencies[index].append(finished - began)

    pool = [threading.Thread(target=client, args=(i,)) for i in range(len(subjects))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return [value for values in latencies for value in values], sum(errors)


STATEMENT_COUNT_SNIPPET = """
import json, sys
from ikctrial.web.bootstrap import setup_django
setup_django()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
subject, token, warm, measured = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
client = Client(headers={"Authorization": f"Bearer {token}"})
url = f"/api/v1/subjects/{subject}/screening"
client.put(url, warm, content_type="application/json")
with CaptureQueriesContext(connection) as captured:
    response = client.put(url, measured, content_type="application/json")
assert response.status_code == 200, response.content
print(len(captured.captured_queries))
"""


def statements_per_save(env: dict[str, str], token: str, subject: int) -> int:
    """Statements one save sends to the database (replayed in-process, same settings)."""
    warm, measured = (
        json.dumps({"record": record_version(999, version), "reason": "AFP re-read"})
        for version in (1, 2)
    )
    counted = subprocess.run(
        [sys.executable, "-c", STATEMENT_COUNT_SNIPPET, str(subject), token, warm, measured],
        env={**env, "IKCTRIAL_DB_POOL": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    return int(counted.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run pgbench and the EDC load in one go and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()

    console.print(f"pgbench TPC-B-like: {args.clients} clients, {args.seconds:.0f} s ...")
    with scratch_database(args.server, "ikctrial_bench_pgbench") as url:
        tps = pgbench_tps(url, args.clients, int(args.seconds))

    with scratch_database(args.server, "ikctrial_bench_edc") as url:
        env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
        env["IKCTRIAL_DATABASE_URL"] = url
        cli(env, "db", "migrate")
        cli(env, "site", "create", SITE, "--name", "Benchmark hospital")
        cli(env, "user", "create", USER, "--role", "coordinator", "--site", SITE)
        token = json.loads(cli(env, "token", "create", USER, "--json"))["token"]
        with server(env, args.workers, args.threads) as base:
            headers = {"Authorization": f"Bearer {token}"}
            subjects = []
            for index in range(args.clients + 1):
                created = requests.post(
                    f"{base}/sites/{SITE}/subjects", json=record_version(index, 0), headers=headers
                )
                created.raise_for_status()
                subjects.append(int(created.json()["subject_id"]))
            console.print(f"EDC: {args.clients} clients saving CRFs for {args.seconds:.0f} s ...")
            latencies, errors = load(base, token, subjects[:-1], args.seconds, args.warmup)
        statements = statements_per_save(env, token, subjects[-1])
        with psycopg.connect(url) as db:
            (events,) = db.execute("SELECT count(*) FROM audit_auditevent").fetchone() or (0,)
        verdict = json.loads(cli(env, "audit", "verify", "--json"))

    saves_per_second = len(latencies) / args.seconds
    p50, p95, p99 = (float(v) * 1000 for v in np.percentile(latencies, [50, 95, 99]))
    table = Table(title=f"EDC audited CRF saves vs pgbench ({args.clients} clients, same server)")
    for column in ("measure", "value"):
        table.add_column(column)
    rows = [
        ("machine", f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"),
        ("server", f"ikctrial serve: {args.workers} workers x {args.threads} threads, pool on"),
        ("pgbench TPC-B-like tps", f"{tps:.0f}"),
        ("EDC saves/s", f"{saves_per_second:.1f}"),
        ("EDC / pgbench", f"{saves_per_second / tps:.1%} (target >= 10%)"),
        ("latency p50 / p95 / p99", f"{p50:.0f} / {p95:.0f} / {p99:.0f} ms (target p99 < 100)"),
        ("SQL statements per save", str(statements)),
        ("failed saves", str(errors)),
        ("audit events written / chain", f"{events} / {'intact' if verdict['ok'] else 'BROKEN'}"),
    ]
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
