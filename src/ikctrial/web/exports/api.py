"""API of the standard exports and the trial report: ``POST /exports/{format}`` answers a zip of
the files, streamed from disk; ``GET /exports`` lists the exports made. Both need
``data.export``."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Any

from django.http import FileResponse, HttpRequest
from ninja import Router

from ikctrial.web.exports.selectors import export_document, exports_made
from ikctrial.web.exports.services import data_export

router = Router(tags=["exports"])


@router.post(
    "/exports/{export_format}",
    response={200: None},
    summary="Export SDTM, ADaM, ODM, FHIR or the trial report (a zip download)",
)
def export_create(request: HttpRequest, export_format: str) -> FileResponse:
    """Write the export (recorded in the audit trail) and answer its files as one zip."""
    with tempfile.TemporaryDirectory(prefix="ikctrial-export-") as folder:
        result = data_export(
            actor=request.auth, export_format=export_format, folder=Path(folder) / "files"
        )
        archive = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the response
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in result.files:
                zipped.write(path, path.name)
    archive.seek(0)
    stamp = result.export.created_at.strftime("%Y%m%dT%H%M%SZ")
    response = FileResponse(
        archive,
        as_attachment=True,
        filename=f"ikctrial-{export_format}-{stamp}.zip",
        content_type="application/zip",
    )
    response["X-Export-Id"] = str(result.export.pk)
    return response


@router.get("/exports", response=list[dict[str, Any]], summary="The exports made")
def export_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Every export: format, who, when, how many subjects, files with their SHA-256."""
    return [export_document(export) for export in exports_made(request.auth)]
