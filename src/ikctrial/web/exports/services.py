"""Export the trial data in a standard format, streamed, and record the export in the audit.

``data_export`` checks the right (``data.export``: statistician and data manager), reads the
randomized subjects of the actor's sites in chunks (``records``), has the core derive and write
the files into a staging folder beside the target, moves them into place only when every file
is written, and records a ``DataExport`` row (its audit event is the export's trace in the
hash-chained trail) with each file's size and SHA-256. Bad data (a response after death, a value
XPT v5 cannot hold) is an ``InputError`` naming the subject and the field; nothing is left then.

Formats (domain.md 10): ``sdtm`` (TS, TA, TE, TV, TI and DM ... RS as XPT v5), ``adam`` (ADSL
... ADEX and the sponsor's ADTACE as XPT v5 and ``define.xml``), ``odm`` (``metadata.xml``: study
metadata; ``clinical.xml``: every case report form record with its last audit record), ``fhir``
(``bundle.json``: R5 ResearchStudy, ResearchSubject, Patient, tumor-size Observations) and
``report`` (the trial report, ``report.html`` and ``report.pdf``: ``web.reports.services``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from ikctrial.analysis import odm
from ikctrial.analysis.context import AnalysisContext, analysis_context
from ikctrial.analysis.endpoints import populations
from ikctrial.analysis.exports import (
    FHIR_FILE,
    fhir_subject,
    tumor_sizes,
    write_adam_export,
    write_fhir_bundle,
    write_sdtm,
)
from ikctrial.analysis.fhir import StudySubject, TumorSize
from ikctrial.analysis.files import file_sha256
from ikctrial.analysis.records import TrialSubject, check_subject
from ikctrial.analysis.writers import write_xml
from ikctrial.errors import InputError
from ikctrial.protocol.model import Protocol
from ikctrial.web.audit.context import actor_name, audit_context
from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.crf.selectors import FORM_MODELS
from ikctrial.web.exports.models import DataExport
from ikctrial.web.exports.records import by_subject, chunks, exported_subjects, trial_subjects
from ikctrial.web.protocol import current_protocol
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize
from ikctrial.web.subjects.models import Subject
from ikctrial.web.validation import save_validated

ODM_METADATA_FILE = "metadata.xml"
ODM_CLINICAL_FILE = "clinical.xml"
_SKIPPED_FIELDS = frozenset({"id", "subject", "entered_by", "entered_at"})
_ODM_TYPES = {
    "DateField": "date",
    "DateTimeField": "datetime",
    "BooleanField": "boolean",
    "DecimalField": "float",
    "FloatField": "float",
    "IntegerField": "integer",
    "PositiveIntegerField": "integer",
    "PositiveSmallIntegerField": "integer",
    "SmallIntegerField": "integer",
}
STUDY_EVENT = "SE.STUDY"


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: its audit row, the files (in the target folder), subject count."""

    export: DataExport
    files: list[Path]
    subjects: int


