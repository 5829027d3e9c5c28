"""Enter and correct case report forms: one path for every form, with per-form derivations.

``crf_record_save`` checks, in order: the subject is visible (404), the role may enter data (403),
the form input is valid (422, the field named), the casebook is neither frozen nor locked (409),
and every date respects consent and randomization (422). It then stores the record, lets the core
derive what it derives (visit window, CTCAE grade, SAE clock, RECIST 1.1 and mRECIST responses),
runs the protocol's edit checks (automatic queries), all in one audited transaction: a refusal
stores nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.db import models, transaction
from django.utils import timezone
from pydantic import ValidationError

from ikctrial.clinical.ctcae import RULES, ctcae_grade, ctcae_term
from ikctrial.clinical.ctcae import LabResult as CoreLabResult
from ikctrial.clinical.visit_schedule import VisitStatus, planned_visits, study_day
from ikctrial.errors import InputError
from ikctrial.protocol.validation import input_error
from ikctrial.response import (
    Assessment,
    Criteria,
    ResponseEvaluation,
    TimepointResponse,
    evaluate_assessments,
)
from ikctrial.web.audit.context import (
    AuditContext,
    actor_name,
    audit_context,
    current_audit_context,
)
from ikctrial.web.crf import entries
from ikctrial.web.crf.models import (
    CTCAE_VERSION,
    AdverseEvent,
    LabResult,
    TaceProcedure,
    TumorAssessment,
    TumorResponse,
    TumorResponseSummary,
    Visit,
)
from ikctrial.web.crf.selectors import (
    SAE_REPORT_HOURS,
    SubjectDates,
    field_values,
    form_model,
    json_number,
    record_of,
    subject_dates,
)
from ikctrial.web.errors import ConflictError
from ikctrial.web.protocol import current_protocol
from ikctrial.web.queries.models import DataQuery
from ikctrial.web.queries.services import edit_check_queries
from ikctrial.web.signatures.selectors import ensure_data_editable
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize
from ikctrial.web.subjects.models import Subject
from ikctrial.web.subjects.selectors import subject_for_update, subject_for_user
from ikctrial.web.validation import save_validated

DERIVED_REASON = "derived values re-computed after a change to the subject's data"
E = TypeVar("E", bound=entries.Entry)
BASELINE_RELATIVE_TESTS = frozenset({"ALT", "AST", "bilirubin", "creatinine", "inr"})
"""Tests whose CTCAE v5.0 grade may depend on the patient's baseline (domain.md 6.2)."""


@dataclass(frozen=True)
class FormSpec:
    """How one form is entered: its input schema, date rules and derivations."""

    entry: type[entries.Entry]
    after_consent: tuple[str, ...] = ()
    after_randomization: tuple[str, ...] = ()
    prepare: Callable[[Any, Any, SubjectDates], None] | None = None
    after_save: Callable[[Subject, SubjectDates], None] | None = None
    json_fields: tuple[str, ...] = ()
    one_per_subject: tuple[str, ...] | None = None
    """Fields that identify a record within the subject (``()``: one record per subject)."""


@dataclass(frozen=True)
class SavedRecord:
    """The stored record and the automatic queries its save opened."""

    form: str
    record: Any
    queries: list[DataQuery]


def _derived_context() -> AbstractContextManager[AuditContext]:
    """Re-derivations are attributed to whoever made the change that caused them."""
    current = current_audit_context()
    return audit_context(actor=current.actor, reason=DERIVED_REASON, source=current.source)


def jsonable(value: Any) -> Any:
    """Lesion rows and derived calls as stored JSON: decimals as JSON numbers, recursively."""
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


def _prepare_visit(record: Visit, entry: entries.VisitEntry, dates: SubjectDates) -> None:
    """Window and OUT_OF_WINDOW flag from the protocol calendar anchored on RANDDT (1.3, 1.5)."""
    assert dates.randomization_date is not None
    assert dates.arm is not None
    calendar = planned_visits(current_protocol(), dates.randomization_date, dates.arm)
    visit = next((v for v in calendar if v.code == entry.code), None)
    if visit is None:
        codes = ", ".join(v.code for v in calendar)
        raise InputError("code", f"{entry.code!r} is not a visit of this subject ({codes})")
    record.target_date = visit.target_date
    record.window_start = visit.window_start
    record.window_end = visit.window_end
    record.study_day = study_day(entry.done_on, dates.randomization_date)
    status = visit.status(done_on=entry.done_on, as_of=entry.done_on)
    record.out_of_window = status is VisitStatus.OUT_OF_WINDOW


