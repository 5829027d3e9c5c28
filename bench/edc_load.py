"""EDC write load: 32 clients doing audited CRF saves over HTTP vs pgbench on the same server.

Usage: .venv/bin/python bench/edc_load.py [--clients 32] [--seconds 15] [--warmup 3]
       [--workers 4] [--threads 1] [--server postgresql://postgres@127.0.0.1:5432]

What runs, all in this one invocation against the one PostgreSQL server:

1. pgbench TPC-B-like (``pgbench -i -s 10``, then ``-c CLIENTS -j 2 -T SECONDS``) on a scratch
   database: the server's raw transaction rate on this machine, the peer to compare with.
2. A scratch ikctrial database (``ikctrial db migrate``, a site, a coordinator and a token through
   the CLI), then ``ikctrial serve`` (gunicorn, ``--workers`` sync workers) and, through the API,
   one screened and consented subject per client with one vital-signs CRF record. Each client
   repeatedly corrects its own record (``PUT /api/v1/subjects/{id}/crf/vital_signs/{record}``: a
   changed blood pressure and a reason for the change): one audited transaction that locks the
   subject (site-scoped), checks that its casebook is open and the date follows consent, validates
   and updates the record, appends one hash-chained audit event with the old and new values, and
   runs the form's edit checks. The clients are wrk (``-t CLIENTS -c CLIENTS``: one thread and one
   connection per client, closed loop) with a Lua script generated here: a short warm-up run
   (``--warmup`` seconds, not counted), then the measured run. wrk is a C client like pgbench, so
   on a small machine the load generator takes little of the CPU the server needs (a Python client
   cost about 0.8 ms of CPU per request, out of the same cores as gunicorn and PostgreSQL).
3. In-process: saves replayed through the same Django stack (Django's test client, same
   settings), one with every statement captured (transaction control and the token lookup
   included), then the CPU time per save of that one Python process.

Printed: saves/s, p50/p95/p99 latency, statements and in-process CPU per save, pgbench tps, and the
ratio (target: saves/s >= 10% of pgbench tps with p99 < 100 ms). The machine (CPU count, load) and
the load client's own CPU per request are printed too: on a shared 2-core machine wrk, the gunicorn
workers and PostgreSQL share the same cores. A save that gets an HTTP status > 399 or a socket error
or timeout counts as failed. With closed-loop clients the mean latency is clients / throughput
(Little's law): 32 clients under 100 ms at p99 need well over 320 saves/s.
Scratch databases are dropped at the end. Loopback only.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlsplit

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


CONSENT = {"version": "1.0", "signed_on": "2026-03-01", "signed_by": "Bench patient"}
VITALS: dict[str, Any] = {
    "measured_at": "2026-03-05T08:00:00+08:00",
    "timepoint": "visit",
    "systolic_mmhg": 120,
    "diastolic_mmhg": 80,
    "heart_rate_bpm": 72,
}


def screening_record(client: int) -> dict[str, Any]:
    """The screening record of the client's subject."""
    record = copy.deepcopy(RECORD)
    record["subject_ref"] = f"BENCH-{client:03d}"
    return record


def correction(version: int) -> dict[str, Any]:
    """A correction of the vital-signs record: a different systolic value at every save."""
    vitals = {**VITALS, "systolic_mmhg": 100 + version % 150}
    return {"data": vitals, "reason": f"blood pressure re-read ({version})"}


def crf_record(base: str, headers: dict[str, str], client: int) -> str:
    """Screen and consent a subject and enter its vital signs; the record's URL (under /api/v1)."""
    created = requests.post(
        f"{base}/sites/{SITE}/subjects", json=screening_record(client), headers=headers
    )
    created.raise_for_status()
    subject = int(created.json()["subject_id"])
    consent = requests.post(f"{base}/subjects/{subject}/consent", json=CONSENT, headers=headers)
    consent.raise_for_status()
    entered = requests.post(
        f"{base}/subjects/{subject}/crf/vital_signs", json=VITALS, headers=headers
    )
    entered.raise_for_status()
    return f"/subjects/{subject}/crf/vital_signs/{entered.json()['id']}"


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