class _Counted:
    """The actor's subjects, read from the database afresh at each pass (the XPT exports read
    them twice), counted as they stream past (the count goes into the audit); the writers check
    each subject."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.count = 0

    def __iter__(self) -> Iterator[TrialSubject]:
        self.count = 0
        for subject in trial_subjects(chunks(exported_subjects(self.actor))):
            self.count += 1
            yield subject


def _sdtm(
    protocol: Protocol, ctx: AnalysisContext, actor: Actor, folder: Path, created: datetime
) -> tuple[list[Path], int]:
    subjects = _Counted(actor)
    return write_sdtm(protocol, subjects, ctx, folder), subjects.count


def _adam(
    protocol: Protocol, ctx: AnalysisContext, actor: Actor, folder: Path, created: datetime
) -> tuple[list[Path], int]:
    subjects = _Counted(actor)
    return write_adam_export(protocol, subjects, ctx, folder, created=created), subjects.count


def _fhir(
    protocol: Protocol, ctx: AnalysisContext, actor: Actor, folder: Path, created: datetime
) -> tuple[list[Path], int]:
    """Two passes over the subjects (the bundle lists every subject before the observations)."""
    subjects = _Counted(actor)

    def study_subjects() -> Iterator[StudySubject]:
        for subject in subjects:
            check_subject(subject)
            actual = populations(subject, ctx).actual_arm
            yield fhir_subject(subject, actual)

    def sizes() -> Iterator[TumorSize]:
        for subject in trial_subjects(chunks(exported_subjects(actor))):
            yield from tumor_sizes(subject)

    target = folder / FHIR_FILE
    write_fhir_bundle(protocol, study_subjects(), sizes(), target, timestamp=created)
    return [target], subjects.count


def _oid_text(value: str) -> str:
    """A value usable in an OID (no blanks)."""
    return "_".join(value.split()) or "UNKNOWN"


def _item_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _last_audit(model: type[models.Model], rows: list[Any]) -> dict[str, AuditEvent]:
    """The last audit event of each row (who, when, why of its current value)."""
    keys = [str(row.pk) for row in rows]
    last: dict[str, AuditEvent] = {}
    events = AuditEvent.objects.filter(model=model._meta.label_lower, object_pk__in=keys)
    for event in events.order_by("timestamp", "id"):
        last[event.object_pk] = event
    return last


def _form_fields(model: type[models.Model]) -> list[Any]:
    """The fields of a form that ODM carries as items (keys and entry stamps are the audit's)."""
    return [f for f in model._meta.concrete_fields if f.name not in _SKIPPED_FIELDS]


def _item_oid(form: str, field: Any) -> str:
    return f"IT.{form.upper()}.{field.name.upper()}"


def form_definitions() -> list[odm.FormDefinition]:
    """The case report forms as ODM form definitions (every stored field an item)."""
    return [
        odm.FormDefinition(
            f"F.{form.upper()}",
            str(model._meta.verbose_name),
            [
                (_item_oid(form, f), f.name, _ODM_TYPES.get(f.get_internal_type(), "text"))
                for f in _form_fields(model)
            ],
        )
        for form, model in FORM_MODELS.items()
    ]


def _odm_chunk(chunk: list[Subject]) -> Iterator[odm.SubjectRecord]:
    """ODM subject records of a chunk: every form record, its fields as items, its audit."""
    ids = [s.pk for s in chunk]
    forms: dict[str, tuple[dict[int, list[Any]], dict[str, AuditEvent]]] = {}
    for form, model in FORM_MODELS.items():
        grouped = by_subject(model.objects.order_by("pk"), ids)
        forms[form] = (grouped, _last_audit(model, [r for rows in grouped.values() for r in rows]))
    for subject in chunk:
        location = f"LOC.{_oid_text(subject.site.code)}"
        form_records = []
        for form, (grouped, audits) in forms.items():
            groups = []
            for row in grouped.get(subject.pk, []):
                event = audits.get(str(row.pk))
                audit = (
                    None
                    if event is None
                    else odm.AuditRecord(
                        user_oid=f"USR.{_oid_text(event.actor)}",
                        location_oid=location,
                        timestamp=event.timestamp,
                        reason=event.reason or None,
                        source_id=f"AUDIT.{event.pk}",
                    )
                )
                items = [
                    odm.ItemValue(_item_oid(form, f), _item_text(getattr(row, f.attname)), audit)
                    for f in _form_fields(type(row))
                ]
                groups.append(odm.ItemGroupRecord(f"IG.{form.upper()}", items, str(row.pk)))
            if groups:
                form_records.append(odm.FormRecord(f"F.{form.upper()}", groups))
        yield odm.SubjectRecord(
            subject.screening_number, [odm.StudyEventRecord(STUDY_EVENT, form_records)]
        )


def _odm(
    protocol: Protocol, ctx: AnalysisContext, actor: Actor, folder: Path, created: datetime
) -> tuple[list[Path], int]:
    document = odm.add_forms(
        odm.study_metadata(protocol, created=created),
        event_oid=STUDY_EVENT,
        event_name="Case report forms",
        forms=form_definitions(),
    )
    metadata = write_xml(document, folder / ODM_METADATA_FILE)
    clinical = folder / ODM_CLINICAL_FILE
    count = odm.write_clinical_data(
        (record for chunk in chunks(exported_subjects(actor)) for record in _odm_chunk(chunk)),
        clinical,
        study_oid=f"ST.{protocol.sponsor_study_id}",
        metadata_version_oid=f"MDV.{protocol.version}",
        created=created,
    )
    return [metadata, clinical], count


def _report(
    protocol: Protocol, ctx: AnalysisContext, actor: Actor, folder: Path, created: datetime
) -> tuple[list[Path], int]:
    """The trial report (imported on use: matplotlib and WeasyPrint load only for a report)."""
    from ikctrial.web.reports.services import report_files

    return report_files(protocol, ctx, actor, folder, created)


_WRITERS: dict[
    str,
    Callable[[Protocol, AnalysisContext, Actor, Path, datetime], tuple[list[Path], int]],
] = {"sdtm": _sdtm, "adam": _adam, "odm": _odm, "fhir": _fhir, "report": _report}


def data_export(
    *, actor: Actor, export_format: str, folder: Path, source: str = "api"
) -> ExportResult:
    """Write one export into ``folder`` (created if needed) and record it in the audit trail."""
    authorize(actor, Action.DATA_EXPORT)
    if export_format not in _WRITERS:
        raise InputError("format", f"{export_format!r} is not one of {', '.join(_WRITERS)}")
    protocol = current_protocol()
    created = timezone.now()
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=folder))
    try:
        written, count = _WRITERS[export_format](
            protocol, analysis_context(protocol), actor, staging, created
        )
        files = [
            {"name": path.name, "bytes": path.stat().st_size, "sha256": file_sha256(path)}
            for path in written
        ]
        with transaction.atomic(), audit_context(actor=actor, source=source):
            export = DataExport(
                export_format=export_format,
                requested_by=actor_name(actor),
                created_at=created,
                subjects=count,
                files=files,
                location=str(folder.resolve()),
                protocol_nct_id=protocol.nct_id,
                protocol_version=protocol.version,
            )
            save_validated(export)
        final = []
        for path in written:
            os.replace(path, folder / path.name)
            final.append(folder / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(export, final, count)
