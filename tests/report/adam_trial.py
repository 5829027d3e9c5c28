"""Synthetic analysis datasets in the shape ``analysis.adam.datasets.adam_datasets`` builds them
(ADaM metadata of domain.md 10.2, dates as ``datetime64``, arm NAMES in TRTP/TRT01P), plus the
ADLB visit variables (PARCAT1, AVISIT, AVISITN, ANL01FL) and the ADTACE dataset of the report's
input contract, and the other report inputs (study, CONSORT counts, audit verdict).

Built from a seeded generator, so every report test reads the same reproducible trial; options make
the awkward cases (tiny trials, no events in one arm, no immune panel).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from tests.report.synthetic_trial import CONTROL, CUTOFF, IKC, timepoint_response

from ikctrial.analysis.adam.metadata import ADAM_DATASETS, conform
from ikctrial.design.report import DesignReport
from ikctrial.report.build import ReportInputs, StudyInfo
from ikctrial.report.figures.consort import ArmFlow, ConsortCounts

STUDY_ID = "IVY02"
EXPERIMENTAL_CODE = "IKC_TACE"
CONTROL_CODE = "TACE"
ARMS = {EXPERIMENTAL_CODE: IKC, CONTROL_CODE: CONTROL}
CUTOFF_AT = datetime(2026, 6, 30, 23, 59, tzinfo=UTC)
GENERATED_AT = datetime(2026, 7, 2, 9, 30, tzinfo=UTC)
VISITS = {"WEEK 4": 28, "WEEK 8": 56, "WEEK 16": 112, "WEEK 24": 168, "WEEK 36": 252}
IMMUNE_MARKERS = {
    # PARAMCD: (PARAM, baseline median, IKC effect as a multiple of baseline per visit)
    "CD3P": ("CD3 (percent_lymphocytes)", 65.0, 1.02),
    "CD8A": ("CD8 (cells_per_ul)", 380.0, 1.10),
    "NKTA": ("NKT (cells_per_ul)", 60.0, 1.25),
    "CD4CD8R": ("CD4_CD8_ratio (ratio)", 1.7, 0.95),
    "IFNG": ("IFN_gamma (pg_ml)", 8.0, 1.30),
}
ONE_ARM_MARKER = "CD19A"
"""Measured in the IKC arm only: its MMRM cannot be fitted (no control data at any visit)."""

STUDY = StudyInfo(
    nct_id="NCT03592706",
    sponsor_study_id=STUDY_ID,
    title="Autologous Immune Killer Cells to Treat Liver Cancer Patients as an Adjunct Therapy",
    sponsor="Example Sponsor",
    phase="Phase II/III",
    protocol_version="1.0",
    arms=ARMS,
    experimental_arm=EXPERIMENTAL_CODE,
    control_arm=CONTROL_CODE,
)


@dataclass(frozen=True)
class AdamTrial:
    """The analysis datasets of one synthetic trial and its CONSORT counts."""

    adam: dict[str, pd.DataFrame]
    consort: ConsortCounts


def _frame(name: str, records: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """Records conformed to the ADaM metadata; columns the metadata does not know yet (the report
    contract's additions) are kept as they are."""
    frame = pd.DataFrame.from_records(records, columns=columns)
    if name not in ADAM_DATASETS:
        return frame
    known = {v.name for v in ADAM_DATASETS[name].variables}
    conformed = conform(frame[[c for c in columns if c in known]], name)
    for column in columns:
        if column not in known:
            conformed[column] = frame[column].to_numpy()
    return conformed


def _common(subject: str, arm: str, actual: str | None) -> dict[str, Any]:
    return {
        "STUDYID": STUDY_ID,
        "USUBJID": subject,
        "SITEID": "01",
        "TRTP": arm,
        "TRTA": actual,
    }


_RANK = {"CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5, "NE": 6}


def make_adam_trial(
    seed: int = 20260115,
    n_per_arm: int = 30,
    *,
    events_in_control: bool = True,
    immune: bool = True,
) -> AdamTrial:
    """A two-arm trial of ``2 n_per_arm`` randomized patients (IKC first in each pair)."""
    rng = np.random.default_rng(seed)
    n = 2 * n_per_arm
    arms = [IKC if i % 2 == 0 else CONTROL for i in range(n)]
    subjects = [f"{STUDY_ID}-{i + 1:03d}" for i in range(n)]
    randomized = [
        date(2025, 1, 6) + timedelta(days=int(d)) for d in np.sort(rng.integers(0, 330, n))
    ]
    untreated = {n - 1} if n >= 8 else set()
    adsl: list[dict[str, Any]] = []
    adtte: list[dict[str, Any]] = []
    adrs: list[dict[str, Any]] = []
    adtr: list[dict[str, Any]] = []
    adlb: list[dict[str, Any]] = []
    adae: list[dict[str, Any]] = []
    adex: list[dict[str, Any]] = []
    adtace: list[dict[str, Any]] = []
    for i, subject in enumerate(subjects):
        arm, start = arms[i], randomized[i]
        ikc = arm == IKC
        treated = i not in untreated
        actual = arm if treated else None
        common = _common(subject, arm, actual)
        bclc = str(rng.choice(["B", "C"], p=[0.7, 0.3]))
        child_pugh = str(rng.choice(["A", "B"], p=[0.75, 0.25]))
        planned_end = min((CUTOFF - start).days + 1, 365)
        dropout = int(rng.integers(20, 300)) if rng.random() < 0.12 else None
        death = int(rng.integers(60, 360)) if rng.random() < 0.15 else None
        end_day = min(d for d in (planned_end, dropout, death) if d is not None)
        end = start + timedelta(days=end_day - 1)
        progression = int(np.ceil(rng.exponential(330.0 if ikc else 200.0)))
        if not ikc and not events_in_control:
            progression = 10_000
        pfs_event = progression <= end_day or (death is not None and death == end_day)
        if not ikc and not events_in_control:
            pfs_event = False
        pfs_day = min(progression, end_day) if pfs_event else max(1, 56 * ((end_day - 1) // 56))
        died = death is not None and death == end_day
        dies_first = died and death is not None and death < progression
        if end_day == planned_end and planned_end == 365:
            status = "COMPLETED"
        elif end_day == planned_end:
            status = "ONGOING"
        else:
            status = "DISCONTINUED"
        adsl.append(
            {
                "STUDYID": STUDY_ID,
                "USUBJID": subject,
                "SITEID": "01",
                "SUBJID": subject[-3:],
                "AGE": int(rng.integers(42, 80)),
                "AGEU": "YEARS",
                "SEX": str(rng.choice(["M", "F"], p=[0.8, 0.2])),
                "ARM": arm,
                "ARMCD": EXPERIMENTAL_CODE if ikc else CONTROL_CODE,
                "ACTARM": actual or "Not Treated",
                "TRT01P": arm,
                "TRT01PN": 1 if ikc else 2,
                "TRT01A": actual,
                "TRT01AN": (1 if ikc else 2) if treated else None,
                "RANDDT": start,
                "TRTSDT": start + timedelta(days=3) if treated else None,
                "TRTEDT": end if treated else None,
                "ITTFL": "Y",
                "SAFFL": "Y" if treated else "N",
                "PPROTFL": "Y" if treated else "N",
                "STRBCLC": bclc,
                "STRCP": child_pugh,
                "BCLCBL": bclc,
                "CPSCOREB": 5 if child_pugh == "A" else 7,
                "CPCLASBL": child_pugh,
                "ALBIBL": round(float(rng.normal(-2.4, 0.4)), 2),
                "ECOGBL": int(rng.choice([0, 1, 2], p=[0.55, 0.35, 0.10])),
                "DTHDT": end if died else None,
                "DTHFL": "Y" if died else "N",
                "EOSSTT": status,
            }
        )
        pfs_date = start + timedelta(days=pfs_day - 1)
        adtte.append(
            {
                **common,
                "PARAMCD": "PFS",
                "PARAM": "Progression-free survival (days)",
                "STARTDT": start,
                "ADT": pfs_date,
                "AVAL": float(pfs_day),
                "CNSR": 0 if pfs_event else 1,
                "EVNTDESC": ("DEATH" if dies_first else "DISEASE PROGRESSION")
                if pfs_event
                else None,
                "CNSDTDSC": None if pfs_event else "LAST ADEQUATE ASSESSMENT",
                "ITTFL": "Y",
            }
        )
        adtte.append(
            {
                **common,
                "PARAMCD": "OS",
                "PARAM": "Overall survival (days)",
                "STARTDT": start,
                "ADT": end,
                "AVAL": float(end_day),
                "CNSR": 0 if died else 1,
                "EVNTDESC": "DEATH" if died else None,
                "CNSDTDSC": None if died else "LAST KNOWN ALIVE",
                "ITTFL": "Y",
            }
        )
        last_scan = pfs_day if pfs_event else end_day
        for paramcd, criterion, shift in (
            ("SUMDIAM", "RECIST 1.1", 0.0),
            ("VSUMDIAM", "MRECIST", -20.0),
        ):
            base = float(rng.uniform(30.0, 120.0))
            series = [
                {
                    **common,
                    "PARAMCD": paramcd,
                    "PARAM": "Sum of target lesion diameters (mm)",
                    "ADT": start - timedelta(days=7),
                    "AVAL": base,
                    "BASE": base,
                    "CHG": None,
                    "PCHG": None,
                    "NADIR": base,
                    "ABLFL": "Y",
                    "ANL01FL": None,
                }
            ]
            responses: list[str] = []
            level = 0.0
            for day in range(56, last_scan + 1, 56):
                level += (-8.0 if ikc else -3.0) + shift / 2 + float(rng.normal(0.0, 12.0))
                pchg = max(round(level, 1), -100.0)
                response = timepoint_response(pchg, bool(rng.random() < 0.05))
                scan = start + timedelta(days=day)
                value = base * (1 + pchg / 100)
                series.append(
                    {
                        **series[0],
                        "ADT": scan,
                        "AVAL": value,
                        "CHG": value - base,
                        "PCHG": pchg,
                        "NADIR": min(base, *(float(r["AVAL"]) for r in series)),
                        "ABLFL": None,
                    }
                )
                adrs.append(
                    {
                        **common,
                        "PARAMCD": "OVR",
                        "PARAM": f"Overall response per time point ({criterion})",
                        "PARCAT1": criterion,
                        "AVALC": response,
                        "AVAL": _RANK[response],
                        "ADT": scan,
                        "ANL01FL": "Y",
                    }
                )
                responses.append(response)
                if response == "PD":
                    break
            if len(series) > 1:
                best = min(series[1:], key=lambda r: float(r["PCHG"]))
                best["ANL01FL"] = "Y"
                bor = min(responses, key=lambda r: _RANK[r])
                adrs.append(
                    {
                        **common,
                        "PARAMCD": "BOR",
                        "PARAM": f"Best overall response ({criterion})",
                        "PARCAT1": criterion,
                        "AVALC": bor,
                        "AVAL": _RANK[bor],
                        "ADT": None,
                        "ANL01FL": None,
                    }
                )
            adtr += series
        if immune:
            markers = dict(IMMUNE_MARKERS)
            if ikc:
                markers[ONE_ARM_MARKER] = ("CD19 (cells_per_ul)", 200.0, 1.0)
            for paramcd, (param, median, effect) in markers.items():
                base = float(median * rng.lognormal(0.0, 0.25))
                visits = [("BASELINE", -7)] + [(v, d) for v, d in VISITS.items() if d < end_day]
                for visit, day in visits:
                    factor = effect ** min(day / 56, 3) if ikc and day > 0 else 1.0
                    value = base * factor * float(rng.lognormal(0.0, 0.15)) if day > 0 else base
                    if paramcd == "CD3P":
                        value = min(value, 95.0)
                    record = {
                        **common,
                        "PARAMCD": paramcd,
                        "PARAM": param,
                        "PARCAT1": "IMMUNE PANEL",
                        "ADT": start + timedelta(days=day),
                        "AVISIT": visit,
                        "AVISITN": float(day),
                        "AVAL": value,
                        "BASE": base,
                        "CHG": value - base,
                        "ABLFL": "Y" if day < 0 else None,
                        "ATOXGR": None,
                        "BTOXGR": None,
                        "ANL01FL": "Y",
                    }
                    adlb.append(record)
                    if visit == "WEEK 8" and rng.random() < 0.1:
                        # an unscheduled repeat in the visit window, not the analysed record
                        adlb.append(
                            {
                                **record,
                                "ADT": start + timedelta(days=day + 3),
                                "AVAL": value * 5,
                                "ANL01FL": "N",
                            }
                        )
        adlb.append(
            {
                **common,
                "PARAMCD": "ALB",
                "PARAM": "albumin (g/L)",
                "PARCAT1": "CHEMISTRY",
                "ADT": start - timedelta(days=7),
                "AVISIT": "BASELINE",
                "AVISITN": -7.0,
                "AVAL": 38.0,
                "BASE": 38.0,
                "CHG": 0.0,
                "ABLFL": "Y",
                "ATOXGR": "0",
                "BTOXGR": "0",
                "ANL01FL": "Y",
            }
        )
        if treated:
            for sequence in range(int(rng.poisson(2.0))):
                adae.append(
                    {
                        **common,
                        "AESEQ": sequence + 1,
                        "AETERM": "event",
                        "AEDECOD": str(
                            rng.choice(["Fatigue", "Pyrexia", "Nausea", "Abdominal pain"])
                        ),
                        "AETOXGR": str(rng.choice(["1", "2", "3", "4"], p=[0.5, 0.3, 0.15, 0.05])),
                        "AESER": "N",
                        "AREL": "NOT RELATED",
                        "ASTDT": start + timedelta(days=5 + sequence),
                        "AENDT": None,
                        "TRTEMFL": "Y",
                    }
                )
        infusions = min(int(rng.integers(8, 13)), 1 + (end_day - 15) // 28) if ikc else 0
        infusions = max(infusions, 0) if treated else 0
        first = start + timedelta(days=14) if infusions else None
        last = first + timedelta(days=28 * (infusions - 1)) if first is not None else None
        for paramcd, param, value, unit in (
            ("NINF", "Number of IKC infusions received", float(infusions), "INFUSIONS"),
            ("TOTCELL", "Total viable cells infused", infusions * 5.0e9, "CELLS"),
        ):
            adex.append(
                {
                    **common,
                    "PARAMCD": paramcd,
                    "PARAM": param,
                    "EXTRT": "IKC",
                    "AVAL": value,
                    "AVALU": unit,
                    "ASTDT": first,
                    "AENDT": last,
                }
            )
        for number in range(infusions):
            given = start + timedelta(days=14 + 28 * number)
            adex.append(
                {
                    **common,
                    "PARAMCD": "IKCDOSE",
                    "PARAM": "Viable IKC cells infused per administration",
                    "EXTRT": "IKC",
                    "AVAL": 5.0e9,
                    "AVALU": "CELLS",
                    "ASTDT": given,
                    "AENDT": given,
                }
            )
        repeats = int(rng.negative_binomial(3, 3 / (3 + (1.0 if ikc else 1.8) * end_day / 365.25)))
        for session in range(1 + repeats if treated else 0):
            performed = start + timedelta(days=7 + session * max(28, end_day // (2 + repeats)))
            if performed <= end:
                adex.append(
                    {
                        **common,
                        "PARAMCD": "TACE",
                        "PARAM": "TACE session",
                        "EXTRT": "TACE",
                        "AVAL": 1.0,
                        "AVALU": "SESSION",
                        "ASTDT": performed,
                        "AENDT": performed,
                    }
                )
        years = end_day / 365.25
        adtace.append(
            {
                **common,
                "ITTFL": "Y",
                "PARAMCD": "NTACER",
                "PARAM": "Number of repeat TACE sessions",
                "AVAL": float(repeats),
                "FUPYR": years,
                "STARTDT": start,
                "ENDDT": end,
            }
        )
    adam = {
        "ADSL": _frame("ADSL", adsl, list(adsl[0])),
        "ADTTE": _frame("ADTTE", adtte, list(adtte[0])),
        "ADRS": _frame("ADRS", adrs, list(adrs[0]) if adrs else _columns("ADRS")),
        "ADTR": _frame("ADTR", adtr, list(adtr[0])),
        "ADLB": _frame("ADLB", adlb, list(adlb[0])),
        "ADAE": _frame("ADAE", adae, list(adae[0]) if adae else _columns("ADAE")),
        "ADEX": _frame("ADEX", adex, list(adex[0])),
        "ADTACE": _frame("ADTACE", adtace, list(adtace[0])),
    }
    return AdamTrial(adam=adam, consort=_consort(adam["ADSL"]))


def report_inputs(
    trial: AdamTrial, design: DesignReport, audit: dict[str, Any] | None = None
) -> ReportInputs:
    """The report inputs of a synthetic trial (an intact audit chain of 1234 events unless
    ``audit`` is given)."""
    return ReportInputs(
        study=STUDY,
        adam=trial.adam,
        consort=trial.consort,
        design=design,
        data_cutoff=CUTOFF_AT,
        audit=audit or {"ok": True, "events": 1234, "first_bad_event": None},
        generated_at=GENERATED_AT,
    )


def _columns(name: str) -> list[str]:
    return [v.name for v in ADAM_DATASETS[name].variables]


def _consort(adsl: pd.DataFrame) -> ConsortCounts:
    """Flow counts of the trial: 12 screen failures, then each arm's allocation from ADSL."""
    flows = []
    for arm in (IKC, CONTROL):
        rows = adsl[adsl["TRT01P"] == arm]
        received = int((rows["SAFFL"] == "Y").sum())
        stopped = int((rows["EOSSTT"] == "DISCONTINUED").sum())
        flows.append(
            ArmFlow(
                arm=arm,
                allocated=len(rows),
                received=received,
                analysed=len(rows),
                not_received={"Received no study treatment": len(rows) - received}
                if received < len(rows)
                else {},
                discontinued={"Withdrew consent": stopped} if stopped else {},
            )
        )
    excluded = {"Failed inclusion: BCLC stage": 7, "Failed inclusion: Child-Pugh class": 5}
    return ConsortCounts(screened=12 + len(adsl), excluded=excluded, arms=tuple(flows))
