"""Virtual patients: a complete synthetic NCT03592706 population consistent with a design scenario.

Each screened patient gets a screening record in the interfaces.md "Eligibility" input shape, built
to pass eligibility or to fail named criteria at realistic rates (``expected_failures``). Eligible
patients are randomized (permuted blocks) until the target enrollment is reached. For every
randomized patient the course is generated under BOTH arms from the same random numbers (potential
outcomes), so a driver that lets the real system randomize can follow whichever arm it assigns; the
generator's own assignment is ``assigned_arm``.

A course holds: tumor assessments every 8 weeks (domain.md 1.3) in the interfaces.md RECIST input
shape, whose target sums stay clear of progression until the first scheduled scan after the
patient's latent progression time (exponential, hazard ``log 2 / control median`` times the arm's
hazard ratio) and then show unequivocal PD (target growth of at least 25 % and 6 mm above the
nadir, or a new lesion); deaths, dropouts, TACE sessions (first within 14 days, repeats on
progression or viable tumor, fewer in the IKC arm), IKC infusions (experimental arm), immune
panels whose NK/NKT-like cells and IFN-gamma rise more in the IKC arm, and adverse events with
CTCAE v5.0 terms and grades (post-embolization syndrome after TACE, infusion reactions after IKC,
background events).

Everything is deterministic for a seed: patient ``i`` draws from ``SeedSequence(seed,
spawn_key=(i,))``. Dates are calendar dates from the ``start_date`` of the trial.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
from dateutil.relativedelta import relativedelta

from ikctrial.design.parameters import (
    Allocation,
    checked_count,
    checked_non_negative,
    checked_positive,
    dropout_hazard_per_month,
)
from ikctrial.errors import InputError

Arm = Literal["experimental", "control"]
ARMS: tuple[Arm, Arm] = ("experimental", "control")
DAYS_PER_MONTH = 30.4375  # domain.md 0
IMAGING_INTERVAL_DAYS = 56  # domain.md 1.3
IMAGING_WINDOW_DAYS = 7
END_OF_STUDY_DAY = 364
INFUSION_DAYS = (21, 28, 35, 42, 56, 70, 84, 98, 126, 154, 182, 210)  # domain.md 1.3
IMMUNE_PANEL_DAYS = (28, 56, 112, 168, 252, END_OF_STUDY_DAY)
CONSENT_VERSION = "1.0"

# Screen-failure reasons and their relative frequency among screen failures. Each entry lists the
# criteria the altered record fails (Child-Pugh C and ECOG 3 also make BCLC stage D, domain.md 4.3).
FAILURE_REASONS: dict[str, tuple[float, tuple[str, ...]]] = {
    "bclc_a": (0.24, ("I3_bclc",)),
    "child_pugh_c": (0.20, ("I3_bclc", "I5_child_pugh")),
    "prior_tace": (0.15, ("I4_no_prior_tace",)),
    "recent_therapy": (0.10, ("E1_recent_therapy",)),
    "ecog_3": (0.08, ("I3_bclc", "I6_ecog")),
    "active_infection": (0.07, ("E3_active_infection",)),
    "recent_encephalopathy": (0.06, ("E4_life_threatening",)),
    "hiv": (0.04, ("E2_hiv_htlv",)),
    "age_80_or_more": (0.04, ("I1_age",)),
    "pregnancy": (0.02, ("E5_pregnancy",)),
}


@dataclass(frozen=True)
class VirtualTrialScenario:
    """What the synthetic trial looks like (defaults: the registered design, domain.md 1.1, 7.6)."""

    n_randomized: int = 60
    allocation: Allocation = field(default_factory=lambda: Allocation(1, 1))
    control_median_pfs_months: float = 7.0
    hazard_ratio: float = 0.6
    accrual_months: float = 24.0
    dropout_rate: float = 0.10
    """Probability of withdrawing within 12 months."""
    screen_failure_rate: float = 0.30
    death_share_of_pfs_events: float = 0.12
    """Share of PFS events that are deaths without documented progression."""
    bclc_c_share: float = 0.45
    child_pugh_b_share: float = 0.25
    repeat_tace_probability_per_scan: float = 0.25
    """Control-arm chance of an on-demand TACE for viable tumor at a scan before progression; the
    IKC arm's is multiplied by the hazard ratio (the registry's "reduction of relapse")."""

    def __post_init__(self) -> None:
        checked_count("n_randomized", self.n_randomized, minimum=2)
        checked_positive("control_median_pfs_months", self.control_median_pfs_months)
        checked_positive("hazard_ratio", self.hazard_ratio)
        checked_positive("accrual_months", self.accrual_months)
        for name in (
            "dropout_rate",
            "screen_failure_rate",
            "death_share_of_pfs_events",
            "bclc_c_share",
            "child_pugh_b_share",
            "repeat_tace_probability_per_scan",
        ):
            value = checked_non_negative(name, getattr(self, name))
            if value >= 1:
                raise InputError(name, f"must be < 1 (got {value:g})")


def _iso(value: Any) -> Any:
    """Dates to ISO strings, recursively (the JSON shapes of interfaces.md)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso(v) for v in value]
    return value