def correction_format() -> str:
    """``correction(version)`` as JSON with printf slots for (systolic, version): the Lua script
    fills them with ``string.format``, so wrk sends exactly the bodies this module defines."""
    sample = 1_000_003  # a version whose digits cannot be mistaken for its systolic value
    text = json.dumps(correction(sample)).replace("%", "%%")
    text = text.replace(f'"systolic_mmhg": {100 + sample % 150}', '"systolic_mmhg": %d')
    text = text.replace(f"({sample})", "(%d)")
    for version in (1, 149, 150, 12_345):
        if text % (100 + version % 150, version) != json.dumps(correction(version)):
            raise SystemExit(f"cannot build the Lua body format from correction(): {text}")
    return text


# wrk's Lua script: $-placeholders are filled in from Python (string.Template, so Lua's braces
# stay as they are). setup() runs once per wrk thread in the main Lua state and gives the thread
# its record and its last version; request() runs in the thread's own state; done() runs in the
# main state after the run and prints one JSON line (times in microseconds).
WRK_SCRIPT = Template("""\
local paths = {$paths}
local starts = {$starts}
local body = $body
local headers = {["Authorization"] = $authorization, ["Content-Type"] = "application/json"}
local threads = {}

function setup(thread)
  local index = #threads + 1
  thread:set("path", paths[index])
  thread:set("version", starts[index])
  threads[index] = thread
end

function request()
  version = version + 1
  return wrk.format("PUT", path, headers, body:format(100 + version % 150, version))
end

function done(summary, latency, requests)
  local versions = {}
  for index, thread in ipairs(threads) do
    versions[index] = thread:get("version")
  end
  local errors = summary.errors
  print(string.format(
    '{"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p95": %d, "p99": %d, '
      .. '"mean": %.1f}, "versions": [%s]}',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.mean, table.concat(versions, ", ")))
end
""")


@dataclass
class Run:
    """One wrk run, from its ``done()`` line: counts, times in seconds, and the client's CPU."""

    requests: int
    duration: float
    errors: dict[str, int]
    latency: dict[str, float]
    versions: list[int]
    client_cpu: float

    @property
    def failed(self) -> int:
        """Failed saves: HTTP status > 399, and connect, read, write and timeout errors."""
        return sum(self.errors.values())

    @property
    def saves(self) -> int:
        """Successful saves: completed responses less those with a status > 399 or timed out."""
        return max(0, self.requests - self.errors["status"] - self.errors["timeout"])


def wrk_run(
    wrk: str, base: str, token: str, records: list[str], starts: list[int], seconds: int
) -> Run:
    """Run wrk for ``seconds``, one thread and connection per record, versions after ``starts``."""
    origin = urlsplit(base)
    script = WRK_SCRIPT.substitute(
        paths=", ".join(json.dumps(f"{origin.path}{record}") for record in records),
        starts=", ".join(str(start) for start in starts),
        body=json.dumps(correction_format()),
        authorization=json.dumps(f"Bearer {token}"),
    )
    clients = str(len(records))
    url = f"{origin.scheme}://{origin.netloc}/"
    with tempfile.TemporaryDirectory(prefix="edc_load_") as directory:
        path = Path(directory) / "corrections.lua"
        path.write_text(script)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = subprocess.run(
            [wrk, "-t", clients, "-c", clients, "-d", f"{seconds}s", "-s", str(path), url],
            capture_output=True,
            text=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in result.stdout.splitlines() if line.startswith('{"requests"')]
    if result.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed:\n{result.stdout}{result.stderr}")
    report = json.loads(lines[-1])
    return Run(
        requests=report["requests"],
        duration=report["duration_us"] / 1e6,
        errors=report["errors"],
        latency={key: value / 1000 for key, value in report["latency_us"].items()},
        versions=report["versions"],
        client_cpu=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )


def load(wrk: str, base: str, token: str, records: list[str], seconds: int, warmup: int) -> Run:
    """The warm-up run (not counted, skipped if 0 s), then the measured run, versions continued."""
    starts = [0] * len(records)
    if warmup > 0:
        starts = wrk_run(wrk, base, token, records, starts, warmup).versions
    return wrk_run(wrk, base, token, records, starts, seconds)


