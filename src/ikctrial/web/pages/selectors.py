"""Reads composed for the pages from the EDC selectors (site scoping: ``subjects_for_user``).

Nothing here filters by site or role itself: it only groups what ``sites_for_user``,
``subjects_for_user`` and ``query_listing`` return.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ikctrial.clinical.visit_schedule import VisitStatus
from ikctrial.web.crf.models import StudyExit
from ikctrial.web.crf.selectors import visit_rows
from ikctrial.web.queries.models import DataQuery
from ikctrial.web.queries.selectors import QueryFilter, query_listing
from ikctrial.web.sites.models import Site
from ikctrial.web.sites.selectors import Actor, sites_for_user
from ikctrial.web.subjects.selectors import subject_status, subjects_for_user

STATUS_ORDER = ("screened", "screen_failed", "consented", "randomized", "randomized_in_error")
"""The statuses ``subject_status`` gives, in the order a subject passes through them."""


@dataclass
class SiteCounts:
    """Subjects of one site: screened in all, eligible, at each status, on treatment, completed,
    withdrawn; visits overdue today; open data queries."""

    site: Site
    screened: int = 0
    eligible: int = 0
    undetermined: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    on_treatment: int = 0
    """Randomized (not in error) and not yet at the end of study."""
    completed: int = 0
    withdrawn: int = 0
    overdue_visits: int = 0
    """Protocol visits past their window with nothing recorded, over the subjects on treatment."""
    open_queries: int = 0

    def status_counts(self) -> list[tuple[str, int]]:
        """``(status, count)`` for every status, in pathway order (zeros included)."""
        return [(status, self.by_status[status]) for status in STATUS_ORDER]


def site_counts(actor: Actor) -> list[SiteCounts]:
    """One row per site the actor sees, counting only the subjects and queries it may see."""
    rows = {site.pk: SiteCounts(site=site) for site in sites_for_user(actor).order_by("code")}
    subjects = subjects_for_user(actor).prefetch_related("consents")
    exits = dict(StudyExit.objects.filter(subject__in=subjects).values_list("subject_id", "status"))
    for subject in subjects:
        row = rows.get(subject.site_id)
        if row is None:
            continue
        row.screened += 1
        eligible = subject.verdict.eligible
        row.eligible += eligible is True
        row.undetermined += eligible is None
        status = subject_status(subject)
        row.by_status[status] += 1
        if status != "randomized":
            continue
        exit_status = exits.get(subject.pk)
        if exit_status == "completed":
            row.completed += 1
        elif exit_status is not None:
            row.withdrawn += 1
        else:
            row.on_treatment += 1
            overdue = (r for r in visit_rows(subject) if r.status is VisitStatus.OVERDUE)
            row.overdue_visits += sum(1 for _ in overdue)
    open_queries = query_listing(actor, QueryFilter(status=DataQuery.Status.OPEN))
    for site_id in open_queries.values_list("subject__site_id", flat=True):
        if site_id in rows:
            rows[site_id].open_queries += 1
    return list(rows.values())
