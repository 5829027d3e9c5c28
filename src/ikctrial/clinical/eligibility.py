"""Computable eligibility: the twelve criteria of the protocol, tri-state (domain.md 5).

Each criterion returns ``pass`` (does not stop enrolment), ``fail`` or ``unknown`` (missing inputs
that could change the answer) with a human-readable reason. Rule parameters (age limits, washout,
allowed stages and classes, ECOG limit, encephalopathy window) come from the protocol file; the
rules themselves follow domain.md 5.1 and 5.2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from dateutil.relativedelta import relativedelta

from ikctrial.clinical.age import age_range
from ikctrial.clinical.albi import albi_display, albi_grade, albi_score
from ikctrial.clinical.bclc import BclcInputs, BclcStage, bclc_reachable_stages
from ikctrial.clinical.child_pugh import (
    NO_ENCEPHALOPATHY,
    ChildPugh,
    child_pugh,
    child_pugh_class,
)
from ikctrial.clinical.partial_date import PartialDate
from ikctrial.clinical.screening import ONGOING, ScreeningRecord, screening_record_from_dict
from ikctrial.protocol.model import CRITERION_IDS, Protocol

__all__ = [
    "CriterionResult",
    "EligibilityResult",
    "ScreeningRecord",
    "evaluate_eligibility",
    "screening_record_from_dict",
]

Result = Literal["pass", "fail", "unknown"]
PASS: Result = "pass"
FAIL: Result = "fail"
UNKNOWN: Result = "unknown"


@dataclass(frozen=True)
class Outcome:
    """One criterion's result and the reason shown to the investigator."""

    result: Result
    reason: str


