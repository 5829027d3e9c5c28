"""Reads for the blinded reader: subjects by number only, lesion identification, the own reads.

Nothing here returns a subject record, an arm, a treatment, a lab value or the site's calls:
the reader's pages are built from these functions alone.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from ikctrial.web.central_review.models import CentralRead
from ikctrial.web.crf.models import TumorAssessment
from ikctrial.web.errors import NotFoundError
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize, may, sites_for_user
from ikctrial.web.subjects.models import Subject
from ikctrial.web.validation import MAX_ID


def reader_subjects(actor: Actor) -> QuerySet[Subject]:
    """Subjects of the reader's sites with at least one imaging time point."""
    if not may(actor, Action.CENTRAL_READ_ENTER):
        return Subject.objects.none()
    imaged = TumorAssessment.objects.values("subject")
    return (
        Subject.objects.filter(site__in=sites_for_user(actor), pk__in=imaged)
        .select_related("site")
        .order_by("screening_number")
    )


def reader_subject(actor: Actor, subject_id: int) -> Subject:
    """One subject the reader may read (403 for other roles; another site's is 404)."""
    authorize(actor, Action.CENTRAL_READ_ENTER)
    subject = None
    if 0 < subject_id <= MAX_ID:
        subject = reader_subjects(actor).filter(pk=subject_id).first()
    if subject is None:
        raise NotFoundError(f"subject {subject_id} not found")
    return subject


def imaging_timepoints(subject: Subject) -> list[dict[str, Any]]:
    """The subject's imaging dates and modality with the lesions identified (no measurement)."""
    return [
        {
            "assessed_on": assessment.assessed_on,
            "modality": assessment.modality,
            "lesions": [
                {"id": row["id"], "organ": row["organ"], "nodal": row["nodal"], "kind": "target"}
                for row in assessment.target
            ]
            + [
                {
                    "id": row["id"],
                    "organ": row["organ"],
                    "nodal": row["nodal"],
                    "kind": "non_target",
                }
                for row in assessment.non_target
            ],
        }
        for assessment in TumorAssessment.objects.filter(subject=subject).order_by("assessed_on")
    ]


def reads_of(subject: Subject, reader: str) -> QuerySet[CentralRead]:
    """One reader's reads of one subject, in date order."""
    return CentralRead.objects.filter(subject=subject, reader=reader).order_by("assessed_on")


def read_of(subject: Subject, reader: str, read_id: int) -> CentralRead:
    """One of the reader's own reads (another reader's, or none, is 404)."""
    read = reads_of(subject, reader).filter(pk=read_id).first()
    if read is None:
        raise NotFoundError(f"read {read_id} not found")
    return read