def _document(values: dict[str, Any]) -> dict[str, Any]:
    """A mapping with its dates as ISO strings."""
    return {key: _iso(value) for key, value in values.items()}


@dataclass(frozen=True)
class ScreeningRecord:
    """A screening record in exactly the interfaces.md "Eligibility" input shape."""

    subject_ref: str
    screening_date: date
    birth_date: date
    sex: Literal["male", "female"]
    consent: dict[str, Any]
    hcc_diagnosis: dict[str, list[str]]
    tumor: dict[str, Any]
    ecog: int
    labs: dict[str, dict[str, Any]]
    ascites: str
    encephalopathy: str
    prior_tace: bool
    prior_therapies: list[dict[str, Any]]
    other_trial_end_date: date | None
    hiv: bool
    htlv: bool
    active_infection: bool
    active_cardiac_disease: bool
    encephalopathy_last_episode_date: date | None
    cns_disease: bool
    brain_or_meningeal_metastasis: bool
    pregnant: bool
    breast_feeding: bool
    childbearing_potential: bool
    adequate_contraception: bool | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``ikctrial eligibility check`` and the subjects API accept."""
        return {name: _iso(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class TumorAssessment:
    """One imaging time point in the interfaces.md RECIST input shape."""

    date: date
    target: list[dict[str, Any]]
    non_target: list[dict[str, Any]]
    new_lesions: Literal["none", "equivocal", "unequivocal"]

    @property
    def sum_mm(self) -> float:
        """Sum of the target diameters."""
        return float(sum(t["diameter_mm"] for t in self.target))

    def to_dict(self) -> dict[str, Any]:
        """``{"date", "target", "non_target", "new_lesions"}``."""
        return _document(
            {
                "date": self.date,
                "target": self.target,
                "non_target": self.non_target,
                "new_lesions": self.new_lesions,
            }
        )


@dataclass(frozen=True)
class TaceSession:
    """A TACE procedure (protocol therapy in both arms, domain.md 1.2)."""

    date: date
    number: int
    reason: Literal["initial", "progression", "viable_tumor"]


@dataclass(frozen=True)
class ImmunePanel:
    """Flow cytometry (% of lymphocytes; Treg % of CD4+) and cytokines (pg/mL), domain.md 7.4."""

    date: date
    lymphocytes_10e9_per_l: float
    cd3_pct: float
    cd4_pct: float
    cd8_pct: float
    nk_pct: float
    nkt_like_pct: float
    treg_pct_of_cd4: float
    cytokines_pg_ml: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Plain values, with the derived CD4/CD8 ratio."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values["cd4_cd8_ratio"] = round(self.cd4_pct / self.cd8_pct, 3)
        return _document(values)


@dataclass(frozen=True)
class AdverseEvent:
    """An AE with its CTCAE v5.0 term and worst grade (domain.md 6.1, 6.7)."""

    term: str
    grade: int
    onset_date: date
    end_date: date | None
    serious: bool
    related_to: Literal["TACE", "IKC", "none"]
    cluster: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain values."""
        return _document({name: getattr(self, name) for name in self.__dataclass_fields__})


