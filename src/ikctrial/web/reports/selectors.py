"""Reads of the report cuts: the list, the latest one, and a cut's file checked against its digest.

A cut's files stay where they were written (``DataExport.location``); a file is served only if its
SHA-256 still equals the one recorded in the audit trail, so a report edited on disk after the cut
is refused rather than shown as the cut.
"""

from __future__ import annotations

from pathlib import Path

from django.db.models import QuerySet

from ikctrial.analysis.files import file_sha256
from ikctrial.web.errors import ConflictError, NotFoundError
from ikctrial.web.exports.models import DataExport
from ikctrial.web.exports.selectors import exports_made
from ikctrial.web.sites.selectors import Actor

REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"
REPORT_FILES = (REPORT_HTML, REPORT_PDF)
"""The files of a cut: the self-contained HTML report and its PDF."""


def report_cuts(actor: Actor) -> QuerySet[DataExport]:
    """Every report cut recorded, newest first (for roles that may export)."""
    return exports_made(actor).filter(export_format=DataExport.Format.REPORT).reverse()


def report_cut(actor: Actor, cut_id: int | None = None) -> DataExport:
    """One cut by id, or when ``cut_id`` is None the latest whose report is still on disk (an API
    cut is answered as a download, not kept); ``NotFoundError`` if there is none."""
    cuts = report_cuts(actor)
    if cut_id is None:
        on_disk = (c for c in cuts if (Path(c.location) / REPORT_HTML).is_file())
        cut = next(on_disk, None)
    else:
        cut = cuts.filter(pk=cut_id).first()
    if cut is None:
        raise NotFoundError("no report has been made yet" if cut_id is None else "no such report")
    return cut


def report_file(cut: DataExport, name: str) -> Path:
    """The cut's file ``name`` on disk, if it is still the file the audit trail recorded."""
    recorded = {entry["name"]: entry["sha256"] for entry in cut.files}
    if name not in REPORT_FILES or name not in recorded:
        raise NotFoundError(f"report {cut.pk} has no file {name!r}")
    path = Path(cut.location) / name
    if not path.is_file():
        raise NotFoundError(f"report {cut.pk}: {path} is no longer on disk")
    if file_sha256(path) != recorded[name]:
        raise ConflictError(
            f"report {cut.pk}: {path} changed after the cut (SHA-256 differs from the audit trail)"
        )
    return path
