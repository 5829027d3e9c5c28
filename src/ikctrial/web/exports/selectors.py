"""Reads of the exports made (the analysis team's own trace of what left the system)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from ikctrial.web.exports.models import DataExport
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize


def exports_made(actor: Actor) -> QuerySet[DataExport]:
    """Every export recorded, oldest first (for roles that may export)."""
    authorize(actor, Action.DATA_EXPORT)
    return DataExport.objects.order_by("created_at", "pk")


def export_document(export: DataExport) -> dict[str, Any]:
    """One export as the API shows it."""
    return {
        "id": export.pk,
        "format": export.export_format,
        "requested_by": export.requested_by,
        "created_at": export.created_at,
        "subjects": export.subjects,
        "files": export.files,
        "protocol": f"{export.protocol_nct_id} version {export.protocol_version}",
    }