def _first_treatment_date(subject: Subject, dates: SubjectDates) -> dt.date | None:
    """Baseline cut-off (6.2): first study treatment (first TACE), else RANDDT, else None."""
    first = TaceProcedure.objects.filter(subject=subject).order_by("performed_on").first()
    if first is not None:
        return first.performed_on
    return dates.randomization_date


def _baseline(lab: LabResult, history: list[LabResult], cutoff: dt.date | None) -> Decimal | None:
    """Last value of the same test (same unit) on or before the cut-off (domain.md 6.2)."""
    earlier = [
        other
        for other in history
        if cutoff is not None and other.collected_on <= cutoff and other.unit == lab.unit
    ]
    return earlier[-1].value if earlier else None


def _grade(lab: LabResult, history: list[LabResult], cutoff: dt.date | None) -> None:
    """Set the CTCAE v5.0 term, grade and baseline of one lab value (domain.md 6.2).

    A value on or before the baseline cut-off is graded against its normal range alone (its
    baseline grade, for the shift table); a later one against the patient's baseline.
    """
    if lab.test not in RULES:
        lab.ctcae_term, lab.ctcae_grade, lab.ctcae_version, lab.baseline_value = "", None, "", None
        return
    is_baseline_period = cutoff is None or lab.collected_on <= cutoff
    baseline = None if is_baseline_period else _baseline(lab, history, cutoff)
    graded_against = baseline
    if is_baseline_period and lab.test in BASELINE_RELATIVE_TESTS:
        graded_against = lab.uln if lab.uln is not None else lab.value
    core = CoreLabResult(
        id=lab.pk or 0,
        test=lab.test,
        value=lab.value,
        unit=lab.unit or None,
        lln=lab.lln,
        uln=lab.uln,
        baseline=graded_against,
        on_anticoagulants=lab.on_anticoagulants,
    )
    lab.ctcae_term = ctcae_term(core.test)
    lab.ctcae_grade = ctcae_grade(core)
    lab.ctcae_version = CTCAE_VERSION
    lab.baseline_value = baseline


def _prepare_lab(record: LabResult, entry: entries.LabEntry, dates: SubjectDates) -> None:
    """Grade the new or corrected value now, so a bad unit or range answers 422 naming it."""
    history = list(
        LabResult.objects.filter(subject=record.subject, test=record.test).exclude(pk=record.pk)
    )
    _grade(record, history, _first_treatment_date(record.subject, dates))


def regrade_labs(subject: Subject, dates: SubjectDates) -> None:
    """Re-derive every lab grade of the subject (a new baseline or TACE can change them)."""
    cutoff = _first_treatment_date(subject, dates)
    labs = list(LabResult.objects.filter(subject=subject).order_by("collected_on", "id"))
    with _derived_context():
        for lab in labs:
            before = (lab.ctcae_grade, lab.baseline_value, lab.ctcae_term)
            history = [other for other in labs if other.test == lab.test and other.pk != lab.pk]
            _grade(lab, history, cutoff)
            if (lab.ctcae_grade, lab.baseline_value, lab.ctcae_term) != before:
                save_validated(lab)


def _prepare_adverse_event(
    record: AdverseEvent, entry: entries.AdverseEventEntry, dates: SubjectDates
) -> None:
    """Seriousness from the six criteria, relatedness, and the 24 h SAE clock (6.6, 6.7)."""
    record.serious = entry.is_serious()
    record.related_ikc = entry.relatedness_ikc in entries.REASONABLE_POSSIBILITY
    record.related_tace = entry.relatedness_tace in entries.REASONABLE_POSSIBILITY
    aware = entry.site_aware_at
    if aware is not None and aware.astimezone(dates.zone).date() < entry.onset_date:
        raise InputError("site_aware_at", "is before the onset of the event")
    due = None if aware is None else aware + dt.timedelta(hours=SAE_REPORT_HOURS)
    record.sae_due_at = due if record.serious else None


