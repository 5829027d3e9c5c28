"""Enter a blinded read: validated like the site's lesion table, derived by the same core engine.

The subject's lock applies (a frozen or locked casebook, or a locked study, refuses the read with
409); a correction needs a reason; every read of the reader's series is re-derived in the same
audited transaction, so a refusal stores nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from pydantic import ValidationError

from ikctrial.errors import InputError
from ikctrial.protocol.validation import input_error
from ikctrial.web.audit.context import actor_name, audit_context
from ikctrial.web.central_review.models import CentralRead
from ikctrial.web.central_review.selectors import read_of, reader_subject, reads_of
from ikctrial.web.crf.entries import TumorAssessmentEntry
from ikctrial.web.crf.selectors import subject_dates
from ikctrial.web.crf.services import (
    DERIVED_REASON,
    jsonable,
    timepoint_values,
    tumor_series_results,
)
from ikctrial.web.errors import ConflictError
from ikctrial.web.signatures.selectors import ensure_data_editable
from ikctrial.web.sites.selectors import Actor
from ikctrial.web.subjects.models import Subject
from ikctrial.web.validation import save_validated


def _entry(data: Mapping[str, Any]) -> TumorAssessmentEntry:
    """The read as the site's lesion-table schema checks it, without any laboratory value."""
    if not isinstance(data, Mapping):
        raise InputError("", "the read must be a JSON object")
    if data.get("afp_within_normal_limits") is not None:
        raise InputError("afp_within_normal_limits", "a blinded read records images only")
    try:
        return TumorAssessmentEntry.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc) from None


def _derive(subject: Subject, reader: str) -> None:
    """RECIST 1.1 and mRECIST over the reader's own series, stored on each read."""
    reads = list(reads_of(subject, reader))
    results = tumor_series_results(reads, subject_dates(subject).randomization_date)
    for index, read in enumerate(reads):
        responses = {
            name: jsonable(
                timepoint_values(result.evaluation.timepoints[index], result.nadirs[index])
            )
            for name, result in results.items()
        }
        if responses != read.responses:
            read.responses = responses
            save_validated(read)


@transaction.atomic
def central_read_save(
    *,
    actor: Actor,
    subject_id: int,
    data: Mapping[str, Any],
    read_id: int | None = None,
    reason: str | None = None,
    source: str = "api",
) -> CentralRead:
    """Store a reader's read of one time point (or correct one, with a reason) and derive."""
    subject = reader_subject(actor, subject_id)
    entry = _entry(data)
    if read_id is not None and not (reason or "").strip():
        raise InputError("reason", "a reason is required to correct a saved read")
    subject = Subject.objects.select_for_update(of=("self",)).get(pk=subject.pk)
    ensure_data_editable(subject)
    reader = actor_name(actor)
    if read_id is None:
        read = CentralRead(subject=subject, reader=reader)
    else:
        read = read_of(subject, reader, read_id)
    duplicate = reads_of(subject, reader).filter(assessed_on=entry.assessed_on).exclude(pk=read.pk)
    if duplicate.exists():
        raise ConflictError(
            f"a read of {entry.assessed_on.isoformat()} is already recorded: correct that read"
        )
    values = jsonable(entry.model_dump(mode="python", exclude={"afp_within_normal_limits"}))
    for name, value in values.items():
        setattr(read, name, value)
    with audit_context(actor=actor, reason=reason, source=source):
        save_validated(read)
    with audit_context(actor=actor, reason=DERIVED_REASON, source=source):
        _derive(subject, reader)
    read.refresh_from_db()
    return read
