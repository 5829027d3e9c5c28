"""ADaM datasets derived from the subjects' records (domain.md 10.2): ADSL, ADTTE, ADRS, ADTR,
ADLB, ADAE, ADEX and the sponsor dataset ADTACE.

Each ``*_records`` function turns ONE subject into its records (dicts keyed by ADaM variable), so
a caller can stream subjects; ``adam_frame`` conforms a chunk of records to ``adam.metadata``
(names, labels, types, codelists), as the streamed export writes them (``exports``), and
``adam_datasets`` gathers every record into whole DataFrames. Every subject is
checked first (``records.check_subject``): bad data stops the build with the subject and field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

from ikctrial.analysis.adam.metadata import ADAM_DATASETS, conform
from ikctrial.analysis.context import CRITERION_CATEGORY, AnalysisContext
from ikctrial.analysis.endpoints import (
    IMMUNE_PANEL,
    PFS_PARAMETERS,
    LabChange,
    best_pct_change,
    first_treatment_date,
    ikc_exposure,
    lab_changes,
    last_treatment_date,
    overall_survival,
    pfs,
    populations,
    size_changes,
    tace_frequency,
)
from ikctrial.analysis.records import StudyExit, TrialSubject, check_subject, randomization_date
from ikctrial.analysis.sdtm.domains import lab_test_code, response_code, yes_no
from ikctrial.analysis.visits import analysed_sample, analysis_visit, study_day
from ikctrial.analysis.xpt import NAME_MAX
from ikctrial.errors import InputError

Record = dict[str, Any]
_TR_PARAMS = {"RECIST1.1": "SUMDIAM", "mRECIST": "VSUMDIAM"}
IKC_TREATMENT = "IKC"
TACE_TREATMENT = "TACE"
"""ADEX ``EXTRT`` of the two study treatments."""
_IMMUNE_UNIT_SUFFIX = {"percent_lymphocytes": "P", "percent_cd4": "P4", "cells_per_ul": "A"}
_RESPONSE_RANK = {"CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5, "NE": 6}
_REASON_SPELLING = {"LOST TO FOLLOW UP": "LOST TO FOLLOW-UP"}


def _treatments(subject: TrialSubject, ctx: AnalysisContext) -> Record:
    actual = populations(subject, ctx).actual_arm
    return {
        "TRTP": ctx.arms[subject.arm] if subject.arm else None,
        "TRTA": ctx.arms[actual] if actual else None,
    }


def _keys(subject: TrialSubject, ctx: AnalysisContext) -> Record:
    return {
        "STUDYID": ctx.study_id,
        "USUBJID": ctx.usubjid(subject.subject_key),
        "SITEID": subject.site,
    }


def adsl_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """One ADSL record: demographics, treatment, dates, population flags, strata, baseline."""
    groups = populations(subject, ctx)
    arm = subject.arm
    assert arm is not None
    actual = groups.actual_arm
    exit_ = subject.exit
    status = "ONGOING" if exit_ is None else exit_.status.upper()
    base = subject.baseline
    return [
        {
            **_keys(subject, ctx),
            "SUBJID": subject.subject_key,
            "AGE": subject.age,
            "AGEU": "YEARS",
            "SEX": subject.sex,
            "ARM": ctx.arms[arm],
            "ARMCD": arm,
            "ACTARM": ctx.arms[actual] if actual else "Not Treated",
            "TRT01P": ctx.arms[arm],
            "TRT01PN": ctx.arm_number(arm),
            "TRT01A": ctx.arms[actual] if actual else None,
            "TRT01AN": ctx.arm_number(actual),
            "RANDDT": randomization_date(subject),
            "TRTSDT": first_treatment_date(subject),
            "TRTEDT": last_treatment_date(subject),
            "ITTFL": yes_no(groups.itt),
            "SAFFL": yes_no(groups.safety),
            "PPROTFL": yes_no(groups.per_protocol),
            "STRBCLC": subject.strata.get("bclc"),
            "STRCP": subject.strata.get("child_pugh"),
            "BCLCBL": base.bclc,
            "CPSCOREB": base.child_pugh_score,
            "CPCLASBL": base.child_pugh_class,
            "ALBIBL": base.albi,
            "ECOGBL": base.ecog,
            "DTHDT": subject.death_date,
            "DTHFL": yes_no(subject.death_date is not None),
            "EOSSTT": "DISCONTINUED" if status == "WITHDRAWN" else status,
            "DCSREAS": discontinuation_reason(exit_),
        }
    ]


def discontinuation_reason(exit_: StudyExit | None) -> str | None:
    """DCSREAS: a withdrawn subject's stored reason upper-cased, underscores as spaces
    (``LOST TO FOLLOW-UP`` so spelled), ``OTHER`` when none was given; None unless withdrawn."""
    if exit_ is None or exit_.status != "withdrawn":
        return None
    reason = exit_.reason.strip().replace("_", " ").upper()
    return _REASON_SPELLING.get(reason, reason) or "OTHER"


def _source(reason: str) -> tuple[str, str]:
    """SRCDOM / SRCVAR of a PFS date: the response, the death, or randomization."""
    if reason in {"progression", "no_progression", "new_anticancer_therapy"}:
        return "RS", "RSDTC"
    if reason == "death":
        return "DS", "DSSTDTC"
    return "ADSL", "RANDDT"


def adtte_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """PFS (and its sensitivity parameters of domain.md 7.1, PFSBICR only for a subject the
    blinded central review read) and OS, one record each."""
    start = randomization_date(subject)
    common = {**_keys(subject, ctx), **_treatments(subject, ctx), "STARTDT": start, "ITTFL": "Y"}
    out = []
    for parameter in PFS_PARAMETERS:
        if parameter.criteria is not None and parameter.criteria not in ctx.criteria:
            continue
        if parameter.central_review and not subject.central_assessments:
            continue
        outcome = pfs(
            subject,
            parameter,
            primary_criterion=ctx.primary_criterion,
            interval_days=ctx.imaging_interval_days,
            window_days=ctx.imaging_window_days,
        )
        domain, variable = _source(outcome.reason.value)
        out.append(
            {
                **common,
                "PARAMCD": parameter.paramcd,
                "PARAM": parameter.param,
                "ADT": outcome.date,
                "AVAL": float(outcome.days),
                "CNSR": 0 if outcome.event else 1,
                "EVNTDESC": outcome.description if outcome.event else None,
                "CNSDTDSC": None if outcome.event else outcome.description,
                "SRCDOM": domain,
                "SRCVAR": variable,
            }
        )
    survival = overall_survival(subject)
    out.append(
        {
            **common,
            "PARAMCD": "OS",
            "PARAM": "Overall survival (days)",
            "ADT": survival.date,
            "AVAL": float(survival.days),
            "CNSR": 0 if survival.event else 1,
            "EVNTDESC": survival.description if survival.event else None,
            "CNSDTDSC": None if survival.event else survival.description,
            "SRCDOM": "DS" if survival.event else "ADSL",
            "SRCVAR": "DSSTDTC" if survival.event else "LSTALVDT",
        }
    )
    return out


def adrs_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Overall response per post-baseline time point (OVR) and best overall response (BOR)."""
    common = {**_keys(subject, ctx), **_treatments(subject, ctx)}
    out = []
    for criteria in ctx.criteria:
        category = CRITERION_CATEGORY[criteria]
        for assessment in sorted(subject.assessments, key=lambda a: a.assessed_on):
            call = assessment.response(criteria)
            if call is None or call.overall_response == "BASELINE":
                continue
            code = response_code(call.overall_response)
            out.append(
                {
                    **common,
                    "PARAMCD": "OVR",
                    "PARAM": f"Overall response per time point ({category})",
                    "PARCAT1": category,
                    "AVALC": code,
                    "AVAL": _RESPONSE_RANK[code],
                    "ADT": assessment.assessed_on,
                    "ANL01FL": "Y",
                }
            )
        summary = next((s for s in subject.summaries if s.criteria == criteria), None)
        if summary is not None:
            code = response_code(summary.best_overall_response)
            out.append(
                {
                    **common,
                    "PARAMCD": "BOR",
                    "PARAM": f"Best overall response ({category})",
                    "PARCAT1": category,
                    "AVALC": code,
                    "AVAL": _RESPONSE_RANK[code],
                    "ADT": None,
                    "ANL01FL": None,
                }
            )
    return out


