"""``ikctrial audit verify`` and ``ikctrial audit export`` (interfaces.md, Web service and API)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ikctrial.cli.main import app
from ikctrial.web.audit.context import audit_context
from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.audit.services import CSV_COLUMNS

pytestmark = pytest.mark.django_db(transaction=True, available_apps=["ikctrial.web.audit"])
runner = CliRunner()


@pytest.fixture
def events(probe: Any) -> list[AuditEvent]:
    """Three creates and a two-field correction."""
    with audit_context(actor="ana"):
        rows = [probe.objects.create(name=f"c{i}", count=i) for i in range(3)]
    with audit_context(actor="bob", reason='SDV, "quoted" reason'):
        rows[1].count, rows[1].flag = 7, True
        rows[1].save()
    return list(AuditEvent.objects.order_by("id"))


def test_verify_json_reports_an_intact_trail(events: list[AuditEvent]) -> None:
    """``audit verify --json`` prints ``{"ok", "events", "first_bad_event"}`` and exits 0."""
    result = runner.invoke(app, ["audit", "verify", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"ok": True, "events": 4, "first_bad_event": None}


def test_verify_names_the_first_bad_event(events: list[AuditEvent], tamper: Any) -> None:
    """A broken trail is the verdict, not a failure of the command: exit 0 (interfaces.md gives
    exit 1 only where it says so, and not for ``audit verify``), ``ok`` false in the JSON."""
    tamper("UPDATE audit_auditevent SET actor = 'x' WHERE id = %s", [events[2].id])
    result = runner.invoke(app, ["audit", "verify", "--json"])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["ok"] is False
    assert verdict["first_bad_event"] == events[2].id
    text = runner.invoke(app, ["audit", "verify"])
    assert text.exit_code == 0
    assert f"first bad event {events[2].id}" in text.stdout


def test_export_csv_lists_one_line_per_changed_field(
    events: list[AuditEvent], tmp_path: Path
) -> None:
    """CSV export: who, when, what, old, new, why; a window keeps only its events."""
    out = tmp_path / "audit.csv"
    since = events[3].timestamp.isoformat()
    result = runner.invoke(
        app, ["audit", "export", "--since", since, "--format", "csv", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["field"], r["old_value"], r["new_value"]) for r in rows] == [
        ("count", "1", "7"),
        ("flag", "false", "true"),
    ]
    assert {(r["actor"], r["reason"], r["event_id"]) for r in rows} == {
        ("bob", 'SDV, "quoted" reason', str(events[3].id))
    }


def test_export_json_to_stdout_within_a_window(events: list[AuditEvent]) -> None:
    """JSON export: an array of events; ``until`` is exclusive."""
    until = events[3].timestamp.isoformat()
    result = runner.invoke(app, ["audit", "export", "--until", until, "--format", "json"])
    assert result.exit_code == 0, result.output
    exported = json.loads(result.stdout)
    assert [e["id"] for e in exported] == [e.id for e in events[:3]]
    assert exported[0]["changes"]["name"] == [None, "c0"]
    assert exported[0]["hash"] == events[0].hash


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--since", "yesterday"], "since: 'yesterday' is not an ISO 8601 date or date-time"),
        (["--format", "xml"], "format: 'xml' is not one of csv, json"),
        (["--since", "2026-03-02", "--until", "2026-03-01"], "until: must not be before since"),
    ],
)
def test_export_bad_input_exits_2(arguments: list[str], message: str) -> None:
    """interfaces.md: bad input exits 2 with one line naming the field and the problem."""
    result = runner.invoke(app, ["audit", "export", *arguments])
    assert result.exit_code == 2
    assert result.stderr.strip() == message
