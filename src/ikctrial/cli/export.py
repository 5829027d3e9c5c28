"""``ikctrial export sdtm|adam|odm|fhir --out DIR [--user NAME] [--json]``: the standard exports.

Each command writes the files of one format into DIR (created if needed) from the configured
database, through the same service as the API (``web.exports.services.data_export``), and the
export is recorded in the audit trail. Bad data (a response after death, a value XPT v5 cannot
hold) and refusals exit 2 with one line naming the subject and the field; nothing is written then.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ikctrial.cli.common import emit_json, stdout

app = typer.Typer()

_OUT = typer.Option(..., "--out", help="Folder to write the files into (created if needed).")
_USER = typer.Option(
    None, "--user", help="Export as this user (a statistician or data manager; their sites)."
)
_JSON = typer.Option(False, "--json", help="Print one JSON document.")


def write_export(export_format: str, out: Path, user: str | None, as_json: bool) -> None:
    """Run ``data_export`` for the command line and print its files (or one JSON document)."""
    from ikctrial.web.bootstrap import django_command

    with django_command() as operator:
        from ikctrial.web.exports.services import data_export
        from ikctrial.web.sites.selectors import staff_by_username

        actor = staff_by_username(user).user if user else operator
        result = data_export(actor=actor, export_format=export_format, folder=out, source="cli")
    document = {
        "format": export_format,
        "out": str(out),
        "export_id": result.export.pk,
        "subjects": result.subjects,
        "files": result.export.files,
    }
    if as_json:
        emit_json(document)
        return
    table = Table(title=f"{export_format} export of {result.subjects} subjects into {out}")
    for column in ("file", "bytes", "sha256"):
        table.add_column(column, justify="right" if column == "bytes" else "left")
    for entry in result.export.files:
        table.add_row(entry["name"], str(entry["bytes"]), entry["sha256"])
    stdout.print(table)


@app.command("sdtm")
def sdtm(out: Path = _OUT, user: str | None = _USER, as_json: bool = _JSON) -> None:
    """SDTM: trial design (TS, TA, TE, TV, TI) and DM, DS, IE, EX, PR, AE, LB, VS, CM, SV, TU,
    TR, RS as SAS XPORT v5 files."""
    write_export("sdtm", out, user, as_json)


@app.command("adam")
def adam(out: Path = _OUT, user: str | None = _USER, as_json: bool = _JSON) -> None:
    """ADaM: ADSL, ADTTE, ADRS, ADTR, ADLB, ADAE, ADEX, ADTACE as SAS XPORT v5 files and
    define.xml."""
    write_export("adam", out, user, as_json)


@app.command("odm")
def odm(out: Path = _OUT, user: str | None = _USER, as_json: bool = _JSON) -> None:
    """CDISC ODM 1.3.2: study metadata and clinical data with audit records."""
    write_export("odm", out, user, as_json)


@app.command("fhir")
def fhir(out: Path = _OUT, user: str | None = _USER, as_json: bool = _JSON) -> None:
    """FHIR R5 bundle: ResearchStudy, ResearchSubject, Patient, tumor-size Observations."""
    write_export("fhir", out, user, as_json)
