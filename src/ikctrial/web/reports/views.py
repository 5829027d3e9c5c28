"""The report pages for the analysis team (``data.export``: statistician, data manager).

``/reports/`` lists the cuts (newest first) with the latest one's summary and a button that cuts a
new report from the current data; ``/reports/latest/`` opens the latest report; a cut's HTML and
PDF are served from where they were written, only while they match the audit trail's digest.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ikctrial.web.errors import ConflictError
from ikctrial.web.exports.services import data_export
from ikctrial.web.pages.views import SOURCE, page
from ikctrial.web.reports.selectors import (
    REPORT_FILES,
    REPORT_HTML,
    report_cut,
    report_cuts,
    report_file,
)
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import authorize

_CONTENT_TYPES = {"report.html": "text/html; charset=utf-8", "report.pdf": "application/pdf"}


@page
@require_http_methods(["GET", "POST"])
def report_list(request: HttpRequest) -> HttpResponse:
    """The cuts made; POST cuts a new report of the current data into the report folder."""
    authorize(request.user, Action.DATA_EXPORT)
    if request.method == "POST":
        folder = settings.IKCTRIAL_REPORT_DIR / timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
        result = data_export(
            actor=request.user, export_format="report", folder=folder, source=SOURCE
        )
        messages.success(
            request,
            _("Report %(id)s of %(subjects)s subjects made.")
            % {"id": result.export.pk, "subjects": result.subjects},
        )
        return redirect("reports:list")
    cuts = list(report_cuts(request.user))
    return render(request, "reports/report_list.html", {"cuts": cuts, "files": REPORT_FILES})


@page
def report_latest(request: HttpRequest) -> HttpResponse:
    """The latest cut's HTML report."""
    cut = report_cut(request.user)
    return redirect("reports:file", cut_id=cut.pk, name=REPORT_HTML)


@page
def report_download(request: HttpRequest, cut_id: int, name: str) -> HttpResponse:
    """One file of a cut (409 if it changed on disk since the cut was recorded)."""
    cut = report_cut(request.user, cut_id)
    try:
        path = report_file(cut, name)
    except ConflictError as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
    return FileResponse(path.open("rb"), content_type=_CONTENT_TYPES[name])