def _core_assessments(assessments: list[TumorAssessment], criteria: Criteria) -> list[Any]:
    """The lesion tables as the engine's input under one criterion (mRECIST: viable diameters)."""
    diameter = "viable_diameter_mm" if criteria is Criteria.MRECIST else "diameter_mm"
    series = []
    for index, assessment in enumerate(assessments):
        series.append(
            {
                "date": assessment.assessed_on.isoformat(),
                "target": [
                    {
                        "id": row["id"],
                        "organ": row["organ"],
                        "nodal": row["nodal"],
                        "diameter_mm": row.get(diameter),
                    }
                    for row in assessment.target
                ],
                "non_target": assessment.non_target,
                "new_lesions": None if index == 0 else assessment.new_lesions,
                "modality": assessment.modality or None,
                "afp_within_normal_limits": assessment.afp_within_normal_limits,
            }
        )
    return series


def _upsert(
    model: type[models.Model], lookup: Mapping[str, Any], values: Mapping[str, Any]
) -> None:
    """Create the derived row, or update it when a derived value changed."""
    row = model.objects.filter(**lookup).first()
    if row is not None and all(getattr(row, name) == value for name, value in values.items()):
        return
    row = row or model(**lookup)
    for name, value in values.items():
        setattr(row, name, value)
    save_validated(row)


@dataclass(frozen=True)
class SeriesResult:
    """One criterion over a series: the engine's evaluation, and the nadir before each point."""

    evaluation: ResponseEvaluation
    nadirs: list[Decimal | None]
    """Smallest sum of the earlier time points (PD reference), per time point."""


def tumor_series_results(
    assessments: Sequence[Any], randomization_date: dt.date | None
) -> dict[str, SeriesResult]:
    """RECIST 1.1 and mRECIST over lesion tables in date order (stored or not), nothing saved.

    ``assessments`` are objects with the lesion-table attributes of ``TumorAssessment``; a bad
    table is an ``InputError`` under the criterion's name.
    """
    settings = current_protocol().response
    mrecist_floor = Decimal(str(settings.mrecist_pd_min_abs_increase_mm))
    results: dict[str, SeriesResult] = {}
    for name in settings.criteria:
        criteria = Criteria(name)
        try:
            rows = _core_assessments(list(assessments), criteria)
            series = [Assessment.model_validate(row) for row in rows]
            evaluation = evaluate_assessments(
                series,
                criteria=criteria,
                confirmation_required=settings.confirmation_required,
                min_sd_days=settings.sd_min_days,
                confirmation_min_days=max(settings.confirmation_min_days, 1),
                allow_ne_between_confirmation=settings.allow_ne_between_confirmation,
                mrecist_pd_min_abs_increase_mm=mrecist_floor
                if criteria is Criteria.MRECIST
                else None,
                randomization_date=randomization_date,
            )
        except ValidationError as exc:
            raise input_error(exc).under(name) from None
        except InputError as exc:
            raise exc.under(name) from None
        nadirs: list[Decimal | None] = []
        nadir: Decimal | None = None
        for point in evaluation.timepoints:
            nadirs.append(nadir)
            if point.sum_mm is not None:
                nadir = point.sum_mm if nadir is None else min(nadir, point.sum_mm)
        results[name] = SeriesResult(evaluation, nadirs)
    return results


def timepoint_values(point: TimepointResponse, nadir: Decimal | None) -> dict[str, Any]:
    """The derived call at one time point as ``TumorResponse`` stores it."""
    return {
        "sum_mm": point.sum_mm,
        "nadir_mm": nadir,
        "pct_change_from_baseline": point.pct_change_from_baseline,
        "pct_change_from_nadir": point.pct_change_from_nadir,
        "target_response": point.target_response or "",
        "non_target_response": point.non_target_response or "",
        "new_lesions": point.new_lesions.value,
        "overall_response": point.overall_response.value,
        "flags": list(point.flags),
    }


