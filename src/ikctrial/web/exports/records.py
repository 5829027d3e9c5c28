"""The stored trial data read into the core's plain records (``ikctrial.analysis.records``).

Subjects are read with ``iterator()`` in chunks; each chunk's forms are fetched with one query
per form for the whole chunk and grouped by subject, so memory is bounded by the chunk, not by
the trial. Only randomized subjects of the actor's sites are read (the ITT population). The
blinded central review's reads (``central_review``) join as the subject's central series.
Dates and times are those of the subject's site (RANDDT as ``subject_dates`` gives it).
"""

from __future__ import annotations

import datetime as dt
import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from django.db import models

from ikctrial.analysis import records as core
from ikctrial.analysis.endpoints import IMMUNE_PANEL
from ikctrial.analysis.sdtm.domains import lab_category
from ikctrial.web.central_review.models import CentralRead
from ikctrial.web.consent.models import Consent
from ikctrial.web.crf.models import (
    AdverseEvent,
    ConcomitantMedication,
    ImmunePanelResult,
    LabResult,
    StudyExit,
    TaceProcedure,
    TumorAssessment,
    TumorResponseSummary,
    Visit,
    VitalSigns,
)
from ikctrial.web.product.models import Infusion
from ikctrial.web.sites.selectors import Actor, sites_for_user
from ikctrial.web.subjects.models import Subject

CHUNK_SIZE = 500
_SEX = {"male": "M", "female": "F", "M": "M", "F": "F"}
_VITALS = {
    "SYSBP": "systolic_mmhg",
    "DIABP": "diastolic_mmhg",
    "PULSE": "heart_rate_bpm",
    "RESP": "respiratory_rate_per_min",
    "TEMP": "temperature_c",
    "OXYSAT": "spo2_percent",
    "WEIGHT": "weight_kg",
}


def exported_subjects(actor: Actor) -> models.QuerySet[Subject]:
    """The randomized subjects of the actor's sites, in a stable order."""
    return (
        Subject.objects.filter(site__in=sites_for_user(actor), randomization__isnull=False)
        .select_related("site", "randomization__stratum", "verdict")
        .order_by("pk")
    )


def chunks(subjects: models.QuerySet[Subject], size: int | None = None) -> Iterator[list[Subject]]:
    """The subjects as lists of at most ``size`` (default ``CHUNK_SIZE``), read from a database
    iterator."""
    size = size or CHUNK_SIZE
    rows = subjects.iterator(chunk_size=size)
    while chunk := list(islice(rows, size)):
        yield chunk
        # Model instances hold reference cycles (a row and its cached related rows): collect
        # them now, or the old chunks wait for a full collection and memory grows with the trial.
        del chunk
        gc.collect()


def by_subject(
    queryset: models.QuerySet[Any], ids: list[int], field: str = "subject_id"
) -> dict[int, list[Any]]:
    """Rows of one form for a chunk of subjects, grouped by subject id."""
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in queryset.filter(**{f"{field}__in": ids}):
        grouped[getattr(row, field)].append(row)
    return grouped


def _number(value: Decimal | int | float | None) -> float | None:
    return None if value is None else float(value)


def _lesions(assessment: TumorAssessment | CentralRead) -> list[core.Lesion]:
    rows = [
        core.Lesion(
            id=str(row["id"]),
            role="TARGET",
            organ=str(row["organ"]),
            nodal=bool(row.get("nodal")),
            diameter_mm=_number(row.get("diameter_mm")),
            viable_diameter_mm=_number(row.get("viable_diameter_mm")),
        )
        for row in assessment.target
    ]
    rows += [
        core.Lesion(
            id=str(row["id"]),
            role="NON-TARGET",
            organ=str(row["organ"]),
            nodal=bool(row.get("nodal")),
            status=str(row["status"]),
        )
        for row in assessment.non_target
    ]
    if assessment.new_lesions == "unequivocal":
        rows.append(
            core.Lesion(
                id=f"NEW{assessment.assessed_on:%Y%m%d}",
                role="NEW",
                organ="NOT RECORDED",
                status="unequivocal",
            )
        )
    return rows


def _assessment(assessment: TumorAssessment) -> core.TumorAssessment:
    return core.TumorAssessment(
        assessed_on=assessment.assessed_on,
        modality=assessment.modality,
        lesions=_lesions(assessment),
        responses=[
            core.CriterionResponse(
                criteria=r.criteria,
                overall_response=r.overall_response,
                sum_mm=_number(r.sum_mm),
                target_response=r.target_response,
                non_target_response=r.non_target_response,
                new_lesions=r.new_lesions,
            )
            for r in assessment.responses.all()
        ],
    )