def adtr_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Target sums (SOD, mRECIST viable sum) with BASE, CHG, PCHG, nadir; best change flagged."""
    common = {**_keys(subject, ctx), **_treatments(subject, ctx)}
    out = []
    for criteria in ctx.criteria:
        best = best_pct_change(subject, criteria)
        paramcd = _TR_PARAMS[criteria]
        for change in size_changes(subject, criteria):
            out.append(
                {
                    **common,
                    "PARAMCD": paramcd,
                    "PARAM": f"Sum of {'viable ' if paramcd == 'VSUMDIAM' else ''}target "
                    "lesion diameters (mm)",
                    "ADT": change.date,
                    "AVAL": change.sum_mm,
                    "BASE": change.base_mm,
                    "CHG": change.change_mm,
                    "PCHG": change.pct_change,
                    "NADIR": change.nadir_mm,
                    "ABLFL": "Y" if change.baseline else None,
                    "ANL01FL": "Y" if best is not None and change == best else None,
                }
            )
    return out


def adlb_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Labs and the immune panel with baseline, change from baseline, toxicity grades, the
    analysis visit and the records analysed (ANL01FL)."""
    common = {**_keys(subject, ctx), **_treatments(subject, ctx)}
    start = randomization_date(subject)
    out = []
    for change in lab_changes(subject):
        value = change.value
        unit = f" ({value.unit})" if value.unit else ""
        avisit, avisitn = _lab_visit(change, start, ctx)
        out.append(
            {
                **common,
                "PARAMCD": lab_parameter_code(value.test, value.unit, value.category),
                "PARAM": f"{value.test}{unit}",
                "PARCAT1": value.category,
                "ADT": value.collected_on,
                "AVISIT": avisit,
                "AVISITN": avisitn,
                "AVAL": value.value,
                "BASE": change.base,
                "CHG": change.change,
                "ABLFL": "Y" if change.baseline else None,
                "ATOXGR": None if value.grade is None else str(value.grade),
                "BTOXGR": None if change.baseline_grade is None else str(change.baseline_grade),
            }
        )
    _flag_analysed(out, start)
    return out


