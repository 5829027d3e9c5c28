"""Datasets derived from subject records: endpoints, ADaM, SDTM, the FHIR bundle (domain.md 7, 10).

Subjects are hand-built (RANDDT = 2025-01-01, elapsed days in the scans); each censoring rule of
the domain.md 7.1 table has a case, named by its row (R2...R7) or worked example (P1...P7).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
import pytest
from fhir.resources.bundle import Bundle

from ikctrial.analysis import records as r
from ikctrial.analysis.adam.datasets import adam_datasets, discontinuation_reason
from ikctrial.analysis.adam.metadata import ADAM_DATASETS
from ikctrial.analysis.context import AnalysisContext, analysis_context
from ikctrial.analysis.endpoints import (
    PFS_PARAMETERS,
    best_pct_change,
    follow_up_end,
    ikc_exposure,
    immune_changes,
    overall_survival,
    pfs,
    populations,
    size_changes,
    tace_frequency,
)
from ikctrial.analysis.exports import (
    fhir_subject,
    tumor_sizes,
    write_adam_export,
    write_fhir_bundle,
    write_sdtm,
)
from ikctrial.analysis.fhir import StudySubject, TumorSize
from ikctrial.analysis.odm import FormDefinition, add_forms, read_metadata, study_metadata, to_bytes
from ikctrial.analysis.sdtm.domains import sdtm_datasets
from ikctrial.analysis.visits import VisitWindow, analysed_sample, analysis_visit
from ikctrial.analysis.writers import write_adam, write_define
from ikctrial.analysis.xml_schema import schema_errors
from ikctrial.analysis.xpt import read_xpt, write_xpt
from ikctrial.errors import InputError
from ikctrial.protocol import load_protocol
from ikctrial.protocol.model import Protocol

RANDDT = dt.date(2025, 1, 1)
TAIPEI = dt.timezone(dt.timedelta(hours=8))


def day(elapsed: int) -> dt.date:
    """The date ``elapsed`` days after RANDDT."""
    return RANDDT + dt.timedelta(days=elapsed)


def scan(
    elapsed: int,
    recist: str,
    sum_mm: float | None = 50.0,
    *,
    mrecist: str | None = None,
    viable_mm: float | None = None,
) -> r.TumorAssessment:
    """One time point with a target lesion and both criteria's calls (mRECIST as RECIST unless
    given)."""
    return r.TumorAssessment(
        assessed_on=day(elapsed),
        modality="CT",
        lesions=[
            r.Lesion("T1", "TARGET", "liver", diameter_mm=sum_mm, viable_diameter_mm=viable_mm),
            r.Lesion("NT1", "NON-TARGET", "liver", status="present"),
        ],
        responses=[
            r.CriterionResponse("RECIST1.1", recist, sum_mm, "SD", "NON_CR_NON_PD", "none"),
            r.CriterionResponse(
                "mRECIST", mrecist or recist, viable_mm if viable_mm is not None else sum_mm
            ),
        ],
    )


def subject(
    key: str = "S1",
    scans: Sequence[tuple[int, str]] = (),
    *,
    baseline_sum: float = 50.0,
    death: int | None = None,
    therapy: int | None = None,
    arm: str | None = "IKC_TACE",
    randomized: bool = True,
    infusions: int = 12,
    tace_days: Sequence[int] = (3,),
    **changes: Any,
) -> r.TrialSubject:
    """A randomized subject with a baseline scan on RANDDT - 5 and the given post-baseline calls."""
    series = [
        r.TumorAssessment(
            assessed_on=day(-5),
            modality="CT",
            lesions=[
                r.Lesion("T1", "TARGET", "liver", diameter_mm=baseline_sum),
                r.Lesion("NT1", "NON-TARGET", "liver", status="present"),
            ],
            responses=[
                r.CriterionResponse("RECIST1.1", "BASELINE", baseline_sum),
                r.CriterionResponse("mRECIST", "BASELINE", baseline_sum),
            ],
        ),
        *(scan(d, call) for d, call in scans),
    ]
    given = [
        r.Infusion(
            number=n,
            started_at=dt.datetime.combine(day(20 + 7 * n), dt.time(9), TAIPEI),
            stopped_at=dt.datetime.combine(day(20 + 7 * n), dt.time(9, 30), TAIPEI),
            cells_infused=5e9,
            lot_id=f"LOT{n}",
        )
        for n in range(1, infusions + 1)
        if arm == "IKC_TACE" and (death is None or 20 + 7 * n <= death)
    ]
    values: dict[str, Any] = {
        "subject_key": key,
        "site": "SITEA",
        "sex": "M",
        "age": 67,
        "birth_date": dt.date(1958, 7, 14),
        "screening_date": day(-10),
        "consent_date": day(-11),
        "randomization_date": RANDDT if randomized else None,
        "arm": arm if randomized else None,
        "strata": {"bclc": "C", "child_pugh": "A"},
        "criteria": [r.Criterion("I1_age", "inclusion", "Age 20 to 79.", "pass")],
        "baseline": r.Baseline("C", 6, "A", -1.98, 1),
        "infusions": given,
        "tace": [r.Tace(day(d), "cTACE", "epirubicin", 50.0) for d in tace_days],
        "assessments": series,
        "medications": [r.Medication("sorafenib", "HCC", day(therapy), anticancer_therapy=True)]
        if therapy is not None
        else [],
        "exit": r.StudyExit("withdrawn", day(death), "death", death_date=day(death))
        if death is not None
        else None,
    }
    values.update(changes)
    return r.TrialSubject(**values)


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol()


@pytest.fixture(scope="module")
def ctx(protocol: Protocol) -> AnalysisContext:
    return analysis_context(protocol)


PFS_CASES = [
    # (case, scans, death, therapy, ADT elapsed, CNSR, description)
    ("P1 R5 progression", [(56, "SD"), (117, "PD")], None, None, 117, 0, "DISEASE PROGRESSION"),
    (
        "P2 R7 no progression",
        [(56, "SD"), (362, "PR")],
        None,
        None,
        362,
        1,
        "LAST ADEQUATE ASSESSMENT",
    ),
    ("P3 R6 death before first scan", [], 40, None, 40, 0, "DEATH"),
    ("P4 R2 no post-baseline scan", [], None, None, 0, 1, "NO POST-BASELINE ASSESSMENT"),
    (
        "P5 R3 new anticancer therapy",
        [(56, "SD"), (115, "SD"), (170, "PD")],
        None,
        129,
        115,
        1,
        "NEW ANTICANCER THERAPY",
    ),
    (
        "P6 R4 death after two missed scans",
        [(56, "SD")],
        181,
        None,
        56,
        1,
        "EVENT AFTER 2 OR MORE MISSED ASSESSMENTS",
    ),
    (
        "P7 one missed scan then PD",
        [(56, "SD"), (165, "PD")],
        None,
        None,
        165,
        0,
        "DISEASE PROGRESSION",
    ),
    (
        "R7 NE scans are not adequate",
        [(56, "SD"), (112, "NE")],
        None,
        None,
        56,
        1,
        "LAST ADEQUATE ASSESSMENT",
    ),
]


@pytest.mark.parametrize(
    ("case", "scans", "death", "therapy", "elapsed", "cnsr", "description"),
    PFS_CASES,
    ids=[c[0] for c in PFS_CASES],
)
def test_pfs_censoring_rules(
    ctx: AnalysisContext,
    case: str,
    scans: list[tuple[int, str]],
    death: int | None,
    therapy: int | None,
    elapsed: int,
    cnsr: int,
    description: str,
) -> None:
    """ADTTE PFS from the record: ADT, AVAL = ADT - RANDDT + 1, CNSR and its description."""
    frames = adam_datasets([subject(scans=scans, death=death, therapy=therapy)], ctx)
    row = frames["ADTTE"].set_index("PARAMCD").loc["PFS"]
    assert row["ADT"].date() == day(elapsed)
    assert row["AVAL"] == elapsed + 1
    assert row["CNSR"] == cnsr
    text = row["EVNTDESC"] if cnsr == 0 else row["CNSDTDSC"]
    assert text == description


def test_pfs_sensitivity_parameters(ctx: AnalysisContext) -> None:
    """PFSNACT ignores the new therapy, PFSMISS keeps the event after missed scans, PFSMREC
    reads the mRECIST calls."""
    therapy = subject(scans=[(56, "SD"), (115, "SD"), (170, "PD")], therapy=129)
    missed = subject(scans=[(56, "SD")], death=181)
    mrecist = subject(
        scans=[(56, "SD")],
        assessments=[*subject().assessments, scan(56, "SD", mrecist="PD")],
    )
    by_code = {p.paramcd: p for p in PFS_PARAMETERS}
    assert (pfs(therapy, by_code["PFSNACT"]).days, pfs(therapy, by_code["PFSNACT"]).event) == (
        171,
        True,
    )
    assert pfs(missed, by_code["PFSMISS"]).days == 182
    assert pfs(mrecist).event is False
    assert pfs(mrecist, by_code["PFSMREC"]).date == day(56)
    codes = adam_datasets([therapy], ctx)["ADTTE"]["PARAMCD"].tolist()
    assert codes == ["PFS", "PFSMISS", "PFSNACT", "PFSMREC", "OS"]


def test_overall_survival() -> None:
    """OS: death is the event; otherwise censored on the last date the record shows alive."""
    dead = overall_survival(subject(scans=[(56, "SD")], death=100))
    alive = overall_survival(subject(scans=[(56, "SD"), (112, "SD")]))
    assert (dead.event, dead.days, dead.description) == (True, 101, "DEATH")
    assert (alive.event, alive.date) == (False, day(112))


def test_size_change_and_best_change() -> None:
    """domain.md 7.2 example: 56.0 -> 42.0 -> 47.6 gives -25.0 % and -15.0 %, best -25.0 %."""
    record = subject(
        baseline_sum=56.0,
        assessments=[
            *subject(baseline_sum=56.0).assessments,
            scan(56, "PR", 42.0),
            scan(112, "SD", 47.6),
        ],
    )
    changes = size_changes(record)
    assert [c.pct_change for c in changes] == [None, pytest.approx(-25.0), pytest.approx(-15.0)]
    assert changes[2].nadir_mm == 42.0
    best = best_pct_change(record)
    assert best is not None
    assert best.date == day(56)


def test_best_change_stops_at_pd_and_new_therapy() -> None:
    """Scans after the first PD, or from the start of a new anticancer therapy, do not count."""
    base = subject(baseline_sum=50.0).assessments
    after_pd = subject(assessments=[*base, scan(56, "PD", 70.0), scan(112, "PR", 20.0)])
    after_therapy = subject(
        therapy=100, assessments=[*base, scan(56, "SD", 45.0), scan(112, "PR", 20.0)]
    )
    all_increases = subject(assessments=[*base, scan(56, "SD", 55.0), scan(112, "SD", 60.0)])
    assert best_pct_change(after_pd).pct_change == pytest.approx(40.0)  # type: ignore[union-attr]
    assert best_pct_change(after_therapy).pct_change == pytest.approx(-10.0)  # type: ignore[union-attr]
    assert best_pct_change(all_increases).pct_change == pytest.approx(10.0)  # type: ignore[union-attr]
    assert best_pct_change(subject()) is None


def test_tace_frequency() -> None:
    """Sessions after the first, over (END - RANDDT + 1) / 365.25 years (domain.md 7.3)."""
    record = subject(tace_days=(3, 90, 200, 400), death=364)
    frequency = tace_frequency(record)
    assert frequency.repeat_sessions == 2
    assert frequency.follow_up_years == pytest.approx(365 / 365.25)
    assert tace_frequency(subject(tace_days=()), dt.date(2025, 12, 31)).repeat_sessions == 0


def test_immune_change_from_baseline() -> None:
    """Baseline = last value on or before the first treatment; CHG after it, per analyte/unit."""
    panel = [
        r.LabValue(day(-3), "CD8", 20.0, "percent_lymphocytes", category="IMMUNE PANEL"),
        r.LabValue(day(-3), "CD8", 300.0, "cells_per_ul", category="IMMUNE PANEL"),
        r.LabValue(day(2), "CD8", 24.0, "percent_lymphocytes", category="IMMUNE PANEL"),
        r.LabValue(day(60), "CD8", 31.5, "percent_lymphocytes", category="IMMUNE PANEL"),
        r.LabValue(day(60), "ALT", 40.0, "U/L"),
    ]
    changes = immune_changes(subject(labs=panel, tace_days=(3,)))
    percent = [(c.value.collected_on, c.base, c.change) for c in changes if c.value.unit[0] == "p"]
    assert percent == [(day(-3), 24.0, None), (day(2), 24.0, None), (day(60), 24.0, 7.5)]
    assert all(c.value.category == "IMMUNE PANEL" for c in changes)


VISIT_CASES = [
    # (case, study day, windows (None: the protocol's), expected AVISIT and AVISITN)
    ("planned day", 28, None, ("WEEK 4", 28)),
    ("lower window edge", 25, None, ("WEEK 4", 28)),
    ("upper window edge", 31, None, ("WEEK 4", 28)),
    ("just before the window", 24, None, None),
    ("just after the window", 32, None, None),
    ("between two windows", 40, None, None),
    ("wider window, lower edge", 49, None, ("WEEK 8", 56)),
    ("week 24, upper edge", 175, None, ("WEEK 24", 168)),
    ("randomization day", 0, None, None),
    ("after the last window", 260, None, None),
    ("not whole weeks", 12, [(10, 2), (28, 3)], ("DAY 10", 10)),
    ("overlap: nearest planned day", 32, [(28, 7), (35, 7)], ("WEEK 5", 35)),
    ("overlap tie: earlier planned day", 31, [(28, 7), (34, 7)], ("WEEK 4", 28)),
]


@pytest.mark.parametrize(
    ("case", "study_day", "windows", "expected"), VISIT_CASES, ids=[c[0] for c in VISIT_CASES]
)
def test_analysis_visit_window(
    ctx: AnalysisContext,
    case: str,
    study_day: int,
    windows: list[tuple[int, int]] | None,
    expected: tuple[str, int] | None,
) -> None:
    """domain.md 7.4 on the 1.3 time points: a study day (RANDDT = day 0) in day +/- window
    (both ends included) is that visit, WEEK n on whole weeks else DAY d; outside: no visit."""
    visits = ctx.immune_visits if windows is None else [VisitWindow(*w) for w in windows]
    visit = analysis_visit(study_day, visits)
    assert (None if visit is None else (visit.label, visit.day)) == expected


def test_immune_visits_come_from_the_protocol(protocol: Protocol, ctx: AnalysisContext) -> None:
    assert ctx.immune_visits == tuple(
        VisitWindow(v.day, v.window_days) for v in protocol.schedule.immune_panel_days
    )
    assert ctx.immune_visits[0] == VisitWindow(28, 3)


ANALYSED_CASES = [
    # (case, study days of the samples of one visit, planned day, position analysed)
    ("single sample", [27], 28, 0),
    ("closest to the planned day", [25, 29], 28, 1),
    ("tie: the earlier date", [26, 30], 28, 0),
    ("tie: the earlier date listed second", [30, 26], 28, 1),
    ("same day twice: the first listed", [28, 28], 28, 0),
]


@pytest.mark.parametrize(
    ("case", "days", "planned", "position"), ANALYSED_CASES, ids=[c[0] for c in ANALYSED_CASES]
)
def test_analysed_sample(case: str, days: list[int], planned: int, position: int) -> None:
    assert analysed_sample(days, planned) == position


def _immune(elapsed: int, value: float | None, **extra: Any) -> r.LabValue:
    return r.LabValue(
        day(elapsed), "CD8", value, "percent_lymphocytes", category="IMMUNE PANEL", **extra
    )


ADLB_VISIT_ROWS = [
    # (study day, PARAMCD, PARCAT1, AVISIT, AVISITN, ANL01FL)
    (-3, "ALT", "CHEMISTRY", "BASELINE", 0, "Y"),
    (30, "ALT", "CHEMISTRY", None, None, None),
    (-20, "CD8P", "IMMUNE PANEL", None, None, None),
    (-3, "CD8P", "IMMUNE PANEL", "BASELINE", 0, "Y"),
    (26, "CD8P", "IMMUNE PANEL", "WEEK 4", 28, "Y"),
    (30, "CD8P", "IMMUNE PANEL", "WEEK 4", 28, None),
    (40, "CD8P", "IMMUNE PANEL", None, None, None),
    (52, "CD8P", "IMMUNE PANEL", "WEEK 8", 56, None),
    (57, "CD8P", "IMMUNE PANEL", "WEEK 8", 56, None),
    (58, "CD8P", "IMMUNE PANEL", "WEEK 8", 56, "Y"),
    (168, "CD8P", "IMMUNE PANEL", "WEEK 24", 168, "Y"),
]


def test_adlb_analysis_visits_and_flag(ctx: AnalysisContext) -> None:
    """ADLB: PARCAT1 is the lab category; baseline records are BASELINE, day 0, analysed;
    post-baseline immune values get the protocol visit of their study day, and per parameter and
    visit the value closest to the planned day is analysed (tie: the earlier); a value below the
    LLOQ (no AVAL) is not; non-immune and out-of-window records have no visit and no flag, nor
    has an earlier pre-treatment value (day -20: the baseline is the last one, day -3)."""
    labs = [
        r.LabValue(day(-3), "ALT", 30.0, "U/L", 0.0, 40.0, 0),
        r.LabValue(day(30), "ALT", 45.0, "U/L", 0.0, 40.0, 1),
        *(_immune(d, 20.0 + d / 10) for d in (-20, -3, 26, 30, 40, 52, 58, 168)),
        _immune(57, None, below_lloq=True, lloq=0.5),
    ]
    adlb = adam_datasets([subject(labs=labs, tace_days=(3,))], ctx)["ADLB"]
    rows = sorted(
        ((a.date() - RANDDT).days, p, c, v, n, f)
        for a, p, c, v, n, f in adlb[
            ["ADT", "PARAMCD", "PARCAT1", "AVISIT", "AVISITN", "ANL01FL"]
        ].itertuples(index=False)
    )
    tidy = [(d, p, c, v, None if pd.isna(n) else int(n), f) for d, p, c, v, n, f in rows]
    assert tidy == sorted(ADLB_VISIT_ROWS, key=lambda row: (row[0], row[1]))
    assert list(adlb.columns) == [
        "STUDYID",
        "USUBJID",
        "SITEID",
        "TRTP",
        "TRTA",
        "PARAMCD",
        "PARAM",
        "PARCAT1",
        "ADT",
        "AVISIT",
        "AVISITN",
        "AVAL",
        "BASE",
        "CHG",
        "ABLFL",
        "ANL01FL",
        "ATOXGR",
        "BTOXGR",
    ]


def test_adlb_visit_not_in_whole_weeks(ctx: AnalysisContext) -> None:
    """A protocol visit on day 10 +/- 2 is DAY 10 (AVISITN 10)."""
    day_ten = dataclasses.replace(ctx, immune_visits=(VisitWindow(10, 2),))
    labs = [_immune(-3, 20.0), _immune(12, 25.0)]
    adlb = adam_datasets([subject(labs=labs, tace_days=(3,))], day_ten)["ADLB"]
    assert adlb[["AVISIT", "AVISITN", "ANL01FL"]].values.tolist() == [
        ["BASELINE", 0.0, "Y"],
        ["DAY 10", 10.0, "Y"],
    ]


ADTACE_CASES = [
    # (case, TACE study days, exit (status, study day, death), AVAL = Y_i, END_i study day)
    ("no TACE", (), ("completed", 364, False), 0.0, 364),
    ("one TACE", (3,), ("completed", 364, False), 0.0, 364),
    ("three TACE, one after END", (3, 120, 320), ("withdrawn", 300, False), 1.0, 300),
    ("three TACE before death", (3, 120, 250), ("withdrawn", 300, True), 2.0, 300),
]


@pytest.mark.parametrize(
    ("case", "tace_days", "exit_", "repeats", "end"), ADTACE_CASES, ids=[c[0] for c in ADTACE_CASES]
)
def test_adtace_repeat_sessions_and_follow_up(
    ctx: AnalysisContext,
    case: str,
    tace_days: tuple[int, ...],
    exit_: tuple[str, int, bool],
    repeats: float,
    end: int,
) -> None:
    """domain.md 7.3: Y_i = TACE sessions after the first up to END_i (none at all: 0 with the
    full follow-up), T_i = (END_i - RANDDT + 1) / 365.25; one record per randomized subject."""
    status, elapsed, died = exit_
    reason = "death" if died else ("withdrawal_by_subject" if status == "withdrawn" else "")
    record = subject(
        scans=[(56, "SD")],
        tace_days=tace_days,
        infusions=12 if tace_days else 0,
        exit=r.StudyExit(status, day(elapsed), reason, death_date=day(elapsed) if died else None),
    )
    rows = adam_datasets([record], ctx)["ADTACE"]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["AVAL"], row["ENDDT"].date()) == (repeats, day(end))
    assert row["FUPYR"] == pytest.approx((end + 1) / 365.25)
    assert row["ENDDT"].date() == follow_up_end(record)
    assert row["STARTDT"].date() == RANDDT
    assert (row["PARAMCD"], row["PARAM"]) == ("NTACER", "Number of repeat TACE sessions")
    assert (row["USUBJID"], row["SITEID"], row["ITTFL"]) == ("IVY02-S1", "SITEA", "Y")
    assert row["TRTP"] == ctx.arms["IKC_TACE"]
    assert row["TRTA"] == (ctx.arms["IKC_TACE"] if tace_days else None)
    # the metadata's order, which test_adam_metadata pins variable by variable
    assert list(rows.columns) == [v.name for v in ADAM_DATASETS["ADTACE"].variables]


def test_exposure() -> None:
    exposure = ikc_exposure(subject(infusions=3))
    assert (exposure.infusions, exposure.cells_infused) == (3, 1.5e10)
    assert (exposure.first, exposure.last) == (day(27), day(41))


POPULATION_CASES = [
    ("per protocol", {}, (True, True, True, "IKC_TACE")),
    ("untreated", {"tace_days": (), "infusions": 0}, (True, False, False, None)),
    ("few infusions", {"infusions": 8}, (True, True, False, "IKC_TACE")),
    ("control given IKC", {"arm": "TACE", "infusions": 12}, (True, True, True, "TACE")),
    (
        "eligibility failed",
        {"criteria": [r.Criterion("I6_ecog", "inclusion", "ECOG 0-2.", "fail")]},
        (True, True, False, "IKC_TACE"),
    ),
    ("therapy before PD", {"therapy": 50}, (True, True, False, "IKC_TACE")),
]


@pytest.mark.parametrize(
    ("case", "changes", "expected"), POPULATION_CASES, ids=[c[0] for c in POPULATION_CASES]
)
def test_populations(
    case: str, changes: dict[str, Any], expected: tuple[Any, ...], ctx: AnalysisContext
) -> None:
    """ITT = randomized, safety = treated (as treated), PP = ITT without major deviations."""
    groups = populations(subject(**changes), ctx)
    assert (groups.itt, groups.safety, groups.per_protocol, groups.actual_arm) == expected


def test_per_protocol_infusion_threshold_comes_from_the_protocol(ctx: AnalysisContext) -> None:
    """domain.md 7.7 [PROTOCOL]: 8 infusions are a deviation at the default 9, not at 8."""
    assert ctx.per_protocol_min_infusions == 9
    assert not populations(subject(infusions=8), ctx).per_protocol
    lenient = dataclasses.replace(ctx, per_protocol_min_infusions=8)
    assert populations(subject(infusions=8), lenient).per_protocol


def test_control_patient_given_ikc_is_a_deviation_and_analysed_as_ikc(
    ctx: AnalysisContext,
) -> None:
    record = subject(arm="TACE")
    record = r.TrialSubject(**{**record.__dict__, "infusions": subject(infusions=1).infusions})
    groups = populations(record, ctx)
    assert groups.actual_arm == "IKC_TACE"
    assert "control patient given IKC" in groups.deviations


@pytest.mark.parametrize(
    ("record", "field", "problem"),
    [
        (subject(randomized=False), "subjects[S1].randomization_date", "no randomization"),
        (
            subject(scans=[(56, "SD"), (120, "PD")], death=100),
            "subjects[S1].assessments[2].assessed_on",
            "after the death",
        ),
        (subject(tace_days=(-3,)), "subjects[S1].tace[0].performed_on", "before randomization"),
    ],
    ids=["no randomization date", "response after death", "TACE before randomization"],
)
def test_bad_data_names_subject_and_field(
    ctx: AnalysisContext, record: r.TrialSubject, field: str, problem: str
) -> None:
    """Bad data stops every build with the subject and the field, never dropped."""
    for build in (adam_datasets, sdtm_datasets):
        with pytest.raises(InputError) as raised:
            build([subject("S0"), record], ctx)
        assert raised.value.field == field
        assert problem in raised.value.problem


def _rich_subject() -> r.TrialSubject:
    return subject(
        "S2",
        scans=[(56, "PR"), (112, "PD")],
        labs=[
            r.LabValue(day(-3), "ALT", 30.0, "U/L", 0.0, 40.0, 0),
            r.LabValue(day(30), "ALT", 130.0, "U/L", 0.0, 40.0, 2),
            r.LabValue(
                day(30), "IL6", None, "pg_ml", category="IMMUNE PANEL", below_lloq=True, lloq=1.5
            ),
        ],
        vitals=[
            r.VitalSigns(
                dt.datetime(2025, 2, 3, 9, tzinfo=TAIPEI),
                "pre_infusion",
                {"SYSBP": 120.0, "TEMP": 36.8},
            )
        ],
        adverse_events=[r.AdverseEvent("fever", "Fever", 1, day(4), related_ikc=True)],
        visits=[r.Visit("imaging_1", day(56), 57, out_of_window=False)],
        exit=r.StudyExit("completed", day(365), last_contact_date=day(365)),
    )


def test_adam_xpt_round_trip(tmp_path: Path, protocol: Protocol, ctx: AnalysisContext) -> None:
    """Every ADaM dataset written as XPT v5 reads back with the same values and labels."""
    records = [subject("S1", scans=[(56, "SD")]), _rich_subject()]
    frames = adam_datasets(records, ctx)
    written = write_adam_export(protocol, records, ctx, tmp_path, created=dt.datetime.now(dt.UTC))
    assert sorted(p.name for p in written) == sorted(
        [f"{name.lower()}.xpt" for name in frames] + ["define.xml"]
    )
    for name, frame in frames.items():
        back, meta = read_xpt(tmp_path / f"{name.lower()}.xpt")
        assert meta.dataset_name == name
        assert meta.column_labels == frame.attrs["column_labels"]
        _assert_same(frame, back)
    adsl = frames["ADSL"].set_index("USUBJID")
    assert adsl.loc["IVY02-S2", ["ITTFL", "SAFFL", "PPROTFL", "EOSSTT"]].tolist() == [
        "Y",
        "Y",
        "Y",
        "COMPLETED",
    ]
    adtr = frames["ADTR"]
    best = adtr[(adtr["ANL01FL"] == "Y") & (adtr["USUBJID"] == "IVY02-S2")]
    assert best["PARAMCD"].tolist() == ["SUMDIAM", "VSUMDIAM"]
    adrs = frames["ADRS"]
    assert set(adrs["PARCAT1"]) == {"RECIST 1.1", "MRECIST"}
    adlb = frames["ADLB"].set_index(["USUBJID", "PARAMCD", "ADT"])
    assert adlb.loc[("IVY02-S2", "ALT", pd.Timestamp(day(30))), "CHG"] == 100.0
    adex = frames["ADEX"][frames["ADEX"]["USUBJID"] == "IVY02-S2"]
    by_parameter = adex.groupby("PARAMCD")
    assert adex.loc[adex["PARAMCD"] == "NINF", "AVAL"].tolist() == [12.0]
    assert by_parameter.size()["IKCDOSE"] == 12  # one record per infusion
    doses = adex[adex["PARAMCD"] == "IKCDOSE"]
    assert doses["AVAL"].sum() == adex.loc[adex["PARAMCD"] == "TOTCELL", "AVAL"].item()
    assert set(doses["EXTRT"]) == {"IKC"}
    assert doses["ASTDT"].is_monotonic_increasing
    sessions = adex[adex["PARAMCD"] == "TACE"]
    assert set(sessions["EXTRT"]) == {"TACE"}
    assert len(sessions) == len(_rich_subject().tace)


def _assert_same(frame: pd.DataFrame, back: pd.DataFrame) -> None:
    """Values equal after XPT (text missing reads as '', numbers within IBM-float tolerance)."""
    assert list(back.columns) == list(frame.columns)
    for column in frame.columns:
        ours, theirs = frame[column], back[column]
        if pd.api.types.is_datetime64_any_dtype(ours):
            expected = [None if pd.isna(v) else v.date() for v in ours]
            assert [None if pd.isna(v) else v for v in theirs] == expected, column
        elif pd.api.types.is_numeric_dtype(ours):
            pd.testing.assert_series_equal(
                ours.astype(float), theirs.astype(float), check_names=False, rtol=1e-12
            )
        else:
            assert [v or "" for v in ours] == list(theirs), column


def test_sdtm_xpt_round_trip(tmp_path: Path, protocol: Protocol, ctx: AnalysisContext) -> None:
    """Trial design and subject domains as XPT v5; each reads back equal; RS has both RSCATs."""
    records = [subject("S1", scans=[(56, "SD")]), _rich_subject()]
    frames = sdtm_datasets(records, ctx)
    written = write_sdtm(protocol, records, ctx, tmp_path)
    names = {p.stem.upper() for p in written}
    assert names == {"TS", "TA", "TE", "TV", "TI", *frames}
    for domain, frame in frames.items():
        back, meta = read_xpt(tmp_path / f"{domain.lower()}.xpt")
        assert (meta.dataset_name, meta.dataset_label) == (domain, frame.attrs["dataset_label"])
        _assert_same(frame, back)
    rs = frames["RS"]
    assert set(rs["RSCAT"]) == {"RECIST 1.1", "MRECIST"}
    assert rs[(rs["USUBJID"] == "IVY02-S2") & (rs["RSTESTCD"] == "OVRLRESP")][
        "RSORRES"
    ].tolist() == ["PR", "PR", "PD", "PD"]
    lb = frames["LB"].set_index("LBTESTCD")
    assert lb.loc["IL6", "LBORRES"] == "<1.5"
    assert lb.loc["IL6", "LBMETHOD"] is None
    assert frames["EX"]["EXSEQ"].tolist()[:3] == [1.0, 2.0, 3.0]
    assert frames["DM"]["BRTHDTC"].tolist() == ["1958", "1958"]
    assert frames["IE"].empty


def test_sdtm_ie_lists_only_criteria_not_met(ctx: AnalysisContext) -> None:
    record = subject(
        criteria=[
            r.Criterion("I1_age", "inclusion", "Age.", "pass"),
            r.Criterion("I6_ecog", "inclusion", "ECOG 0 to 2.", "fail"),
            r.Criterion("E3_active_infection", "exclusion", "Active infection.", "fail"),
        ]
    )
    ie = sdtm_datasets([record], ctx)["IE"]
    assert ie[["IETESTCD", "IECAT", "IEORRES"]].values.tolist() == [
        ["IN06", "INCLUSION", "N"],
        ["EX03", "EXCLUSION", "Y"],
    ]


def _many(count: int) -> Iterator[r.TrialSubject]:
    for index in range(count):
        yield subject(f"S{index:06d}", scans=[(56, "SD"), (112, "PR")], infusions=2)


def _bundle_peak(protocol: Protocol, count: int, path: Path) -> int:
    stamp = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    tracemalloc.start()
    try:
        write_fhir_bundle(
            protocol,
            (fhir_subject(s, s.arm) for s in _many(count)),
            (size for s in _many(count) for size in tumor_sizes(s)),
            path,
            timestamp=stamp,
        )
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_fhir_bundle_streamed_and_valid(tmp_path: Path, protocol: Protocol) -> None:
    """The streamed bundle is one valid R5 Bundle (checked by fhir.resources) with every entry."""
    target = tmp_path / "bundle.json"
    records = [subject("S1", scans=[(56, "SD")]), _rich_subject()]
    count = write_fhir_bundle(
        protocol,
        (fhir_subject(s, s.arm) for s in records),
        (size for s in records for size in tumor_sizes(s)),
        target,
        timestamp=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
    )
    bundle = Bundle.model_validate_json(target.read_text())
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert count == len(kinds) == 1 + 2 * 2 + 5
    assert kinds.count("Observation") == 5
    assert json.loads(target.read_text())["type"] == "collection"


def test_fhir_bundle_errors_leave_no_file(tmp_path: Path, protocol: Protocol) -> None:
    target = tmp_path / "bundle.json"
    orphan = TumorSize("NOBODY", "T1", day(56), 10.0)
    with pytest.raises(InputError, match="not a subject of the bundle"):
        write_fhir_bundle(
            protocol,
            [StudySubject("S1", 1958, "M", "IKC_TACE")],
            [orphan],
            target,
            timestamp=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
        )
    assert not target.exists()


@pytest.mark.slow
def test_fhir_bundle_memory_does_not_grow_with_subjects(tmp_path: Path, protocol: Protocol) -> None:
    """Four times the subjects: the traced peak grows far less than fourfold (streamed; what
    grows is the set of subject keys that checks each observation's subject)."""
    small = _bundle_peak(protocol, 120, tmp_path / "small.json")
    large = _bundle_peak(protocol, 480, tmp_path / "large.json")
    assert (tmp_path / "large.json").stat().st_size > 3.5 * (tmp_path / "small.json").stat().st_size
    assert large < 2.5 * small


def test_empty_datasets_keep_their_variables(
    tmp_path: Path, protocol: Protocol, ctx: AnalysisContext
) -> None:
    """An untreated subject without events: ADAE is written with no record but every variable
    (dates as SAS dates), as Define-XML describes it."""
    record = subject(tace_days=(), infusions=0)
    write_adam_export(protocol, [record], ctx, tmp_path, created=dt.datetime.now(dt.UTC))
    back, meta = read_xpt(tmp_path / "adae.xpt")
    assert back.empty
    assert list(back.columns) == [
        "STUDYID",
        "USUBJID",
        "SITEID",
        "TRTP",
        "TRTA",
        "AESEQ",
        "AETERM",
        "AEDECOD",
        "AETOXGR",
        "AESER",
        "AREL",
        "ASTDT",
        "AENDT",
        "TRTEMFL",
    ]
    assert meta.column_formats == {"ASTDT": "DATE9", "AENDT": "DATE9"}
    adsl, _ = read_xpt(tmp_path / "adsl.xpt")
    assert adsl[["ACTARM", "SAFFL", "PPROTFL"]].values.tolist() == [["Not Treated", "N", "N"]]


def test_odm_form_definitions_added_to_study_metadata(protocol: Protocol) -> None:
    """CRF forms join the study metadata in ODM 1.3.2 order; references resolve on import."""
    root = study_metadata(protocol, created=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    forms = [
        FormDefinition("F.TACE", "TACE", [("IT.TACE.DATE", "performed_on", "date")]),
        FormDefinition("F.AE", "Adverse event", [("IT.AE.GRADE", "grade", "integer")]),
    ]
    add_forms(root, event_oid="SE.STUDY", event_name="Forms", forms=forms)
    document = to_bytes(root)
    assert schema_errors(document, "odm-1.3.2") == []
    metadata = read_metadata(document)
    event = next(e for e in metadata.events if e.oid == "SE.STUDY")
    assert [r.oid for r in event.forms] == ["F.TACE", "F.AE"]
    assert metadata.item("IT.AE.GRADE").data_type == "integer"
    with pytest.raises(InputError, match="not a study metadata document"):
        add_forms(root.makeelement("ODM"), event_oid="SE.X", event_name="X", forms=forms)


class _Generated:
    """``count`` subjects built afresh at each pass: the input itself is never held in memory."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __iter__(self) -> Iterator[r.TrialSubject]:
        return _many(self.count)


def _export_peak(protocol: Protocol, ctx: AnalysisContext, count: int, folder: Path) -> int:
    """Traced peak of an SDTM and an ADaM export of ``count`` subjects (chunks of 30 records)."""
    folder.mkdir()
    subjects = _Generated(count)
    stamp = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    tracemalloc.start()
    try:
        write_sdtm(protocol, subjects, ctx, folder, chunk_rows=30)
        write_adam_export(protocol, subjects, ctx, folder, created=stamp, chunk_rows=30)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_sdtm_and_adam_exports_run_in_bounded_memory(
    tmp_path: Path, protocol: Protocol, ctx: AnalysisContext
) -> None:
    """Five times the subjects: five times the data written, but the traced peak grows far less
    than linearly (records are framed and written a chunk at a time, in two passes)."""
    small = _export_peak(protocol, ctx, 20, tmp_path / "small")
    large = _export_peak(protocol, ctx, 100, tmp_path / "large")
    for name in ("ex.xpt", "rs.xpt", "adtte.xpt", "adrs.xpt"):
        grown = (tmp_path / "large" / name).stat().st_size / (
            tmp_path / "small" / name
        ).stat().st_size
        assert grown > 3.5, name
    back, _ = read_xpt(tmp_path / "large" / "adsl.xpt")
    assert len(back) == 100
    assert back["USUBJID"].is_unique
    assert large < 1.6 * small, (small, large)


def test_streamed_export_needs_a_reiterable(
    tmp_path: Path, protocol: Protocol, ctx: AnalysisContext
) -> None:
    """The XPT exports read the subjects twice; a one-shot generator is refused up front."""
    with pytest.raises(TypeError, match="re-iterable"):
        write_sdtm(protocol, _many(2), ctx, tmp_path)


def test_streamed_export_equals_dataframe_path_in_any_chunking(
    tmp_path: Path, protocol: Protocol, ctx: AnalysisContext
) -> None:
    """Chunks of 3 records give the files pyreadstat writes from the whole frames: the same
    values read back, and byte for byte the same variables and observations."""
    records = [subject("S1", scans=[(56, "SD")]), _rich_subject(), *_many(4)]
    streamed, whole = tmp_path / "streamed", tmp_path / "whole"
    streamed.mkdir()
    whole.mkdir()
    stamp = dt.datetime.now(dt.UTC)
    write_adam_export(protocol, records, ctx, streamed, created=stamp, chunk_rows=3)
    write_sdtm(protocol, records, ctx, streamed, chunk_rows=3)
    adam = adam_datasets(records, ctx)
    sdtm = sdtm_datasets(records, ctx)
    write_adam(adam, whole)
    for domain, frame in sdtm.items():
        write_xpt(
            frame,
            whole / f"{domain.lower()}.xpt",
            dataset_name=domain,
            dataset_label=frame.attrs["dataset_label"],
            column_labels=frame.attrs["column_labels"],
        )
    namestr = b"HEADER RECORD*******NAMESTR"
    for name, frame in {**adam, **sdtm}.items():
        file_name = f"{name.lower()}.xpt"
        back, meta = read_xpt(streamed / file_name)
        _assert_same(frame, back)
        assert meta.column_labels == frame.attrs["column_labels"]
        ours, theirs = (streamed / file_name).read_bytes(), (whole / file_name).read_bytes()
        assert ours[ours.index(namestr) :] == theirs[theirs.index(namestr) :], name
    define = (streamed / "define.xml").read_text()
    write_define(protocol, list(adam), whole / "define.xml", created=stamp, frames=adam)
    assert define == (whole / "define.xml").read_text()


BICR_CASES = [
    # (case, investigator scans, central reader scans, PFS ADT/CNSR, PFSBICR ADT/CNSR or None)
    ("reader sees PD earlier", [(56, "SD"), (117, "PD")], [(56, "PD")], (117, 0), (56, 0)),
    ("reader sees no PD", [(56, "SD"), (117, "PD")], [(56, "SD"), (117, "SD")], (117, 0), (117, 1)),
    ("reader scans not adequate", [(56, "PD")], [(56, "NE")], (56, 0), (0, 1)),
    ("no central review", [(56, "PD")], None, (56, 0), None),
]


@pytest.mark.parametrize(
    ("case", "site_scans", "central_scans", "primary", "central"),
    BICR_CASES,
    ids=[c[0] for c in BICR_CASES],
)
def test_pfs_by_blinded_central_review(
    ctx: AnalysisContext,
    case: str,
    site_scans: list[tuple[int, str]],
    central_scans: list[tuple[int, str]] | None,
    primary: tuple[int, int],
    central: tuple[int, int] | None,
) -> None:
    """PFSBICR reads the central reader's progression dates through the same PFS rules; the
    investigator's PFS is unchanged; a subject no reader read has no PFSBICR record."""
    record = subject(scans=site_scans)
    if central_scans is not None:
        baseline = record.assessments[0]
        record = dataclasses.replace(
            record,
            central_assessments=[baseline, *(scan(d, call) for d, call in central_scans)],
        )
    adtte = adam_datasets([record], ctx)["ADTTE"].set_index("PARAMCD")
    pfs_row = adtte.loc["PFS"]
    assert (pfs_row["ADT"].date(), pfs_row["CNSR"]) == (day(primary[0]), primary[1])
    if central is None:
        assert "PFSBICR" not in adtte.index
        return
    row = adtte.loc["PFSBICR"]
    assert (row["ADT"].date(), row["CNSR"], row["AVAL"]) == (
        day(central[0]),
        central[1],
        central[0] + 1,
    )
    assert row["PARAM"] == "PFS per blinded independent central review (days)"
    assert list(adtte.index) == ["PFS", "PFSMISS", "PFSNACT", "PFSMREC", "PFSBICR", "OS"]


def test_central_response_after_death_names_the_central_series(ctx: AnalysisContext) -> None:
    record = dataclasses.replace(
        subject(scans=[(56, "SD")], death=100), central_assessments=[scan(120, "PD")]
    )
    with pytest.raises(InputError) as caught:
        adam_datasets([record], ctx)
    assert caught.value.field == "subjects[S1].central_assessments[0].assessed_on"
    assert "after the death" in caught.value.problem


def _write_sdtm(protocol: Protocol, records: Any, ctx: AnalysisContext, folder: Path) -> None:
    write_sdtm(protocol, records, ctx, folder, chunk_rows=1)


def _write_adam(protocol: Protocol, records: Any, ctx: AnalysisContext, folder: Path) -> None:
    write_adam_export(protocol, records, ctx, folder, created=dt.datetime.now(dt.UTC))


@pytest.mark.parametrize(
    ("export", "field"), [(_write_sdtm, "AE.AETERM[0]"), (_write_adam, "ADAE.AETERM[0]")]
)
def test_value_xpt_cannot_hold_names_dataset_variable_row_and_subject(
    tmp_path: Path, protocol: Protocol, ctx: AnalysisContext, export: Any, field: str
) -> None:
    """A non-ASCII adverse-event term (third subject) stops the streamed export before any file
    is written, naming the dataset, the variable, the row and the subject."""
    event = r.AdverseEvent("fi\u00e8vre", "Fever", 1, day(10))
    records = [*_many(2), subject("S9", adverse_events=[event])]
    with pytest.raises(InputError) as caught:
        export(protocol, records, ctx, tmp_path)
    assert caught.value.field == field
    assert caught.value.problem == (
        "value has the non-ASCII character '\u00e8' at position 3 (XPT v5 is ASCII only) "
        "(USUBJID IVY02-S9)"
    )
    assert list(tmp_path.iterdir()) == []


def test_sdtm_rs_keeps_the_central_reads_apart_by_rseval(ctx: AnalysisContext) -> None:
    """The reader's calls are RS records of their own (RSEVAL = INDEPENDENT ASSESSOR): PFSBICR's
    source (SRCDOM RS) is there, and the investigator's records are unchanged."""
    site_only = subject(scans=[(56, "SD")])
    record = dataclasses.replace(
        site_only, central_assessments=[site_only.assessments[0], scan(56, "PD")]
    )
    rs = sdtm_datasets([record], ctx)["RS"]
    overall = rs[(rs["RSTESTCD"] == "OVRLRESP") & (rs["RSCAT"] == "RECIST 1.1")]
    assert overall[["RSEVAL", "RSORRES", "RSDTC"]].values.tolist() == [
        ["INVESTIGATOR", "SD", day(56).isoformat()],
        ["INDEPENDENT ASSESSOR", "PD", day(56).isoformat()],
    ]
    assert rs["RSSEQ"].tolist() == list(map(float, range(1, len(rs) + 1)))
    investigator = rs[rs["RSEVAL"] == "INVESTIGATOR"].drop(columns="RSEVAL")
    alone = sdtm_datasets([site_only], ctx)["RS"].drop(columns="RSEVAL")
    pd.testing.assert_frame_equal(investigator.reset_index(drop=True), alone)
    bicr = adam_datasets([record], ctx)["ADTTE"].set_index("PARAMCD").loc["PFSBICR"]
    assert (bicr["SRCDOM"], bicr["SRCVAR"], bicr["ADT"].date()) == ("RS", "RSDTC", day(56))


DCSREAS_CASES = [
    # (case, exit, DCSREAS)
    ("ongoing", None, None),
    ("completed", r.StudyExit("completed", day(365)), None),
    ("death", r.StudyExit("withdrawn", day(200), "death", death_date=day(200)), "DEATH"),
    ("lost", r.StudyExit("withdrawn", day(100), "lost_to_follow_up"), "LOST TO FOLLOW-UP"),
    (
        "by subject",
        r.StudyExit("withdrawn", day(100), "withdrawal_by_subject"),
        "WITHDRAWAL BY SUBJECT",
    ),
    ("consent", r.StudyExit("withdrawn", day(100), "consent_withdrawn"), "CONSENT WITHDRAWN"),
    ("no reason", r.StudyExit("withdrawn", day(100)), "OTHER"),
]


@pytest.mark.parametrize(
    ("case", "exit_", "expected"), DCSREAS_CASES, ids=[c[0] for c in DCSREAS_CASES]
)
def test_discontinuation_reason(
    ctx: AnalysisContext, case: str, exit_: r.StudyExit | None, expected: str | None
) -> None:
    """DCSREAS: the withdrawal reason upper-cased, underscores as spaces, LOST TO FOLLOW-UP so
    spelled, OTHER without a reason; null for a completed or ongoing subject."""
    assert discontinuation_reason(exit_) == expected
    adsl = adam_datasets([subject(exit=exit_)], ctx)["ADSL"]
    assert list(adsl.columns)[-2:] == ["EOSSTT", "DCSREAS"]
    assert adsl["DCSREAS"].tolist() == [expected]


def test_adam_export_writes_adtace_readable_by_pyreadstat(
    tmp_path: Path, protocol: Protocol, ctx: AnalysisContext
) -> None:
    """``adtace.xpt`` is written with the other datasets, read back by pyreadstat (one record
    per subject, labels from the metadata), and Define-XML describes it."""
    records = [subject("S1", tace_days=(3, 60, 120)), subject("S2", arm="TACE", tace_days=())]
    written = write_adam_export(protocol, records, ctx, tmp_path, created=dt.datetime.now(dt.UTC))
    assert tmp_path / "adtace.xpt" in written
    frame, meta = pyreadstat.read_xport(str(tmp_path / "adtace.xpt"))
    assert meta.table_name == "ADTACE"
    assert frame[["USUBJID", "PARAMCD", "AVAL"]].values.tolist() == [
        ["IVY02-S1", "NTACER", 2.0],
        ["IVY02-S2", "NTACER", 0.0],
    ]
    assert frame["STARTDT"].tolist() == [RANDDT, RANDDT]
    assert dict(zip(meta.column_names, meta.column_labels, strict=True))["FUPYR"] == (
        "Follow-up (years)"
    )
    define = (tmp_path / "define.xml").read_text()
    assert 'OID="IG.ADTACE"' in define
    assert "adtace.xpt" in define
