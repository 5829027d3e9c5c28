"""The data cut-off section: the cut-off the datasets were built at and the audit-chain verdict
(``GET /api/v1/audit/verify``: ``ok``, ``events``, ``first_bad_event``, and any further keys)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ikctrial.report.document import Section, key_value_table, paragraph


def audit_verdict(audit: Mapping[str, Any]) -> str:
    """ "Intact" or "Broken at event N", from the verdict dict."""
    if audit.get("ok") is True:
        return "Intact"
    bad = audit.get("first_bad_event")
    return "Broken" if bad is None else f"Broken at event {bad}"


def cutoff_section(cutoff: datetime, audit: Mapping[str, Any]) -> Section:
    """The cut-off and the verification of the audit chain, every key of the verdict shown."""
    verdict = audit_verdict(audit)
    events = audit.get("events")
    summary = (
        f"Audit chain {verdict.lower()}: {events} events checked."
        if events is not None
        else f"Audit chain {verdict.lower()}."
    )
    body = key_value_table({"Data cut-off": cutoff.isoformat(), "Audit chain": verdict})
    body += paragraph(summary, css_class="audit-ok" if audit.get("ok") is True else "audit-broken")
    body += key_value_table(
        {str(k): "—" if v is None else v for k, v in audit.items()}, table_id="audit-verdict"
    )
    body += paragraph(
        "Verification recomputes every audit event's hash and its link to the event before; "
        "intact means no audit event was altered, removed or reordered after it was written.",
        css_class="note",
    )
    return Section("cutoff", "Data cut-off and audit trail", body)