@dataclass(frozen=True)
class ArmCourse:
    """What happens to one randomized patient if allocated to ``arm``."""

    arm: Arm
    baseline_imaging_date: date
    assessments: list[TumorAssessment]
    progression_date: date | None
    death_date: date | None
    dropout_date: date | None
    last_contact_date: date
    tace_sessions: list[TaceSession]
    infusion_dates: list[date]
    immune_panels: list[ImmunePanel]
    adverse_events: list[AdverseEvent]

    def recist_input(self, criteria: str = "RECIST1.1") -> dict[str, Any]:
        """The ``ikctrial recist evaluate`` input for this course (baseline first)."""
        return {
            "criteria": criteria,
            "confirmation_required": False,
            "min_sd_days": 42,
            "assessments": [a.to_dict() for a in self.assessments],
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain values, assessments in the RECIST input shape."""
        return _document(
            {
                "arm": self.arm,
                "baseline_imaging_date": self.baseline_imaging_date,
                "assessments": [a.to_dict() for a in self.assessments],
                "progression_date": self.progression_date,
                "death_date": self.death_date,
                "dropout_date": self.dropout_date,
                "last_contact_date": self.last_contact_date,
                "tace_sessions": [
                    {"date": t.date, "number": t.number, "reason": t.reason}
                    for t in self.tace_sessions
                ],
                "infusion_dates": self.infusion_dates,
                "immune_panels": [p.to_dict() for p in self.immune_panels],
                "adverse_events": [e.to_dict() for e in self.adverse_events],
            }
        )


@dataclass(frozen=True)
class VirtualPatient:
    """A screened patient; randomized ones carry a course per arm."""

    screening: ScreeningRecord
    expected_failures: tuple[str, ...]
    """Criterion ids (interfaces.md) the record was built to fail; empty = eligible."""
    bclc_stage: str
    child_pugh_class: str
    randomization_date: date | None = None
    assigned_arm: Arm | None = None
    courses: dict[Arm, ArmCourse] = field(default_factory=dict)

    @property
    def eligible(self) -> bool:
        """Built to pass every criterion."""
        return not self.expected_failures

    def course(self, arm: Arm | None = None) -> ArmCourse:
        """The course under ``arm`` (default: the generator's own assignment)."""
        chosen = arm or self.assigned_arm
        if chosen is None:
            raise InputError("arm", f"{self.screening.subject_ref} was not randomized")
        return self.courses[chosen]

    def to_dict(self) -> dict[str, Any]:
        """Plain values."""
        return _document(
            {
                "screening": self.screening.to_dict(),
                "expected_failures": list(self.expected_failures),
                "bclc_stage": self.bclc_stage,
                "child_pugh_class": self.child_pugh_class,
                "randomization_date": self.randomization_date,
                "assigned_arm": self.assigned_arm,
                "courses": {arm: c.to_dict() for arm, c in self.courses.items()},
            }
        )


@dataclass(frozen=True)
class VirtualTrial:
    """Everyone screened, in screening order."""

    scenario: VirtualTrialScenario
    seed: int
    start_date: date
    patients: list[VirtualPatient]

    @property
    def randomized(self) -> list[VirtualPatient]:
        """The randomized patients, in randomization order."""
        return [p for p in self.patients if p.assigned_arm is not None]

    def to_dict(self) -> dict[str, Any]:
        """Plain values."""
        return {
            "seed": self.seed,
            "start_date": self.start_date.isoformat(),
            "patients": [p.to_dict() for p in self.patients],
        }


# --- screening --------------------------------------------------------------------------------

# Child-Pugh point intervals (domain.md 4.1) as value ranges kept clear of every boundary.
_BILIRUBIN_MG_DL = {1: (0.3, 1.9), 2: (2.05, 2.95), 3: (3.1, 6.0)}
_ALBUMIN_G_DL = {1: (3.6, 4.6), 2: (2.85, 3.45), 3: (2.0, 2.75)}
_INR = {1: (0.9, 1.6), 2: (1.75, 2.25), 3: (2.4, 3.5)}
_ASCITES = {1: "none", 2: "mild", 3: "moderate_severe"}


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def _child_pugh_points(rng: np.random.Generator, cls: str) -> dict[str, int]:
    """Points for bilirubin, albumin, INR and ascites (encephalopathy 1) giving class ``cls``."""
    wanted = {"A": (5, 6), "B": (7, 9), "C": (10, 13)}[cls]
    while True:
        if cls == "A":
            points = {"bilirubin": 1, "albumin": int(rng.choice([1, 2])), "inr": 1, "ascites": 1}
        else:
            points = {k: int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25])) for k in _ASCITES_KEYS}
        if wanted[0] <= sum(points.values()) + 1 <= wanted[1]:
            return points


_ASCITES_KEYS = ("bilirubin", "albumin", "inr", "ascites")


