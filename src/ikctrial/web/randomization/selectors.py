"""Reads of randomization: the allocation log only (upcoming slots are never read here)."""

from __future__ import annotations

from typing import Any

from ikctrial.web.randomization.models import Randomization
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize


def allocation_log(actor: Actor) -> list[dict[str, Any]]:
    """Every allocation made, in number order (statistician and admin: domain.md 9.4)."""
    authorize(actor, Action.RANDOMIZATION_LOG_VIEW)
    rows = Randomization.objects.select_related("subject__site", "stratum").order_by(
        "randomization_list_id", "number"
    )
    return [
        {
            "randomization_number": row.number,
            "subject_id": row.subject_id,
            "screening_number": row.subject.screening_number,
            "site": row.subject.site.code,
            "stratum": row.stratum.levels,
            "arm": row.arm,
            "randomized_at": row.randomized_at,
            "randomized_by": row.randomized_by,
            "status": row.status,
            "error_reason": row.error_reason or None,
        }
        for row in rows
    ]