def _central_assessment(read: CentralRead) -> core.TumorAssessment:
    """A blinded read as a time point: its lesion rows and the calls derived over the reader's
    own series (stored on the read, per criterion)."""
    return core.TumorAssessment(
        assessed_on=read.assessed_on,
        modality=read.modality,
        lesions=_lesions(read),
        responses=[
            core.CriterionResponse(
                criteria=criteria,
                overall_response=str(call["overall_response"]),
                sum_mm=_number(call.get("sum_mm")),
                target_response=str(call.get("target_response") or ""),
                non_target_response=str(call.get("non_target_response") or ""),
                new_lesions=str(call.get("new_lesions") or ""),
            )
            for criteria, call in read.responses.items()
        ],
    )


def central_series(ids: list[int]) -> dict[int, list[CentralRead]]:
    """Per subject, the blinded reads of its primary reader (the first to enter a read of it),
    in date order. Adjudication between readers is not modelled: the review's series is that
    one reader's, never a mix of two readers' time points."""
    series: dict[int, list[CentralRead]] = {}
    for subject_id, reads in by_subject(CentralRead.objects.order_by("pk"), ids).items():
        primary = reads[0].reader
        chosen = [read for read in reads if read.reader == primary]
        series[subject_id] = sorted(chosen, key=lambda read: read.assessed_on)
    return series


def _lab(lab: LabResult) -> core.LabValue:
    return core.LabValue(
        collected_on=lab.collected_on,
        test=lab.test,
        value=_number(lab.value),
        unit=lab.unit,
        lln=_number(lab.lln),
        uln=_number(lab.uln),
        grade=lab.ctcae_grade,
        category=lab_category(lab.test),
    )


def _immune(result: ImmunePanelResult) -> core.LabValue:
    return core.LabValue(
        collected_on=result.collected_on,
        test=result.analyte,
        value=_number(result.value),
        unit=result.unit,
        category=IMMUNE_PANEL,
        below_lloq=result.below_lloq,
        lloq=_number(result.lloq),
    )


def _vitals(row: VitalSigns, zone: ZoneInfo) -> core.VitalSigns:
    values = {code: _number(getattr(row, name)) for code, name in _VITALS.items()}
    return core.VitalSigns(
        measured_at=row.measured_at.astimezone(zone),
        timepoint=row.timepoint,
        values={code: value for code, value in values.items() if value is not None},
    )


def _adverse_event(event: AdverseEvent) -> core.AdverseEvent:
    return core.AdverseEvent(
        verbatim_term=event.verbatim_term,
        ctcae_term=event.ctcae_term,
        grade=event.grade,
        onset_date=event.onset_date,
        end_date=event.end_date,
        serious=event.serious,
        results_in_death=event.results_in_death,
        life_threatening=event.life_threatening,
        hospitalization=event.hospitalization,
        disability=event.disability,
        congenital_anomaly=event.congenital_anomaly,
        medically_important=event.medically_important,
        related_ikc=event.related_ikc,
        outcome=event.outcome,
    )


def _infusion(infusion: Infusion, zone: ZoneInfo) -> core.Infusion:
    lot = infusion.bag.parent
    return core.Infusion(
        number=infusion.infusion_number,
        started_at=infusion.started_at.astimezone(zone),
        stopped_at=infusion.stopped_at.astimezone(zone),
        cells_infused=float(infusion.cells_infused),
        lot_id=lot.unit_id if lot is not None else infusion.bag.unit_id,
        volume_ml=_number(infusion.volume_infused_ml),
    )


def _screening(subject: Subject) -> dict[str, Any]:
    """Age, sex, birth date, criteria and baseline from the screening record and verdict."""
    record = subject.screening_record
    verdict = getattr(subject, "verdict", None)
    result = verdict.result if verdict is not None else {}
    derived = result.get("derived") or {}
    child_pugh = derived.get("child_pugh") or {}
    albi = derived.get("albi") or {}
    birth = record.get("birth_date")
    return {
        "sex": _SEX.get(str(record.get("sex")), "U"),
        "age": derived.get("age"),
        "birth_date": dt.date.fromisoformat(birth) if isinstance(birth, str) else None,
        "criteria": [
            core.Criterion(c["id"], c["kind"], c["text"], c["result"])
            for c in result.get("criteria", [])
        ],
        "baseline": core.Baseline(
            bclc=derived.get("bclc"),
            child_pugh_score=child_pugh.get("score"),
            child_pugh_class=child_pugh.get("class"),
            albi=albi.get("score"),
            ecog=record.get("ecog") if isinstance(record.get("ecog"), int) else None,
        ),
    }


