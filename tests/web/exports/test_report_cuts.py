"""Report cuts: ``ikctrial report``, the API's ``report`` format and the statistician's pages.

A cut goes through ``data_export`` like the standard exports: the right is ``data.export``, the
files are recorded with their SHA-256 and folder in the audit trail, and a page serves a cut's
file only while it still matches that digest.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from typer.testing import CliRunner

from ikctrial.cli.main import app
from ikctrial.web.sites.permissions import Role

pytestmark = pytest.mark.slow


def _pages(export_trial: Any, role: str) -> Client:
    client = Client()
    client.force_login(export_trial.trial.users[role])
    return client


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_report_writes_html_and_pdf_and_records_them(export_trial: Any, tmp_path: Path) -> None:
    from ikctrial.web.audit.models import AuditEvent
    from ikctrial.web.exports.models import DataExport

    exported = CliRunner().invoke(app, ["export", "odm", "--out", str(tmp_path / "odm")])
    assert exported.exit_code == 0, exported.output
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    trial_data = AuditEvent.objects.exclude(model="exports.dataexport")
    assert trial_data.latest("timestamp").timestamp.isoformat() in html  # the data cut-off
    for section in ("consort", "baseline", "pfs", "safety", "design", "cutoff"):
        assert f'id="{section}"' in html, section
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    cut = DataExport.objects.get(export_format="report")
    assert cut.subjects == 3
    assert cut.created_at > trial_data.latest("timestamp").timestamp
    assert Path(cut.location) == tmp_path.resolve()
    assert {e["name"]: e["sha256"] for e in cut.files} == {
        "report.html": _digest(tmp_path / "report.html"),
        "report.pdf": _digest(tmp_path / "report.pdf"),
    }
    assert AuditEvent.objects.filter(model="exports.dataexport", object_pk=str(cut.pk)).exists()


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR])
def test_roles_without_export_right_get_403(export_trial: Any, role: str) -> None:
    client = _pages(export_trial, role)
    assert client.get("/reports/").status_code == 403
    assert client.post("/reports/").status_code == 403


def test_statistician_cuts_a_report_on_the_page_and_opens_the_latest(
    export_trial: Any, tmp_path: Path, settings: Any
) -> None:
    from ikctrial.web.exports.models import DataExport

    settings.IKCTRIAL_REPORT_DIR = tmp_path
    client = _pages(export_trial, Role.STATISTICIAN)
    empty = client.get("/reports/")
    assert empty.status_code == 200
    assert b"No report has been made yet" in empty.content
    assert client.get("/reports/latest/").status_code == 404
    made = client.post("/reports/", follow=True)
    assert made.status_code == 200
    cut = DataExport.objects.get(export_format="report")
    assert f"Report {cut.pk} of 2 subjects made".encode() in made.content
    assert Path(cut.location).parent == tmp_path
    latest = client.get("/reports/latest/", follow=True)
    assert latest.status_code == 200
    assert latest["Content-Type"].startswith("text/html")
    body = b"".join(latest.streaming_content)
    assert b'id="km-at-risk"' in body
    pdf = client.get(f"/reports/{cut.pk}/report.pdf")
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert client.get(f"/reports/{cut.pk}/define.xml").status_code == 404


def test_a_report_changed_on_disk_is_refused(export_trial: Any, tmp_path: Path) -> None:
    from ikctrial.web.exports.models import DataExport

    assert CliRunner().invoke(app, ["report", "--out", str(tmp_path)]).exit_code == 0
    cut = DataExport.objects.get(export_format="report")
    path = tmp_path / "report.html"
    path.write_text(path.read_text(encoding="utf-8").replace("IVY02", "IVY03"), encoding="utf-8")
    response = _pages(export_trial, Role.STATISTICIAN).get(f"/reports/{cut.pk}/report.html")
    assert response.status_code == 409
    assert b"changed after the cut" in response.content


def test_api_answers_the_report_as_a_zip(export_trial: Any) -> None:
    import io
    import zipfile

    response = export_trial.trial.client(Role.STATISTICIAN).post("/api/v1/exports/report")
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert sorted(archive.namelist()) == ["report.html", "report.pdf"]
