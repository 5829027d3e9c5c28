"""The EDC commands: db migrate, site/user/token create, randomization generate, serve.

In-process (``CliRunner``) on the test database for the rules; one subprocess run on a fresh SQLite
file for the real entry point (settings from ``IKCTRIAL_DATABASE_URL``, migrations, token hashing).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ikctrial.cli.main import app
from ikctrial.cli.serve import gunicorn_argv
from ikctrial.web.randomization.models import AllocationSlot, RandomizationList
from ikctrial.web.sites.models import ApiToken, Site, Staff

runner = CliRunner()
IKCTRIAL = [str(Path(sys.executable).with_name("ikctrial"))]


def _run(*args: str, stdin: str | None = None) -> object:
    return runner.invoke(app, list(args), input=stdin)


@pytest.mark.django_db
def test_site_create_and_refusals() -> None:
    """site create: JSON; a duplicate, a bad code or a bad time zone exits 2 and writes nothing."""
    created = _run(
        "site", "create", "TPE01", "--name", "Taipei", "--timezone", "Asia/Taipei", "--json"
    )
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout) == {
        "code": "TPE01",
        "name": "Taipei",
        "timezone": "Asia/Taipei",
    }
    duplicate = _run("site", "create", "TPE01", "--name", "Again")
    assert duplicate.exit_code == 2
    assert "already exists" in duplicate.stderr
    assert Site.objects.get().name == "Taipei"
    bad_zone = _run("site", "create", "KHH01", "--name", "K", "--timezone", "Mars/Olympus")
    assert bad_zone.exit_code == 2
    assert bad_zone.stderr.startswith("timezone: ")
    bad_code = _run("site", "create", "bad code", "--name", "K")
    assert bad_code.exit_code == 2
    assert bad_code.stderr.startswith("code: ")
    assert list(Site.objects.values_list("code", flat=True)) == ["TPE01"]


@pytest.mark.django_db
def test_user_and_token_create() -> None:
    """user create with role and sites; bad role/site exit 2; the token is stored only as a hash."""
    assert _run("site", "create", "TPE01", "--name", "Taipei").exit_code == 0
    made = _run(
        "user", "create", "alice", "--role", "investigator", "--site", "TPE01",
        "--password-stdin", "--json", stdin="correct horse battery staple\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout) == {
        "username": "alice",
        "role": "investigator",
        "sites": ["TPE01"],
    }
    staff = Staff.objects.get(user__username="alice")
    assert staff.user.check_password("correct horse battery staple")
    again = _run("user", "create", "alice", "--role", "qa")
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    assert Staff.objects.get(user__username="alice").role == "investigator"
    bad_role = _run("user", "create", "bob", "--role", "wizard")
    assert bad_role.exit_code == 2
    assert bad_role.stderr.startswith("role: 'wizard' is not one of investigator")
    bad_site = _run("user", "create", "bob", "--role", "qa", "--site", "NOPE")
    assert bad_site.exit_code == 2
    weak = _run("user", "create", "carol", "--role", "qa", "--password-stdin", stdin="123\n")
    assert weak.exit_code == 2
    assert not Staff.objects.filter(user__username__in=["bob", "carol"]).exists()
    token = _run("token", "create", "alice")
    assert token.exit_code == 0
    value = token.stdout.strip()
    assert value.startswith("ikc_")
    assert len(value) > 40
    stored = ApiToken.objects.get()
    assert stored.digest == hashlib.sha256(value.encode()).hexdigest()
    assert value not in {stored.digest, stored.prefix}
    unknown = _run("token", "create", "nobody")
    assert unknown.exit_code == 2


@pytest.mark.django_db
def test_randomization_generate_once() -> None:
    """generate prints strata and slot counts, never an arm; a second call needs --replace."""
    first = _run("randomization", "generate", "--seed", "42", "--size", "6", "--json")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["strata"] == [
        "bclc=B|child_pugh=A",
        "bclc=B|child_pugh=B",
        "bclc=C|child_pugh=A",
        "bclc=C|child_pugh=B",
    ]
    assert all(count >= 6 for count in summary["slots_per_stratum"].values())
    assert "IKC_TACE" not in first.stdout
    assert AllocationSlot.objects.count() == sum(summary["slots_per_stratum"].values())
    slots = list(AllocationSlot.objects.order_by("pk").values_list("pk", "arm"))
    second = _run("randomization", "generate", "--seed", "43")
    assert second.exit_code == 2
    assert "--replace" in second.stderr
    assert list(AllocationSlot.objects.order_by("pk").values_list("pk", "arm")) == slots
    table = _run("randomization", "generate", "--seed", "43", "--size", "6", "--replace")
    assert table.exit_code == 0
    assert "bclc=C|child_pugh=A" in table.stdout
    assert "IKC_TACE" not in table.stdout
    assert RandomizationList.objects.count() == 2
    negative = _run("randomization", "generate", "--seed", "-1")
    assert negative.exit_code == 2


@pytest.mark.django_db
def test_randomization_generate_as_a_named_user() -> None:
    """--user: a statistician may generate; an investigator may not (exit 2, nothing written)."""
    assert _run("site", "create", "TPE01", "--name", "T").exit_code == 0
    assert _run("user", "create", "sam", "--role", "statistician").exit_code == 0
    assert _run("user", "create", "ivy", "--role", "investigator", "--site", "TPE01").exit_code == 0
    refused = _run("randomization", "generate", "--seed", "1", "--size", "2", "--user", "ivy")
    assert refused.exit_code == 2
    assert "may not perform randomization.generate" in refused.stderr
    assert not RandomizationList.objects.exists()
    unknown = _run("randomization", "generate", "--seed", "1", "--size", "2", "--user", "nobody")
    assert unknown.exit_code == 2
    assert not RandomizationList.objects.exists()
    done = _run("randomization", "generate", "--seed", "1", "--size", "2", "--user", "sam")
    assert done.exit_code == 0
    assert RandomizationList.objects.get().generated_by == "sam"


def test_serve_runs_gunicorn() -> None:
    """serve execs gunicorn on the WSGI app: sync workers, or gthread with --threads > 1."""
    argv = gunicorn_argv(host="127.0.0.1", port=8123, workers=3, threads=1)
    assert argv[1:4] == ["-m", "gunicorn", "ikctrial.web.wsgi:application"]
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8123"
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[argv.index("--worker-class") + 1] == "sync"
    threaded = gunicorn_argv(host="0.0.0.0", port=80, workers=1, threads=4)
    assert threaded[threaded.index("--worker-class") + 1] == "gthread"


def test_fresh_sqlite_database_end_to_end(tmp_path: Path) -> None:
    """The installed entry point on a new SQLite file: migrate, site, user, token, list."""
    database = tmp_path / "trial.sqlite3"
    env = {**os.environ, "IKCTRIAL_DATABASE_URL": f"sqlite:///{database}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*IKCTRIAL, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    migrated = cli("db", "migrate", "--json")
    assert migrated.returncode == 0, migrated.stderr
    assert json.loads(migrated.stdout)["database"] == "sqlite"
    assert database.exists()
    assert cli("site", "create", "TPE01", "--name", "Taipei").returncode == 0
    assert (
        cli("user", "create", "alice", "--role", "coordinator", "--site", "TPE01").returncode == 0
    )
    token = cli("token", "create", "alice")
    assert token.returncode == 0, token.stderr
    generated = cli("randomization", "generate", "--seed", "7", "--size", "4", "--json")
    assert generated.returncode == 0, generated.stderr
    with sqlite3.connect(database) as connection:
        digests = [row[0] for row in connection.execute("SELECT digest FROM sites_apitoken")]
        actors = {row[0] for row in connection.execute("SELECT actor FROM audit_auditevent")}
    assert digests == [hashlib.sha256(token.stdout.strip().encode()).hexdigest()]
    assert all(actor.startswith("cli:") for actor in actors)