def _lab_visit(
    change: LabChange, randomized_on: dt.date, ctx: AnalysisContext
) -> tuple[str | None, int | None]:
    """AVISIT and AVISITN: BASELINE (day 0) on the baseline record; a post-baseline immune-panel
    record the protocol visit whose window holds its study day (domain.md 7.4); else none."""
    if change.baseline:
        return "BASELINE", 0
    if change.value.category != IMMUNE_PANEL or not change.post_baseline:
        return None, None
    visit = analysis_visit(study_day(change.value.collected_on, randomized_on), ctx.immune_visits)
    return (None, None) if visit is None else (visit.label, visit.day)


def _flag_analysed(records: list[Record], randomized_on: dt.date) -> None:
    """ANL01FL: every baseline record, and per parameter and post-baseline visit the record with
    a value whose date is closest to the planned day (the earlier on a tie)."""
    visits: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        record["ANL01FL"] = record["ABLFL"]
        if record["ABLFL"] is None and record["AVISIT"] is not None and record["AVAL"] is not None:
            visits.setdefault((record["PARAMCD"], record["AVISIT"]), []).append(record)
    for samples in visits.values():
        days = [study_day(r["ADT"], randomized_on) for r in samples]
        samples[analysed_sample(days, samples[0]["AVISITN"])]["ANL01FL"] = "Y"


def adae_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Adverse events with the treatment-emergent flag (onset on or after TRTSDT)."""
    common = {**_keys(subject, ctx), **_treatments(subject, ctx)}
    start = first_treatment_date(subject)
    ordered = sorted(subject.adverse_events, key=lambda e: (e.onset_date, e.ctcae_term))
    return [
        {
            **common,
            "AESEQ": sequence,
            "AETERM": event.verbatim_term,
            "AEDECOD": event.ctcae_term,
            "AETOXGR": str(event.grade),
            "AESER": yes_no(event.serious),
            "AREL": "RELATED" if event.related_ikc else "NOT RELATED",
            "ASTDT": event.onset_date,
            "AENDT": event.end_date,
            "TRTEMFL": yes_no(start is not None and event.onset_date >= start),
        }
        for sequence, event in enumerate(ordered, start=1)
    ]


def adex_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Exposure (domain.md 10.2): the IKC summary (infusions received, total viable cells) and one
    record per administration: each IKC infusion (cells infused) and each TACE session, so time on
    treatment can be drawn from ADaM alone (the report's swimmer plot)."""
    common = {**_keys(subject, ctx), **_treatments(subject, ctx)}
    exposure = ikc_exposure(subject)
    dates = {"ASTDT": exposure.first, "AENDT": exposure.last}
    summary = [
        {
            **common,
            "PARAMCD": "NINF",
            "PARAM": "Number of IKC infusions received",
            "EXTRT": IKC_TREATMENT,
            "AVAL": float(exposure.infusions),
            "AVALU": "INFUSIONS",
            **dates,
        },
        {
            **common,
            "PARAMCD": "TOTCELL",
            "PARAM": "Total viable cells infused",
            "EXTRT": IKC_TREATMENT,
            "AVAL": exposure.cells_infused,
            "AVALU": "CELLS",
            **dates,
        },
    ]
    infusions = [
        {
            **common,
            "PARAMCD": "IKCDOSE",
            "PARAM": "Viable IKC cells infused per administration",
            "EXTRT": IKC_TREATMENT,
            "AVAL": infusion.cells_infused,
            "AVALU": "CELLS",
            "ASTDT": infusion.started_at.date(),
            "AENDT": infusion.stopped_at.date(),
        }
        for infusion in sorted(subject.infusions, key=lambda i: i.started_at)
    ]
    sessions = [
        {
            **common,
            "PARAMCD": "TACE",
            "PARAM": "TACE session",
            "EXTRT": TACE_TREATMENT,
            "AVAL": 1.0,
            "AVALU": "SESSION",
            "ASTDT": session.performed_on,
            "AENDT": session.performed_on,
        }
        for session in sorted(subject.tace, key=lambda t: t.performed_on)
    ]
    return [*summary, *infusions, *sessions]