IN_PROCESS_SNIPPET = """
import json, sys, time
from ikctrial.web.bootstrap import setup_django
setup_django()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
record, token, bodies = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
client = Client(headers={"Authorization": f"Bearer {token}"})
url = f"/api/v1{record}"
def save(body):
    response = client.put(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
save(bodies[0])
with CaptureQueriesContext(connection) as captured:
    save(bodies[1])
statements = len(captured.captured_queries)  # before the next request resets the query log
began = time.process_time()
for body in bodies[2:]:
    save(body)
print(statements, (time.process_time() - began) / (len(bodies) - 2))
"""
IN_PROCESS_SAVES = 200


def in_process_save(env: dict[str, str], token: str, record: str) -> tuple[int, float]:
    """One save replayed in-process (same settings): its statements, and CPU seconds per save.

    The statements include transaction control and the token lookup; the CPU time (this Python
    process alone, over ``IN_PROCESS_SAVES`` saves) is less sensitive to a busy machine than the
    throughput is.
    """
    bodies = json.dumps([correction(version) for version in range(IN_PROCESS_SAVES + 2)])
    measured = subprocess.run(
        [sys.executable, "-c", IN_PROCESS_SNIPPET, record, token, bodies],
        env={**env, "IKCTRIAL_DB_POOL": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    statements, seconds = measured.stdout.strip().splitlines()[-1].split()
    return int(statements), float(seconds)


def main() -> None:
    """Run pgbench and the EDC load in one go and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=15, help="whole seconds (pgbench, wrk)")
    parser.add_argument("--warmup", type=int, default=3, help="wrk warm-up seconds, 0 for none")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found (Debian: apt-get install wrk)")

    console.print(f"pgbench TPC-B-like: {args.clients} clients, {args.seconds:.0f} s ...")
    with scratch_database(args.server, "ikctrial_bench_pgbench") as url:
        tps = pgbench_tps(url, args.clients, args.seconds)

    with scratch_database(args.server, "ikctrial_bench_edc") as url:
        env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
        env["IKCTRIAL_DATABASE_URL"] = url
        cli(env, "db", "migrate")
        cli(env, "site", "create", SITE, "--name", "Benchmark hospital")
        cli(env, "user", "create", USER, "--role", "coordinator", "--site", SITE)
        token = json.loads(cli(env, "token", "create", USER, "--json"))["token"]
        with server(env, args.workers, args.threads) as base:
            headers = {"Authorization": f"Bearer {token}"}
            records = [crf_record(base, headers, index) for index in range(args.clients + 1)]
            console.print(f"EDC: {args.clients} clients saving CRFs for {args.seconds:.0f} s ...")
            run = load(wrk, base, token, records[:-1], args.seconds, args.warmup)
        statements, cpu_seconds = in_process_save(env, token, records[-1])
        with psycopg.connect(url) as db:
            (events,) = db.execute("SELECT count(*) FROM audit_auditevent").fetchone() or (0,)
        verdict = json.loads(cli(env, "audit", "verify", "--json"))

    saves_per_second = run.saves / run.duration
    p50, p95, p99 = (run.latency[key] for key in ("p50", "p95", "p99"))
    client_cpu = run.client_cpu * 1000 / max(run.requests, 1)
    pooling = "psycopg pool" if args.threads > 1 else "one persistent connection each"
    table = Table(title=f"EDC audited CRF saves vs pgbench ({args.clients} clients, same server)")
    for column in ("measure", "value"):
        table.add_column(column)
    rows = [
        ("machine", f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"),
        ("server", f"ikctrial serve: {args.workers} workers x {args.threads} threads, {pooling}"),
        ("load client", f"wrk, one connection per client, {client_cpu:.2f} ms CPU per request"),
        ("pgbench TPC-B-like tps", f"{tps:.0f}"),
        ("EDC saves/s", f"{saves_per_second:.1f}"),
        ("EDC / pgbench", f"{saves_per_second / tps:.1%} (target >= 10%)"),
        ("latency p50 / p95 / p99", f"{p50:.0f} / {p95:.0f} / {p99:.0f} ms (target p99 < 100)"),
        ("SQL statements per save", str(statements)),
        ("in-process CPU per save", f"{cpu_seconds * 1000:.1f} ms (Django stack, one process)"),
        ("failed saves", str(run.failed)),
        ("audit events written / chain", f"{events} / {'intact' if verdict['ok'] else 'BROKEN'}"),
    ]
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