def _exit(row: StudyExit | None) -> core.StudyExit | None:
    if row is None:
        return None
    return core.StudyExit(
        status=row.status,
        exit_date=row.exit_date,
        reason=row.reason,
        death_date=row.death_date,
        last_contact_date=row.last_contact_date,
    )


def _chunk_records(chunk: list[Subject]) -> Iterator[core.TrialSubject]:
    ids = [s.pk for s in chunk]
    consents = by_subject(Consent.objects.order_by("signed_on"), ids)
    tace = by_subject(TaceProcedure.objects.order_by("performed_on", "pk"), ids)
    labs = by_subject(LabResult.objects.order_by("collected_on", "pk"), ids)
    immune = by_subject(ImmunePanelResult.objects.order_by("collected_on", "pk"), ids)
    vitals = by_subject(VitalSigns.objects.order_by("measured_at", "pk"), ids)
    meds = by_subject(ConcomitantMedication.objects.order_by("start_date", "pk"), ids)
    events = by_subject(AdverseEvent.objects.order_by("onset_date", "pk"), ids)
    visits = by_subject(Visit.objects.order_by("done_on", "pk"), ids)
    scans = by_subject(
        TumorAssessment.objects.order_by("assessed_on").prefetch_related("responses"), ids
    )
    summaries = by_subject(TumorResponseSummary.objects.order_by("criteria"), ids)
    central = central_series(ids)
    exits = by_subject(StudyExit.objects.all(), ids)
    infusions = by_subject(
        Infusion.objects.select_related("bag__parent").order_by("infusion_number"), ids
    )
    for subject in chunk:
        zone = ZoneInfo(subject.site.timezone)
        randomization = subject.randomization
        first_consent = next(iter(consents.get(subject.pk, [])), None)
        exit_rows = exits.get(subject.pk, [])
        yield core.TrialSubject(
            subject_key=subject.screening_number,
            site=subject.site.code,
            screening_date=subject.screening_date,
            consent_date=first_consent.signed_on if first_consent else None,
            randomization_date=randomization.randomized_at.astimezone(zone).date(),
            randomization_number=randomization.number,
            arm=randomization.arm,
            strata={str(k): str(v) for k, v in randomization.stratum.levels.items()},
            infusions=[_infusion(i, zone) for i in infusions.get(subject.pk, [])],
            tace=[
                core.Tace(t.performed_on, t.technique, t.chemotherapy_agent, _number(t.dose_mg))
                for t in tace.get(subject.pk, [])
            ],
            assessments=[_assessment(a) for a in scans.get(subject.pk, [])],
            central_assessments=[_central_assessment(r) for r in central.get(subject.pk, [])],
            summaries=[
                core.ResponseSummary(s.criteria, s.best_overall_response, s.progression_date)
                for s in summaries.get(subject.pk, [])
            ],
            labs=[_lab(v) for v in labs.get(subject.pk, [])]
            + [_immune(v) for v in immune.get(subject.pk, [])],
            vitals=[_vitals(v, zone) for v in vitals.get(subject.pk, [])],
            medications=[
                core.Medication(
                    name=m.name,
                    indication=m.indication,
                    start_date=m.start_date,
                    end_date=m.end_date,
                    dose=m.dose,
                    route=m.route,
                    anticancer_therapy=m.anticancer_therapy,
                )
                for m in meds.get(subject.pk, [])
            ],
            adverse_events=[_adverse_event(e) for e in events.get(subject.pk, [])],
            visits=[
                core.Visit(v.code, v.done_on, v.study_day, v.out_of_window)
                for v in visits.get(subject.pk, [])
            ],
            exit=_exit(exit_rows[0] if exit_rows else None),
            **_screening(subject),
        )


def trial_subjects(
    subjects: Iterable[list[Subject]],
) -> Iterator[core.TrialSubject]:
    """The core records of chunks of subjects, one subject at a time."""
    for chunk in subjects:
        yield from _chunk_records(chunk)