def derive_tumor_responses(subject: Subject, dates: SubjectDates) -> None:
    """RECIST 1.1 and mRECIST over the subject's series, stored per time point and per series."""
    assessments = list(TumorAssessment.objects.filter(subject=subject).order_by("assessed_on"))
    if not assessments:
        return
    results = tumor_series_results(assessments, dates.randomization_date)
    with _derived_context():
        for name, result in results.items():
            evaluation = result.evaluation
            points = zip(assessments, evaluation.timepoints, result.nadirs, strict=True)
            for assessment, point, nadir in points:
                _upsert(
                    TumorResponse,
                    {"assessment": assessment, "criteria": name},
                    timepoint_values(point, nadir),
                )
            _upsert(
                TumorResponseSummary,
                {"subject": subject, "criteria": name},
                {
                    "best_overall_response": evaluation.best_overall_response.value,
                    "progression_date": evaluation.progression_date,
                    "best_pct_change": evaluation.best_pct_change,
                    "flags": list(evaluation.flags),
                },
            )


def _after_tace(subject: Subject, dates: SubjectDates) -> None:
    """A TACE date moves the lab baseline cut-off: re-grade the labs."""
    regrade_labs(subject, dates)


FORMS: dict[str, FormSpec] = {
    "visit": FormSpec(
        entries.VisitEntry, ("done_on",), prepare=_prepare_visit, one_per_subject=("code",)
    ),
    "lab_result": FormSpec(
        entries.LabEntry, ("collected_on",), prepare=_prepare_lab, after_save=regrade_labs
    ),
    "vital_signs": FormSpec(entries.VitalSignsEntry, ("measured_at",)),
    "immune_panel": FormSpec(entries.ImmunePanelEntry, ("collected_on",)),
    "tace_procedure": FormSpec(
        entries.TaceEntry, ("performed_on",), ("performed_on",), after_save=_after_tace
    ),
    "concomitant_medication": FormSpec(entries.ConMedEntry),
    "adverse_event": FormSpec(
        entries.AdverseEventEntry,
        ("onset_date", "site_aware_at"),
        prepare=_prepare_adverse_event,
    ),
    "tumor_assessment": FormSpec(
        entries.TumorAssessmentEntry,
        after_save=derive_tumor_responses,
        json_fields=("target", "non_target"),
        one_per_subject=("assessed_on",),
    ),
    "study_exit": FormSpec(
        entries.StudyExitEntry,
        ("exit_date", "last_contact_date", "death_date"),
        ("exit_date", "death_date"),
        one_per_subject=(),
    ),
}
NEEDS_RANDOMIZATION = frozenset({"visit", "tace_procedure"})


def _as_date(value: Any, dates: SubjectDates) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dates.zone).date() if value.tzinfo else value.date()
    return value if isinstance(value, dt.date) else None


def _check_dates(spec: FormSpec, entry: entries.Entry, dates: SubjectDates) -> None:
    """No date in the future; none before consent or randomization where it cannot be."""
    today = timezone.now().astimezone(dates.zone).date()
    for name in type(entry).model_fields:
        day = _as_date(getattr(entry, name), dates)
        if day is not None and day > today:
            raise InputError(name, f"{day.isoformat()} is in the future")
    bounds = (
        (spec.after_consent, dates.consent_date, "consent"),
        (spec.after_randomization, dates.randomization_date, "randomization"),
    )
    for names, limit, event in bounds:
        for name in names:
            day = _as_date(getattr(entry, name), dates)
            if day is not None and limit is not None and day < limit:
                raise InputError(
                    name, f"{day.isoformat()} is before the {event} date {limit.isoformat()}"
                )


def _refuse_duplicate(spec: FormSpec, form: str, record: Any, entry: entries.Entry) -> None:
    """409 when the subject already has this record (same visit, same scan date, an exit)."""
    if spec.one_per_subject is None:
        return
    key = {name: getattr(entry, name) for name in spec.one_per_subject}
    others = type(record).objects.filter(subject=record.subject, **key).exclude(pk=record.pk)
    if others.exists():
        which = ", ".join(f"{name} {value}" for name, value in key.items()) or "one per subject"
        raise ConflictError(f"{form} ({which}) is already recorded: correct that record instead")


def _parse(entry_type: type[E], data: Mapping[str, Any]) -> E:
    """The form input validated by its schema (the first problem: 422 naming the field)."""
    if not isinstance(data, Mapping):
        raise InputError("", "the form data must be a JSON object")
    try:
        return entry_type.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc) from None


def _form_spec(form: str) -> FormSpec:
    form_model(form)
    return FORMS[form]