def adtace_records(subject: TrialSubject, ctx: AnalysisContext) -> list[Record]:
    """Repeat TACE sessions (Y_i) over the follow-up in years (T_i) of domain.md 7.3, one record
    per randomized subject (no TACE at all: Y_i = 0 with the full follow-up)."""
    frequency = tace_frequency(subject)
    return [
        {
            **_keys(subject, ctx),
            **_treatments(subject, ctx),
            "ITTFL": yes_no(populations(subject, ctx).itt),
            "PARAMCD": "NTACER",
            "PARAM": "Number of repeat TACE sessions",
            "AVAL": float(frequency.repeat_sessions),
            "FUPYR": frequency.follow_up_years,
            "STARTDT": randomization_date(subject),
            "ENDDT": frequency.end,
        }
    ]


ADAM_BUILDERS: dict[str, Callable[[TrialSubject, AnalysisContext], list[Record]]] = {
    "ADSL": adsl_records,
    "ADTTE": adtte_records,
    "ADRS": adrs_records,
    "ADTR": adtr_records,
    "ADLB": adlb_records,
    "ADAE": adae_records,
    "ADEX": adex_records,
    "ADTACE": adtace_records,
}
"""Per-subject record builders, keyed by dataset name (the order of domain.md 10.2)."""


def adam_frame(
    name: str, records: list[Record], columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Records as a DataFrame conformed to the metadata, with the variables the records have
    (or ``columns``, e.g. those of the whole dataset when framing one chunk of it). No records
    gives every variable (an empty dataset still has its columns, as Define-XML describes them,
    ``conform`` types them)."""
    variables = ADAM_DATASETS[name].variables
    if not records:
        return conform(
            pd.DataFrame(
                {
                    v.name: pd.Series(dtype=object if v.data_type == "text" else "float64")
                    for v in variables
                }
            ),
            name,
        )
    if columns is None:
        present = {key for record in records for key in record}
        columns = [v.name for v in variables if v.name in present]
    return conform(pd.DataFrame.from_records(records, columns=list(columns)), name)


def adam_column_labels(name: str) -> dict[str, str]:
    """Every variable the dataset may have, in order, with its label."""
    return {v.name: v.label for v in ADAM_DATASETS[name].variables}


def adam_datasets(
    subjects: Iterable[TrialSubject], ctx: AnalysisContext
) -> dict[str, pd.DataFrame]:
    """Every ADaM dataset from a stream of subjects (each checked first), conformed."""
    gathered: dict[str, list[Record]] = {name: [] for name in ADAM_BUILDERS}
    for subject in subjects:
        check_subject(subject)
        for name, build in ADAM_BUILDERS.items():
            gathered[name].extend(build(subject, ctx))
    return {name: adam_frame(name, records) for name, records in gathered.items()}


def lab_parameter_code(test: str, unit: str, category: str) -> str:
    """ADLB PARAMCD: the LBTESTCD, and for the immune panel a suffix for the unit, since one
    population is reported both as a percentage and as cells/uL (domain.md 7.4)."""
    code = lab_test_code(test)
    suffix = _IMMUNE_UNIT_SUFFIX.get(unit, "") if category == IMMUNE_PANEL else ""
    if len(code + suffix) > NAME_MAX:
        raise InputError("test", f"{test!r} ({unit}) has no PARAMCD of at most {NAME_MAX} chars")
    return code + suffix