@dataclass(frozen=True)
class CriterionResult:
    """A criterion as evaluated: identity and text from the protocol, outcome from the rule."""

    id: str
    kind: str
    text: str
    result: Result
    reason: str

    def to_dict(self) -> dict[str, str]:
        """The criterion as interfaces.md prints it."""
        return {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "result": self.result,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DerivedValues:
    """Values computed from the record once and shared by the criteria."""

    screening_date: date | None
    ages: tuple[int, int] | None
    child_pugh: ChildPugh
    albi_score: Decimal | None
    bclc_stages: frozenset[BclcStage]

    @property
    def age(self) -> int | None:
        """Age in completed years when the birth date pins it down."""
        if self.ages is None or self.ages[0] != self.ages[1]:
            return None
        return self.ages[0]

    @property
    def bclc(self) -> BclcStage | None:
        """The BCLC stage when a single one is reachable."""
        return next(iter(self.bclc_stages)) if len(self.bclc_stages) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        """The ``derived`` block of interfaces.md (null where not computable)."""
        cp = self.child_pugh
        score = self.albi_score
        return {
            "age": self.age,
            "child_pugh": {
                "score": cp.score,
                "class": cp.child_pugh_class,
                "points": dict(cp.points),
            },
            "albi": {
                "score": None if score is None else albi_display(score),
                "grade": None if score is None else albi_grade(score),
            },
            "bclc": self.bclc,
        }


ECOG_ATTRIBUTION_REVIEW = "ECOG_ATTRIBUTION_REVIEW"
"""BCLC C from ECOG 1-2 that the investigator does not attribute to the cancer (domain.md 4.3)."""
BCLC_MISMATCH = "BCLC_MISMATCH"
"""Investigator-entered BCLC stage not reachable by the computed rule (domain.md 5.4)."""


@dataclass(frozen=True)
class EligibilityResult:
    """The verdict on one screening record.

    ``flags`` are data-quality queries for the EDC (domain.md 4.3, 5.4); they never change a
    criterion and are not part of the ``--json`` document of interfaces.md.
    """

    subject_ref: str | None
    criteria: tuple[CriterionResult, ...]
    values: DerivedValues
    flags: tuple[str, ...] = ()

    @property
    def eligible(self) -> bool | None:
        """False if any criterion fails, None if none fails and any is unknown, else True."""
        results = {c.result for c in self.criteria}
        if FAIL in results:
            return False
        return None if UNKNOWN in results else True

    @property
    def derived(self) -> dict[str, Any]:
        """Derived values as in the output (``derived_value`` reads one by its path)."""
        return self.values.to_dict()

    def derived_value(self, path: str) -> Any:
        """A derived value by dotted path, e.g. ``child_pugh.class`` (a stratification source)."""
        value: Any = self.derived
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                raise KeyError(path)
            value = value[part]
        return value

    def to_dict(self) -> dict[str, Any]:
        """Exactly the output of ``ikctrial eligibility check --json`` (interfaces.md)."""
        return {
            "subject_ref": self.subject_ref,
            "eligible": self.eligible,
            "criteria": [c.to_dict() for c in self.criteria],
            "derived": self.derived,
        }


def combined(outcomes: Sequence[Outcome], all_pass_reason: str) -> Outcome:
    """Tri-state AND: fail if any fails, unknown if any is unknown, else pass."""
    for result in (FAIL, UNKNOWN):
        reasons = [o.reason for o in outcomes if o.result == result]
        if reasons:
            return Outcome(result, "; ".join(reasons))
    return Outcome(PASS, all_pass_reason)


def _flag_outcome(value: bool | None, *, positive: str, negative: str, missing: str) -> Outcome:
    """An exclusion flag: true fails, false passes, missing is unknown."""
    if value is None:
        return Outcome(UNKNOWN, missing)
    return Outcome(FAIL, positive) if value else Outcome(PASS, negative)


def _listing(items: Iterable[str]) -> str:
    return ", ".join(sorted(items))


def _derive(record: ScreeningRecord) -> DerivedValues:
    labs = record.labs
    bilirubin = None if labs is None or labs.bilirubin is None else labs.bilirubin
    albumin = None if labs is None or labs.albumin is None else labs.albumin
    cp = child_pugh(
        bilirubin=None if bilirubin is None else (bilirubin.value, bilirubin.unit),
        albumin=None if albumin is None else (albumin.value, albumin.unit),
        inr=None if labs is None or labs.inr is None else labs.inr.value,
        ascites=record.ascites,
        encephalopathy=record.encephalopathy,
    )
    score = None
    if bilirubin is not None and albumin is not None and bilirubin.value > 0:
        score = albi_score(bilirubin.value, bilirubin.unit, albumin.value, albumin.unit)
    tumor = record.tumor
    stages = bclc_reachable_stages(
        BclcInputs(
            child_pugh_classes=cp.possible_classes,
            ecog=record.ecog,
            macrovascular_invasion=None if tumor is None else tumor.vascular_invasion,
            extrahepatic_spread=None if tumor is None else tumor.extrahepatic_spread,
            nodules=None if tumor is None else tumor.nodules,
            largest_mm=None if tumor is None else tumor.largest_mm,
            diffuse=bool(tumor is not None and tumor.diffuse),
        )
    )
    ages = None
    if record.birth_date is not None and record.screening_date is not None:
        ages = age_range(record.birth_date, record.screening_date)
    return DerivedValues(record.screening_date, ages, cp, score, stages)


@dataclass(frozen=True)
class _Context:
    record: ScreeningRecord
    protocol: Protocol
    derived: DerivedValues


def _age(ctx: _Context) -> Outcome:
    """I1: min_age <= age < max_age_exclusive for every possible birth date (5.2)."""
    params = ctx.protocol.eligibility.age
    if ctx.record.birth_date is None:
        return Outcome(UNKNOWN, "birth date missing")
    if ctx.derived.ages is None:
        return Outcome(UNKNOWN, "screening date missing")
    low, high = ctx.derived.ages
    ages = f"{low} years" if low == high else f"{low} to {high} years"
    born = "" if ctx.record.birth_date.is_complete else f" (born {ctx.record.birth_date})"
    limits = f"{params.min_age} to under {params.max_age_exclusive}"
    if low >= params.min_age and high < params.max_age_exclusive:
        return Outcome(PASS, f"{ages}{born}")
    if high < params.min_age or low >= params.max_age_exclusive:
        return Outcome(FAIL, f"{ages}{born}, outside {limits}")
    return Outcome(UNKNOWN, f"{ages}{born}: may be inside or outside {limits}")


def _hcc_diagnosis(ctx: _Context) -> Outcome:
    """I2: at least one accepted modality showed HCC."""
    diagnosis = ctx.record.hcc_diagnosis
    if diagnosis is None or diagnosis.methods is None:
        return Outcome(UNKNOWN, "diagnostic methods missing")
    accepted = set(ctx.protocol.eligibility.hcc_diagnosis.accepted_methods)
    shown = [m for m in diagnosis.methods if m in accepted]
    if shown:
        return Outcome(PASS, f"HCC shown by {', '.join(shown)}")
    if diagnosis.methods:
        return Outcome(FAIL, f"{', '.join(diagnosis.methods)} not accepted for diagnosis")
    return Outcome(FAIL, "no diagnostic method showed HCC")


def _set_outcome(
    possible: frozenset[str], allowed: set[str], *, name: str, shown: str, limit: str
) -> Outcome:
    """Pass when every possible value is allowed, fail when none is, else unknown."""
    if possible <= allowed:
        return Outcome(PASS, f"{name} {shown} ({limit})")
    if not possible & allowed:
        return Outcome(FAIL, f"{name} {shown} ({limit})")
    return Outcome(UNKNOWN, f"{name} {shown}: missing inputs decide ({limit})")


def _bclc(ctx: _Context) -> Outcome:
    """I3: every reachable BCLC stage is allowed (set semantics of 5.1)."""
    allowed: set[str] = set(ctx.protocol.eligibility.bclc.allowed_stages)
    stages = ctx.derived.bclc_stages
    return _set_outcome(
        frozenset(stages),
        allowed,
        name="BCLC",
        shown=" or ".join(sorted(stages)),
        limit=f"allowed {_listing(allowed)}",
    )


def _no_prior_tace(ctx: _Context) -> Outcome:
    """I4: no TACE before screening."""
    prior = ctx.record.prior_tace
    if prior is None:
        return Outcome(UNKNOWN, "prior TACE history missing")
    return Outcome(FAIL, "previous TACE") if prior else Outcome(PASS, "no previous TACE")


def _max_allowed_score(allowed: set[str]) -> int | None:
    """The highest allowed score when the allowed classes are exactly the scores 5..N."""
    scores = [s for s in range(5, 16) if child_pugh_class(s) in allowed]
    return scores[-1] if scores == list(range(5, scores[-1] + 1)) else None


def _child_pugh(ctx: _Context) -> Outcome:
    """I5: every class reachable from the score range is allowed (max_score <= 9 for A/B)."""
    allowed: set[str] = set(ctx.protocol.eligibility.child_pugh.allowed_classes)
    cp = ctx.derived.child_pugh
    top = _max_allowed_score(allowed)
    return _set_outcome(
        frozenset(cp.possible_classes),
        allowed,
        name="Child-Pugh",
        shown=cp.label(),
        limit=f"max {top}" if top is not None else f"allowed {_listing(allowed)}",
    )


def _ecog(ctx: _Context) -> Outcome:
    """I6: ECOG at most the protocol's limit."""
    ecog = ctx.record.ecog
    limit = ctx.protocol.eligibility.ecog.max_ecog
    if ecog is None:
        return Outcome(UNKNOWN, "ECOG missing")
    return Outcome(PASS if ecog <= limit else FAIL, f"ECOG {ecog} (max {limit})")


def _consent(ctx: _Context) -> Outcome:
    """I7: consent signed and dated on or before the screening date."""
    consent = ctx.record.consent
    screening = ctx.record.screening_date
    if consent is not None and consent.signed is False:
        return Outcome(FAIL, "consent not signed")
    if consent is not None and consent.date is not None and screening is not None:
        if consent.date > screening:
            return Outcome(
                FAIL,
                f"consent dated {consent.date.isoformat()}, after screening "
                f"{screening.isoformat()}",
            )
        if consent.signed:
            version = f" (version {consent.version})" if consent.version else ""
            return Outcome(PASS, f"signed {consent.date.isoformat()}{version}")
    missing = "consent" if consent is None else "consent signature or date"
    return Outcome(UNKNOWN, f"{missing} missing" if screening else "screening date missing")


def _washout(label: str, end: PartialDate | str | None, ctx: _Context) -> Outcome:
    """One therapy or trial against the washout: gap = S - end date, pass if >= washout (5.2)."""
    washout = ctx.protocol.eligibility.recent_therapy.washout_days
    screening = ctx.record.screening_date
    if end is None:
        return Outcome(UNKNOWN, f"{label} end date missing")
    if end == ONGOING:
        return Outcome(FAIL, f"{label} ongoing at screening")
    if screening is None:
        return Outcome(UNKNOWN, "screening date missing")
    assert isinstance(end, PartialDate)
    shortest, longest = (screening - end.latest).days, (screening - end.earliest).days
    gaps = f"{shortest} days" if shortest == longest else f"{shortest} to {longest} days"
    if longest < 0:
        return Outcome(FAIL, f"{label} ended {end} (after screening)")
    if shortest < 0 <= longest:
        return Outcome(
            UNKNOWN if longest >= washout else FAIL,
            f"{label} ended {end}: up to {longest} days before screening or after it "
            f"(limit {washout})",
        )
    if shortest >= washout:
        return Outcome(PASS, f"{label} ended {gaps} before screening (>= {washout})")
    if longest < washout:
        return Outcome(FAIL, f"{label} ended {gaps} before screening (< {washout})")
    return Outcome(UNKNOWN, f"{label} ended {gaps} before screening ({end}; limit {washout})")


def _recent_therapy(ctx: _Context) -> Outcome:
    """E1: every counted therapy and other trial ended at least ``washout_days`` before S."""
    params = ctx.protocol.eligibility.recent_therapy
    record = ctx.record
    outcomes: list[Outcome] = []
    if record.prior_therapies is None:
        outcomes.append(Outcome(UNKNOWN, "prior therapies missing"))
    else:
        outcomes += [
            _washout(t.type, t.end_date, ctx)
            for t in record.prior_therapies
            if t.type in params.therapy_types
        ]
    if params.includes_other_trials:
        if not record.given("other_trial_end_date"):
            outcomes.append(Outcome(UNKNOWN, "other trial participation missing"))
        elif record.other_trial_end_date is not None:
            outcomes.append(_washout("other trial", record.other_trial_end_date, ctx))
    if not outcomes:
        return Outcome(PASS, "no prior therapy or other trial")
    return combined(outcomes, "; ".join(o.reason for o in outcomes))


def _hiv_htlv(ctx: _Context) -> Outcome:
    """E2: neither an HIV nor an HTLV carrier."""
    record = ctx.record
    return combined(
        [
            _flag_outcome(
                record.hiv, positive="HIV carrier", negative="", missing="HIV status missing"
            ),
            _flag_outcome(
                record.htlv, positive="HTLV carrier", negative="", missing="HTLV status missing"
            ),
        ],
        "HIV and HTLV negative",
    )


def _active_infection(ctx: _Context) -> Outcome:
    """E3: no active infection (investigator judgement)."""
    return _flag_outcome(
        ctx.record.active_infection,
        positive="active infection",
        negative="no active infection",
        missing="active infection not assessed",
    )


def _encephalopathy_window(ctx: _Context) -> Outcome:
    """An episode on or after S - N calendar months (relativedelta) excludes (5.2).

    Encephalopathy graded at screening (the Child-Pugh component, other than ``none``) is an
    episode on S itself, inside the window, whatever date the last episode carries. So a last
    episode before the window passes only when the screening grade is known to be ``none``;
    ``never`` (null) with a screening grade is refused when the record is read.
    """
    record = ctx.record
    months = ctx.protocol.eligibility.life_threatening.encephalopathy_window_months
    current = record.encephalopathy
    if current is not None and current != NO_ENCEPHALOPATHY:
        grade = current.replace("_", " ", 1).replace("_", "-")
        return Outcome(
            FAIL, f"hepatic encephalopathy {grade} at screening (within {months} months)"
        )
    if not record.given("encephalopathy_last_episode_date"):
        return Outcome(UNKNOWN, "encephalopathy history missing")
    episode = record.encephalopathy_last_episode_date
    if episode is None:
        return Outcome(PASS, "no encephalopathy episode")
    if record.screening_date is None:
        return Outcome(UNKNOWN, "screening date missing")
    start = record.screening_date - relativedelta(months=months)
    when = f"encephalopathy {episode.isoformat()}"
    if episode >= start:
        return Outcome(FAIL, f"{when}, within {months} months (since {start.isoformat()})")
    if current is None:
        return Outcome(
            UNKNOWN, f"{when}, before {start.isoformat()}; encephalopathy at screening missing"
        )
    return Outcome(PASS, f"{when}, before {start.isoformat()}")


def _life_threatening(ctx: _Context) -> Outcome:
    """E4: no active cardiac disease, recent encephalopathy, CNS disease or brain metastasis."""
    record = ctx.record
    flags = [
        (record.active_cardiac_disease, "active cardiac disease"),
        (record.cns_disease, "CNS disease"),
        (record.brain_or_meningeal_metastasis, "brain or meningeal metastasis"),
    ]
    outcomes = [
        _flag_outcome(value, positive=name, negative="", missing=f"{name} not assessed")
        for value, name in flags
    ]
    he = _encephalopathy_window(ctx)
    outcomes.append(he)
    return combined(outcomes, f"no life-threatening disease; {he.reason}")


def _pregnancy(ctx: _Context) -> Outcome:
    """E5: not pregnant or breast-feeding; child-bearing potential needs adequate contraception."""
    record = ctx.record
    if record.sex == "male":
        return Outcome(PASS, "male")
    if record.pregnant:
        return Outcome(FAIL, "pregnant")
    if record.breast_feeding:
        return Outcome(FAIL, "breast-feeding")
    if record.childbearing_potential:
        contraception = record.adequate_contraception
        potential = _flag_outcome(
            None if contraception is None else not contraception,
            positive="child-bearing potential without adequate contraception",
            negative="child-bearing potential with adequate contraception",
            missing="contraception missing",
        )
    elif record.childbearing_potential is False:
        potential = Outcome(PASS, "no child-bearing potential")
    else:
        potential = (
            Outcome(PASS, "adequate contraception")
            if record.adequate_contraception
            else Outcome(UNKNOWN, "child-bearing potential missing")
        )
    female = combined(
        [
            _flag_outcome(record.pregnant, positive="", negative="", missing="pregnancy missing"),
            _flag_outcome(
                record.breast_feeding, positive="", negative="", missing="breast-feeding missing"
            ),
            potential,
        ],
        f"not pregnant, not breast-feeding, {potential.reason}",
    )
    if record.sex is None and female.result == FAIL:
        return Outcome(UNKNOWN, f"sex missing; if female: {female.reason}")
    return female


EVALUATORS: Mapping[str, Callable[[_Context], Outcome]] = {
    "I1_age": _age,
    "I2_hcc_diagnosis": _hcc_diagnosis,
    "I3_bclc": _bclc,
    "I4_no_prior_tace": _no_prior_tace,
    "I5_child_pugh": _child_pugh,
    "I6_ecog": _ecog,
    "I7_consent": _consent,
    "E1_recent_therapy": _recent_therapy,
    "E2_hiv_htlv": _hiv_htlv,
    "E3_active_infection": _active_infection,
    "E4_life_threatening": _life_threatening,
    "E5_pregnancy": _pregnancy,
}
assert tuple(EVALUATORS) == CRITERION_IDS


def quality_flags(record: ScreeningRecord, derived: DerivedValues) -> tuple[str, ...]:
    """Data-quality queries raised by the record (the computed values still decide)."""
    flags = []
    if record.ecog in (1, 2) and record.ecog_cancer_related is False and "C" in derived.bclc_stages:
        flags.append(ECOG_ATTRIBUTION_REVIEW)
    if record.investigator_bclc is not None and record.investigator_bclc not in derived.bclc_stages:
        flags.append(BCLC_MISMATCH)
    return tuple(flags)


def evaluate_eligibility(record: ScreeningRecord, protocol: Protocol) -> EligibilityResult:
    """Evaluate every criterion of ``protocol`` on ``record`` as of the screening date."""
    ctx = _Context(record, protocol, _derive(record))
    results = []
    for criterion in protocol.eligibility.criteria:
        outcome = EVALUATORS[criterion.id](ctx)
        results.append(
            CriterionResult(
                criterion.id, criterion.kind, criterion.text, outcome.result, outcome.reason
            )
        )
    return EligibilityResult(
        record.subject_ref, tuple(results), ctx.derived, quality_flags(record, ctx.derived)
    )