@transaction.atomic
def crf_record_save(
    *,
    actor: Actor,
    subject_id: int,
    form: str,
    data: Mapping[str, Any],
    record_id: int | None = None,
    reason: str | None = None,
    source: str = "api",
) -> SavedRecord:
    """Create a form record, or correct one (``record_id`` with a ``reason``); derive; check."""
    subject = subject_for_update(actor, subject_id)
    authorize(actor, Action.CRF_ENTER)
    spec = _form_spec(form)
    entry = _parse(spec.entry, data)
    if record_id is not None and not (reason or "").strip():
        raise InputError("reason", "a reason is required to correct a saved record")
    ensure_data_editable(subject)
    dates = subject_dates(subject)
    if dates.consent_date is None:
        raise ConflictError("no signed consent is recorded: no study data may be entered")
    if form in NEEDS_RANDOMIZATION and dates.randomization_date is None:
        raise ConflictError(f"the subject is not randomized: {form} starts at randomization")
    _check_dates(spec, entry, dates)
    model = form_model(form)
    if record_id is None:
        record = model(subject=subject, entered_by=actor_name(actor))
    else:
        record = record_of(subject, form, record_id, lock=True)
    _refuse_duplicate(spec, form, record, entry)
    values = entry.model_dump(mode="python")
    for name in spec.json_fields:
        values[name] = jsonable(values[name])
    for name, value in values.items():
        setattr(record, name, value)
    with audit_context(actor=actor, reason=reason, source=source):
        if spec.prepare is not None:
            spec.prepare(record, entry, dates)
        # The subject is the locked row above; one record per key is _refuse_duplicate's check.
        save_validated(record, exclude=["subject"])
        if spec.after_save is not None:
            spec.after_save(subject, dates)
        opened = edit_check_queries(
            subject=subject, form=form, record_id=record.pk, values=field_values(record)
        )
    return SavedRecord(form, record, opened)


@transaction.atomic
def tumor_response_disagree(
    *,
    actor: Actor,
    subject_id: int,
    assessment_id: int,
    criteria: str,
    data: Mapping[str, Any],
    source: str = "api",
) -> TumorResponse:
    """Record the investigator's own call next to the derived one (both kept), with the reason."""
    subject = subject_for_user(actor, subject_id)
    authorize(actor, Action.RESPONSE_DISAGREE)
    entry = _parse(entries.DisagreementEntry, data)
    ensure_data_editable(subject)
    assessment = record_of(subject, "tumor_assessment", assessment_id)
    response = TumorResponse.objects.filter(assessment=assessment, criteria=criteria).first()
    if response is None:
        raise InputError("criteria", f"{criteria!r} is not one of the derived criteria")
    with audit_context(actor=actor, reason=entry.reason, source=source):
        response.investigator_response = entry.investigator_response
        response.disagreement_reason = entry.reason
        response.disagreement_by = actor_name(actor)
        save_validated(response)
    return response


def tumor_assessment_preview(
    *, actor: Actor, subject_id: int, data: Mapping[str, Any], record_id: int | None = None
) -> dict[str, dict[str, Any]]:
    """What saving this lesion table (new, or correcting ``record_id``) derives; stores nothing.

    The time point's call per criterion, evaluated within the subject's series (htmx preview).
    """
    subject = subject_for_user(actor, subject_id)
    authorize(actor, Action.CRF_ENTER)
    spec = FORMS["tumor_assessment"]
    entry = _parse(entries.TumorAssessmentEntry, data)
    if record_id is not None:
        record_of(subject, "tumor_assessment", record_id)
    values = entry.model_dump(mode="python")
    for name in spec.json_fields:
        values[name] = jsonable(values[name])
    candidate = TumorAssessment(pk=record_id, subject=subject, **values)
    _refuse_duplicate(spec, "tumor_assessment", candidate, entry)
    others = TumorAssessment.objects.filter(subject=subject).exclude(pk=record_id)
    series = sorted([*others, candidate], key=lambda assessment: assessment.assessed_on)
    index = series.index(candidate)
    results = tumor_series_results(series, subject_dates(subject).randomization_date)
    return {
        name: timepoint_values(result.evaluation.timepoints[index], result.nadirs[index])
        for name, result in results.items()
    }