def _labs(rng: np.random.Generator, points: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Lab values inside the chosen point intervals, in the units a site might use."""
    bilirubin = _uniform(rng, _BILIRUBIN_MG_DL[points["bilirubin"]])
    albumin = _uniform(rng, _ALBUMIN_G_DL[points["albumin"]])
    labs: dict[str, dict[str, Any]] = {
        "bilirubin": (
            {"value": round(bilirubin * 17.1, 1), "unit": "umol/L"}
            if rng.random() < 0.5
            else {"value": round(bilirubin, 2), "unit": "mg/dL"}
        ),
        "albumin": (
            {"value": round(albumin * 10, 1), "unit": "g/L"}
            if rng.random() < 0.5
            else {"value": round(albumin, 2), "unit": "g/dL"}
        ),
        "inr": {"value": round(_uniform(rng, _INR[points["inr"]]), 2)},
        "afp": {"value": round(float(rng.lognormal(math.log(150), 2.0)), 1), "unit": "ng/mL"},
    }
    return labs


def _tumor_for_stage(rng: np.random.Generator, stage: str) -> tuple[dict[str, Any], int]:
    """Tumor burden and ECOG that give BCLC ``stage`` (A, B or C) with Child-Pugh A/B (4.3)."""
    if stage == "A":
        return {
            "nodules": 1,
            "largest_mm": int(rng.integers(21, 60)),
            "vascular_invasion": False,
            "extrahepatic_spread": False,
        }, 0
    if stage == "B":
        if rng.random() < 0.6:
            nodules, largest = int(rng.integers(4, 9)), int(rng.integers(15, 80))
        else:
            nodules, largest = int(rng.integers(2, 4)), int(rng.integers(31, 100))
        return {
            "nodules": nodules,
            "largest_mm": largest,
            "vascular_invasion": False,
            "extrahepatic_spread": False,
        }, 0
    ecog = int(rng.choice([0, 1, 2], p=[0.35, 0.45, 0.2]))
    vascular = bool(rng.random() < 0.45)
    spread = bool(rng.random() < 0.25)
    if ecog == 0 and not (vascular or spread):
        vascular = True
    return {
        "nodules": int(rng.integers(1, 9)),
        "largest_mm": int(rng.integers(20, 120)),
        "vascular_invasion": vascular,
        "extrahepatic_spread": spread,
    }, ecog


def _birth_date(rng: np.random.Generator, screening: date, age: int) -> date:
    """A birth date giving exactly ``age`` completed years on ``screening`` (domain.md 5.2)."""
    return screening - relativedelta(years=age) - timedelta(days=int(rng.integers(1, 360)))


def _screening_record(
    rng: np.random.Generator,
    scenario: VirtualTrialScenario,
    ref: str,
    screening: date,
    failures: frozenset[str],
) -> tuple[ScreeningRecord, str, str]:
    """A record built to pass every criterion except those of ``failures`` (FAILURE_REASONS);
    returns it with its BCLC stage and Child-Pugh class."""
    stage = "C" if rng.random() < scenario.bclc_c_share else "B"
    cp_class = "B" if rng.random() < scenario.child_pugh_b_share else "A"
    age = int(np.clip(round(rng.normal(62, 9)), 25, 79))
    sex: Literal["male", "female"] = "male" if rng.random() < 0.8 else "female"
    if "bclc_a" in failures:
        stage = "A"
    if "child_pugh_c" in failures:
        cp_class, stage = "C", "D"
    if "age_80_or_more" in failures:
        age = int(rng.integers(80, 88))
    if "pregnancy" in failures:
        sex, age = "female", int(rng.integers(25, 45))
    tumor, ecog = _tumor_for_stage(rng, "C" if stage == "D" else stage)
    if "ecog_3" in failures:
        ecog, stage = 3, "D"
    points = _child_pugh_points(rng, cp_class)
    methods = sorted(
        {
            m
            for m, p in (("CT", 0.8), ("MRI", 0.5), ("AFP", 0.4), ("biopsy", 0.2))
            if rng.random() < p
        }
        or {"CT"}
    )
    prior_therapies: list[dict[str, Any]] = []
    if rng.random() < 0.2:
        prior_therapies.append(
            {
                "type": str(rng.choice(["chemotherapy", "local", "targeted", "radiotherapy"])),
                "end_date": screening - timedelta(days=int(rng.integers(40, 400))),
            }
        )
    if "recent_therapy" in failures:
        prior_therapies.append(
            {
                "type": str(rng.choice(["chemotherapy", "targeted", "immunotherapy"])),
                "end_date": screening - timedelta(days=int(rng.integers(1, 27))),
            }
        )
    encephalopathy_episode = None
    if "recent_encephalopathy" in failures:
        encephalopathy_episode = screening - timedelta(days=int(rng.integers(10, 150)))
    elif rng.random() < 0.05:
        encephalopathy_episode = screening - timedelta(days=int(rng.integers(240, 720)))
    female = sex == "female"
    childbearing = female and age < 50 and rng.random() < 0.5
    record = ScreeningRecord(
        subject_ref=ref,
        screening_date=screening,
        birth_date=_birth_date(rng, screening, age),
        sex=sex,
        consent={
            "signed": True,
            "date": screening - timedelta(days=int(rng.integers(0, 8))),
            "version": CONSENT_VERSION,
        },
        hcc_diagnosis={"methods": methods},
        tumor=tumor,
        ecog=ecog,
        labs=_labs(rng, points),
        ascites=_ASCITES[points["ascites"]],
        encephalopathy="none",
        prior_tace="prior_tace" in failures,
        prior_therapies=prior_therapies,
        other_trial_end_date=None,
        hiv="hiv" in failures,
        htlv=False,
        active_infection="active_infection" in failures,
        active_cardiac_disease=False,
        encephalopathy_last_episode_date=encephalopathy_episode,
        cns_disease=False,
        brain_or_meningeal_metastasis=False,
        pregnant="pregnancy" in failures,
        breast_feeding=False,
        childbearing_potential=childbearing or "pregnancy" in failures,
        adequate_contraception=True if childbearing else None,
    )
    return record, stage, cp_class


def _failure_reasons(rng: np.random.Generator, failure_rate: float) -> list[str]:
    """None, one, or (rarely) two screen-failure reasons."""
    if rng.random() >= failure_rate:
        return []
    names = list(FAILURE_REASONS)
    weights = np.array([FAILURE_REASONS[n][0] for n in names])
    count = 2 if rng.random() < 0.1 else 1
    return [str(n) for n in rng.choice(names, size=count, replace=False, p=weights / weights.sum())]


_EXCLUSIVE = ({"bclc_a", "child_pugh_c", "ecog_3"}, {"pregnancy", "age_80_or_more"})
"""Reasons that set the same thing (the BCLC stage; age and sex): at most one of each group."""


def _compatible(reasons: list[str]) -> frozenset[str]:
    """Drop a second reason that conflicts with the first."""
    if len(reasons) == 2 and any(set(reasons) <= group for group in _EXCLUSIVE):
        return frozenset(reasons[:1])
    return frozenset(reasons)


# --- course of a randomized patient -------------------------------------------------------------


@dataclass(frozen=True)
class _Latent:
    """Random numbers shared by both arms (common random numbers)."""

    pfs_exponential: float
    death_not_progression: bool
    dropout_day: float
    first_tace_day: int
    baseline_imaging_days_before: int
    scan_jitter: list[int]
    response_ratios: list[float]
    pd_by_new_lesion: bool
    pd_growth: float
    post_pd_death_day: float
    course_seed: int
    """Seeds the draws made while following the patient; the same in both arms."""
    immune_baseline_day: int


def _latent(rng: np.random.Generator, scenario: VirtualTrialScenario) -> _Latent:
    scans = END_OF_STUDY_DAY // IMAGING_INTERVAL_DAYS + 1
    dropout_hazard = dropout_hazard_per_month(scenario.dropout_rate)
    dropout_day = (
        math.inf
        if dropout_hazard == 0
        else float(rng.standard_exponential()) / dropout_hazard * DAYS_PER_MONTH
    )
    return _Latent(
        pfs_exponential=float(rng.standard_exponential()),
        death_not_progression=bool(rng.random() < scenario.death_share_of_pfs_events),
        dropout_day=dropout_day,
        first_tace_day=int(rng.integers(0, 15)),
        baseline_imaging_days_before=int(rng.integers(1, 21)),
        scan_jitter=[int(j) for j in rng.integers(-5, 6, size=scans)],
        response_ratios=[float(r) for r in rng.uniform(0.9, 1.08, size=scans)],
        pd_by_new_lesion=bool(rng.random() < 0.4),
        pd_growth=float(rng.uniform(1.25, 1.6)),
        post_pd_death_day=float(rng.exponential(10 * DAYS_PER_MONTH)),
        course_seed=int(rng.integers(2**63)),
        immune_baseline_day=-int(rng.integers(0, 15)),
    )


Lesions = list[dict[str, Any]]


def _lesions(rng: np.random.Generator, tumor: dict[str, Any]) -> tuple[Lesions, Lesions]:
    """Baseline target lesions (at most 2 in the liver, domain.md 2.3) and non-target lesions."""
    largest = float(tumor["largest_mm"])
    targets = [{"id": "T1", "organ": "liver", "nodal": False, "diameter_mm": largest}]
    if tumor["nodules"] >= 2:
        second = round(float(rng.uniform(10, max(10.5, largest))), 1)
        targets.append({"id": "T2", "organ": "liver", "nodal": False, "diameter_mm": second})
    if tumor["extrahepatic_spread"]:
        targets.append(
            {
                "id": "T3",
                "organ": "lung",
                "nodal": False,
                "diameter_mm": round(rng.uniform(10, 30), 1),
            }
        )
    non_target: list[dict[str, Any]] = []
    if tumor["nodules"] > 2:
        non_target.append({"id": "N1", "organ": "liver", "status": "present"})
    if tumor["vascular_invasion"]:
        non_target.append({"id": "N2", "organ": "portal vein", "status": "present"})
    return targets, non_target


def _scaled(targets: list[dict[str, Any]], ratio: float) -> list[dict[str, Any]]:
    return [{**t, "diameter_mm": round(t["diameter_mm"] * ratio, 1)} for t in targets]


class _Dice:
    """Uniform draws from a patient's own stream, identical in both arms until their paths part."""

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def __call__(self) -> float:
        return float(self._rng.random())


def _course(
    arm: Arm,
    latent: _Latent,
    scenario: VirtualTrialScenario,
    randomized: date,
    targets: list[dict[str, Any]],
    non_target: list[dict[str, Any]],
) -> ArmCourse:
    ikc = arm == "experimental"
    dice = _Dice(latent.course_seed)
    hazard = math.log(2) / scenario.control_median_pfs_months
    hazard *= scenario.hazard_ratio if ikc else 1.0
    pfs_day = latent.pfs_exponential / hazard * DAYS_PER_MONTH

    def day(elapsed: float) -> date:
        return randomized + timedelta(days=int(elapsed))

    withdrawn = latent.dropout_day
    baseline_date = randomized - timedelta(days=latent.baseline_imaging_days_before)
    assessments = [TumorAssessment(baseline_date, targets, non_target, "none")]
    progression_day: int | None = None
    death_day: float | None = None
    if latent.death_not_progression and pfs_day < min(withdrawn, END_OF_STUDY_DAY):
        death_day = pfs_day
    nadir, ratio = 1.0, 1.0
    tace_days = [latent.first_tace_day]
    tace_reasons: list[Literal["initial", "progression", "viable_tumor"]] = ["initial"]
    tace_chance = scenario.repeat_tace_probability_per_scan * (scenario.hazard_ratio if ikc else 1)
    for k, jitter in enumerate(latent.scan_jitter[:-1], start=1):
        scan_day = k * IMAGING_INTERVAL_DAYS + jitter
        if scan_day > END_OF_STUDY_DAY or scan_day >= withdrawn:
            break
        if death_day is not None and scan_day >= death_day:
            break
        if pfs_day <= scan_day and death_day is None:
            new_lesion = latent.pd_by_new_lesion
            if new_lesion:
                shown = _scaled(targets, min(ratio, nadir * 1.05))
            else:
                growth = max(latent.pd_growth * nadir, nadir + 6.0 / _sum(targets))
                shown = _scaled(targets, growth)
            assessments.append(
                TumorAssessment(
                    day(scan_day), shown, non_target, "unequivocal" if new_lesion else "none"
                )
            )
            progression_day = scan_day
            break
        first_scan = k == 1
        ratio = (
            float(np.interp(latent.response_ratios[0], [0.9, 1.08], [0.55, 1.05]))
            if first_scan
            else min(ratio * latent.response_ratios[k - 1], nadir * 1.1)
        )
        nadir = min(nadir, ratio)
        assessments.append(
            TumorAssessment(day(scan_day), _scaled(targets, ratio), non_target, "none")
        )
        if dice() < tace_chance and scan_day - tace_days[-1] >= 28:
            tace_days.append(scan_day + 7 + int(dice() * 14))
            tace_reasons.append("viable_tumor")
    if progression_day is not None:
        post_death = progression_day + latent.post_pd_death_day
        if post_death < min(withdrawn, END_OF_STUDY_DAY):
            death_day = post_death
        next_tace = max(progression_day + 7 + int(dice() * 14), tace_days[-1] + 28)
        while next_tace < min(withdrawn, END_OF_STUDY_DAY, death_day or math.inf):
            tace_days.append(next_tace)
            tace_reasons.append("progression")
            next_tace += IMAGING_INTERVAL_DAYS + int(dice() * 28)
            if dice() < 0.5:
                break
    end_day = min(withdrawn, END_OF_STUDY_DAY, death_day if death_day is not None else math.inf)
    kept = [(d, r) for d, r in zip(tace_days, tace_reasons, strict=True) if d <= end_day]
    tace_sessions = [TaceSession(day(d), i, r) for i, (d, r) in enumerate(kept, start=1)]
    stop_infusions = min(end_day, progression_day if progression_day is not None else math.inf)
    infusion_days = _infusion_days([d for d, _ in kept], stop_infusions) if ikc else []
    return ArmCourse(
        arm=arm,
        baseline_imaging_date=baseline_date,
        assessments=assessments,
        progression_date=None if progression_day is None else day(progression_day),
        death_date=None if death_day is None else day(death_day),
        dropout_date=day(withdrawn)
        if withdrawn < END_OF_STUDY_DAY
        and withdrawn < (death_day if death_day is not None else math.inf)
        else None,
        last_contact_date=day(end_day),
        tace_sessions=tace_sessions,
        infusion_dates=[day(d) for d in infusion_days],
        immune_panels=_immune_panels(latent, ikc, randomized, end_day),
        adverse_events=_adverse_events(
            dice, [d for d, _ in kept], infusion_days, randomized, end_day
        ),
    )


def _sum(targets: list[dict[str, Any]]) -> float:
    return float(sum(t["diameter_mm"] for t in targets))


def _infusion_days(tace_days: list[int], stop_day: float) -> list[int]:
    """Planned IKC infusions moved out of TACE blackouts (2 days before to 7 after, domain.md 1.4);
    an infusion that would come within 5 days of the next one is missed."""
    given: list[int] = []
    for planned in INFUSION_DAYS:
        actual = planned
        for tace in tace_days:
            if tace - 2 <= actual <= tace + 7:
                actual = tace + 8
        if actual >= stop_day or (given and actual - given[-1] < 5):
            continue
        given.append(actual)
    return given


def _immune_panels(
    latent: _Latent, ikc: bool, randomized: date, end_day: float
) -> list[ImmunePanel]:
    """Baseline then scheduled panels; NK, NKT-like cells and IFN-gamma rise more with IKC."""
    rng = np.random.default_rng(np.random.SeedSequence(latent.course_seed, spawn_key=(1,)))
    baseline = {
        "lymphocytes_10e9_per_l": rng.lognormal(math.log(1.4), 0.3),
        "cd3_pct": rng.normal(65, 7),
        "cd4_pct": rng.normal(40, 6),
        "cd8_pct": rng.normal(24, 5),
        "nk_pct": rng.normal(15, 4),
        "nkt_like_pct": rng.lognormal(math.log(5), 0.4),
        "treg_pct_of_cd4": rng.normal(7, 1.5),
    }
    cytokines = {"IFN-gamma": 8.0, "TNF-alpha": 10.0, "IL-2": 2.0, "IL-6": 6.0, "IL-10": 4.0}
    base_cytokines = {k: rng.lognormal(math.log(v), 0.5) for k, v in cytokines.items()}
    responder = max(0.0, rng.normal(1.0, 0.35))

    def noise(sd: float) -> float:
        return float(np.exp(rng.normal(0, sd)))

    panels = []
    for panel_day in (latent.immune_baseline_day, *IMMUNE_PANEL_DAYS):
        if panel_day > end_day:
            break
        on_treatment = 21 <= panel_day <= 240
        effect = responder * (0.6 if on_treatment else 0.25) if ikc and panel_day > 0 else 0.0
        panels.append(
            ImmunePanel(
                date=randomized + timedelta(days=panel_day),
                lymphocytes_10e9_per_l=round(baseline["lymphocytes_10e9_per_l"] * noise(0.1), 2),
                cd3_pct=round(float(np.clip(baseline["cd3_pct"] * noise(0.05), 30, 90)), 1),
                cd4_pct=round(float(np.clip(baseline["cd4_pct"] * noise(0.06), 15, 65)), 1),
                cd8_pct=round(
                    float(np.clip(baseline["cd8_pct"] * noise(0.06) * (1 + effect / 4), 8, 55)), 1
                ),
                nk_pct=round(
                    float(np.clip(baseline["nk_pct"] * noise(0.1) * math.exp(effect / 2), 2, 45)), 1
                ),
                nkt_like_pct=round(
                    float(
                        np.clip(baseline["nkt_like_pct"] * noise(0.12) * math.exp(effect), 0.5, 40)
                    ),
                    2,
                ),
                treg_pct_of_cd4=round(
                    float(np.clip(baseline["treg_pct_of_cd4"] * noise(0.1), 1, 20)), 1
                ),
                cytokines_pg_ml={
                    k: round(
                        v * noise(0.3) * (math.exp(effect) if k in ("IFN-gamma", "IL-2") else 1), 2
                    )
                    for k, v in base_cytokines.items()
                },
            )
        )
    return panels


# CTCAE v5.0 terms: (term, grade probabilities for grades 1..3)
_PES_TERMS = (
    ("Fever", 0.6, (0.7, 0.25, 0.05)),
    ("Abdominal pain", 0.5, (0.5, 0.4, 0.1)),
    ("Nausea", 0.35, (0.7, 0.25, 0.05)),
    ("Alanine aminotransferase increased", 0.4, (0.5, 0.3, 0.2)),
)
_INFUSION_TERMS = (
    ("Fever", 0.25, (0.75, 0.25, 0.0)),
    ("Chills", 0.15, (0.85, 0.15, 0.0)),
    ("Infusion related reaction", 0.05, (0.6, 0.35, 0.05)),
)
_BACKGROUND_TERMS = (
    ("Fatigue", (0.6, 0.35, 0.05)),
    ("Platelet count decreased", (0.5, 0.3, 0.2)),
    ("Anemia", (0.5, 0.35, 0.15)),
    ("Ascites", (0.4, 0.4, 0.2)),
    ("Blood bilirubin increased", (0.5, 0.3, 0.2)),
    ("Diarrhea", (0.7, 0.25, 0.05)),
)


def _grade(dice: _Dice, probabilities: tuple[float, float, float]) -> int:
    u, total = dice(), 0.0
    for grade, p in enumerate(probabilities, start=1):
        total += p
        if u < total:
            return grade
    return 3


def _adverse_events(
    dice: _Dice, tace_days: list[int], infusion_days: list[int], randomized: date, end_day: float
) -> list[AdverseEvent]:
    """PES after each TACE, reactions after each infusion, and background events (domain.md 6)."""
    events: list[AdverseEvent] = []

    def add(
        term: str, grade: int, onset: int, days: int, related: Any, cluster: str | None
    ) -> None:
        if onset > end_day:
            return
        serious = grade >= 3 and dice() < 0.6
        start = randomized + timedelta(days=onset)
        events.append(
            AdverseEvent(
                term, grade, start, start + timedelta(days=days), serious, related, cluster
            )
        )

    for tace in tace_days:
        for term, chance, grades in _PES_TERMS:
            if dice() < chance:
                add(
                    term,
                    _grade(dice, grades),
                    tace + int(dice() * 3),
                    2 + int(dice() * 6),
                    "TACE",
                    "PES",
                )
    for infusion in infusion_days:
        for term, chance, grades in _INFUSION_TERMS:
            if dice() < chance:
                add(term, _grade(dice, grades), infusion, 1 + int(dice() * 2), "IKC", None)
    onset = 0.0
    while True:
        onset += -math.log(1 - dice()) * 365.25 / 2.5  # about 2.5 background events a year
        if onset > end_day:
            break
        term, grades = _BACKGROUND_TERMS[int(dice() * len(_BACKGROUND_TERMS))]
        add(term, _grade(dice, grades), int(onset), 3 + int(dice() * 20), "none", None)
    return sorted(events, key=lambda e: (e.onset_date, e.term))


# --- the trial ------------------------------------------------------------------------------------


def virtual_trial(
    scenario: VirtualTrialScenario | None = None, *, seed: int, start_date: date
) -> VirtualTrial:
    """Screen patients until ``n_randomized`` eligible ones are randomized (deterministic)."""
    scenario = scenario or VirtualTrialScenario()
    accrual_days = scenario.accrual_months * DAYS_PER_MONTH
    mean_gap = accrual_days * (1 - scenario.screen_failure_rate) / scenario.n_randomized
    # permuted blocks of twice the allocation block; code 0 = experimental, 1 = control
    block_codes = [0] * (2 * scenario.allocation.experimental) + [1] * (
        2 * scenario.allocation.control
    )
    arms_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31,)))
    arm_list: list[Arm] = []
    patients: list[VirtualPatient] = []
    screening_day, randomized_count, index = 0.0, 0, 0
    while randomized_count < scenario.n_randomized:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
        index += 1
        screening_day += float(rng.exponential(mean_gap))
        screening = start_date + timedelta(days=int(screening_day))
        reasons = _compatible(_failure_reasons(rng, scenario.screen_failure_rate))
        record, stage, cp_class = _screening_record(
            rng, scenario, f"SCR-{index:04d}", screening, reasons
        )
        failures = tuple(sorted({c for r in reasons for c in FAILURE_REASONS[r][1]}))
        if failures:
            patients.append(VirtualPatient(record, failures, stage, cp_class))
            continue
        if not arm_list:
            arm_list = [ARMS[int(k)] for k in arms_rng.permutation(block_codes)]
        arm = arm_list.pop(0)
        randomized = screening + timedelta(days=int(rng.integers(1, 15)))
        latent = _latent(rng, scenario)
        targets, non_target = _lesions(rng, record.tumor)
        courses = {a: _course(a, latent, scenario, randomized, targets, non_target) for a in ARMS}
        patients.append(VirtualPatient(record, (), stage, cp_class, randomized, arm, courses))
        randomized_count += 1
    return VirtualTrial(scenario, seed, start_date, patients)
