"""Tumor response by RECIST 1.1 or mRECIST: one engine, the criterion is a parameter.

Per time point: the target sum (2.4), target response (2.5 / 3.3), non-target response (2.6 /
3.4), new lesions (2.7 / 3.5) and the overall response (tables 2.8 A and B); over the series: the
best overall response (2.9), the date of progression and the best percentage change (7.2).
Every boundary (30 % below baseline, 20 % and the absolute floor above the nadir) is decided by
integer cross-multiplication of exact ``Decimal`` diameters, never by binary floating point
(domain.md section 0). Percentages are reported as floats rounded half-up to 2 decimals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import ValidationError

from ikctrial.errors import InputError, field_path, input_error_from_validation
from ikctrial.response.assessment import (
    Assessment,
    Criteria,
    EquivocalPdDate,
    NewLesions,
    NonTargetObservation,
    NonTargetStatus,
    Response,
    ResponseInput,
    TargetMeasurement,
)
from ikctrial.response.baseline import check_assessments
from ikctrial.response.best_response import TimepointCall, best_overall_response
from ikctrial.response.criteria import CriteriaRules, criteria_rules
from ikctrial.response.new_lesions import first_sightings

BASELINE_MAX_DAYS_BEFORE_RANDOMIZATION = 28
_PERCENT_STEP = Decimal("0.01")


@dataclass(frozen=True)
class TargetSum:
    """Sum of the target values (2.4): ``sum_mm`` is None when any target was not evaluated."""

    sum_mm: Decimal | None
    assessed_sum_mm: Decimal


def target_sum(targets: Sequence[TargetMeasurement]) -> TargetSum:
    """Longest (or viable) diameters of non-nodal targets plus short axes of nodes, TSTM = 5 mm."""
    values = [t.sum_value_mm() for t in targets]
    assessed = sum((v for v in values if v is not None), Decimal(0))
    return TargetSum(None if None in values else assessed, assessed)


def pct_change(value_mm: Decimal, reference_mm: Decimal) -> float | None:
    """``100 x (value - reference) / reference`` rounded half-up to 2 decimals; None if ref = 0."""
    if reference_mm == 0:
        return None
    exact = 100 * (value_mm - reference_mm) / reference_mm
    return float(exact.quantize(_PERCENT_STEP, rounding=ROUND_HALF_UP))


def meets_progression(sum_mm: Decimal, nadir_mm: Decimal, rules: CriteriaRules) -> bool:
    """PD test: ``10 x sum >= 12 x nadir`` and ``sum - nadir >= floor`` (2.5 step 5, 3.3 step 4).

    PD is an increase: the sum must also exceed the nadir. For a nadir above 0 the 20 % test
    implies it; from a nadir of 0 with mRECIST's published floor of 0 mm it keeps an unchanged
    sum of 0 (``0 >= 1.2 x 0``) from counting as progression.
    """
    return (
        sum_mm > nadir_mm
        and 10 * sum_mm >= 12 * nadir_mm
        and sum_mm - nadir_mm >= rules.pd_min_abs_increase_mm
    )


def meets_partial_response(sum_mm: Decimal, baseline_sum_mm: Decimal) -> bool:
    """PR test: ``10 x sum <= 7 x baseline`` (at least 30 % below baseline, 2.5 step 6)."""
    return 10 * sum_mm <= 7 * baseline_sum_mm


def _target_shows_disease(target: TargetMeasurement, rules: CriteriaRules) -> bool:
    """Whether a measured target still counts as tumor: non-nodal > 0 mm, node >= normal size."""
    value = target.sum_value_mm()
    if value is None:
        return False
    if target.nodal:
        return value >= rules.node_normal_below_mm(target)
    return value > 0


@dataclass(frozen=True)
class CallWithFlags:
    """A response category and the reader-review flags raised while deriving it."""

    response: Response
    flags: tuple[str, ...] = ()


def target_response(
    targets: Sequence[TargetMeasurement],
    *,
    baseline_sum_mm: Decimal,
    nadir_mm: Decimal,
    rules: CriteriaRules,
    after_complete_response: bool = False,
) -> CallWithFlags:
    """Target response at one follow-up time point (2.5; mRECIST 3.3 with viable diameters).

    A missing target is NE unless the assessed ones already show PD (they can only add to the
    sum). CR (every non-nodal target 0 mm, every node below its normal size) is tested before
    the arithmetic PD test. After an earlier overall CR, any target showing disease again is PD
    (``REAPPEARANCE_AFTER_CR``).
    """
    sums = target_sum(targets)
    if after_complete_response and any(_target_shows_disease(t, rules) for t in targets):
        return CallWithFlags(Response.PD, ("REAPPEARANCE_AFTER_CR",))
    if sums.sum_mm is None:
        if meets_progression(sums.assessed_sum_mm, nadir_mm, rules):
            return CallWithFlags(Response.PD)
        return CallWithFlags(Response.NE)
    if not any(_target_shows_disease(t, rules) for t in targets):
        flags = ("CR_WITH_SUM_INCREASE",) if meets_progression(sums.sum_mm, nadir_mm, rules) else ()
        return CallWithFlags(Response.CR, flags)
    if meets_progression(sums.sum_mm, nadir_mm, rules):
        return CallWithFlags(Response.PD)
    if meets_partial_response(sums.sum_mm, baseline_sum_mm):
        return CallWithFlags(Response.PR)
    return CallWithFlags(Response.SD)


def _effective_status(
    lesion: NonTargetObservation, rules: CriteriaRules
) -> tuple[NonTargetStatus, tuple[str, ...]]:
    """Status after the computable rules: a node below its normal size is absent (2.6); under
    mRECIST an effusion progresses only with positive cytology (3.4)."""
    status = lesion.status
    if (
        status is NonTargetStatus.PRESENT
        and lesion.nodal
        and lesion.short_axis_mm is not None
        and lesion.short_axis_mm < rules.node_normal_below_mm(lesion)
    ):
        return NonTargetStatus.ABSENT, ()
    if (
        status is NonTargetStatus.UNEQUIVOCAL_PROGRESSION
        and rules.criteria is Criteria.MRECIST
        and lesion.effusion_cytology is not None
        and lesion.effusion_cytology != "positive"
    ):
        return NonTargetStatus.PRESENT, ("EFFUSION_WITHOUT_POSITIVE_CYTOLOGY",)
    return status, ()


def non_target_response(
    lesions: Sequence[NonTargetObservation],
    *,
    rules: CriteriaRules,
    after_complete_response: bool = False,
    afp_within_normal_limits: bool | None = None,
) -> CallWithFlags:
    """Non-target response at one follow-up time point (2.6; mRECIST 3.4, IR/SD = Non-CR/Non-PD).

    Order: any unequivocal progression -> PD; after an earlier overall CR any lesion present
    again -> PD; any not evaluated -> NE; all absent -> CR (when the protocol requires marker
    normalization, only with a normal AFP: raised AFP -> Non-CR/Non-PD, unknown AFP -> NE);
    otherwise Non-CR/Non-PD.
    """
    statuses: list[NonTargetStatus] = []
    flags: list[str] = []
    for lesion in lesions:
        status, lesion_flags = _effective_status(lesion, rules)
        statuses.append(status)
        flags.extend(lesion_flags)
    if NonTargetStatus.UNEQUIVOCAL_PROGRESSION in statuses:
        return CallWithFlags(Response.PD, tuple(flags))
    if after_complete_response and NonTargetStatus.PRESENT in statuses:
        return CallWithFlags(Response.PD, (*flags, "REAPPEARANCE_AFTER_CR"))
    if NonTargetStatus.NOT_EVALUATED in statuses:
        return CallWithFlags(Response.NE, tuple(flags))
    if all(status is NonTargetStatus.ABSENT for status in statuses):
        if not rules.require_marker_normalization_for_cr or afp_within_normal_limits:
            return CallWithFlags(Response.CR, tuple(flags))
        if afp_within_normal_limits is None:
            return CallWithFlags(Response.NE, (*flags, "AFP_MISSING_FOR_CR"))
    return CallWithFlags(Response.NON_CR_NON_PD, tuple(flags))


def overall_response(
    target: Response | None, non_target: Response | None, new_lesions: NewLesions
) -> Response:
    """Overall time-point response, tables 2.8 A (with targets) and B (non-target only).

    ``None`` means no such disease at baseline. An equivocal new lesion counts as none (2.7).
    """
    if new_lesions is NewLesions.UNEQUIVOCAL or Response.PD in (target, non_target):
        return Response.PD
    if target is None:
        if non_target is None:
            raise ValueError("a time point needs target or non-target disease")
        return non_target
    if target is Response.CR:
        return Response.CR if non_target in (None, Response.CR) else Response.PR
    return target


@dataclass(frozen=True)
class TimepointResponse:
    """The derivation at one assessment (``overall_response`` is BASELINE at the first one)."""

    date: dt.date
    elapsed_days: int
    sum_mm: Decimal | None
    pct_change_from_baseline: float | None
    pct_change_from_nadir: float | None
    target_response: Response | None
    non_target_response: Response | None
    new_lesions: NewLesions
    overall_response: Response
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The time point as interfaces.md prints it."""
        return {
            "date": self.date.isoformat(),
            "sum_mm": _number(self.sum_mm),
            "pct_change_from_baseline": self.pct_change_from_baseline,
            "pct_change_from_nadir": self.pct_change_from_nadir,
            "target_response": _code(self.target_response),
            "non_target_response": _code(self.non_target_response),
            "new_lesions": self.new_lesions.value,
            "overall_response": self.overall_response.value,
        }


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _code(response: Response | None) -> str | None:
    return None if response is None else response.value


@dataclass(frozen=True)
class ResponseEvaluation:
    """A whole series evaluated under one criterion."""

    criteria: Criteria
    timepoints: tuple[TimepointResponse, ...]
    best_overall_response: Response
    progression_date: dt.date | None
    best_pct_change: float | None
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Exactly the output document of ``ikctrial recist evaluate --json`` (interfaces.md)."""
        return {
            "timepoints": [timepoint.to_dict() for timepoint in self.timepoints],
            "best_overall_response": self.best_overall_response.value,
            "progression_date": None
            if self.progression_date is None
            else self.progression_date.isoformat(),
            "best_pct_change": self.best_pct_change,
        }


def _follow_up(
    assessment: Assessment,
    *,
    baseline: Assessment,
    elapsed_days: int,
    baseline_sum_mm: Decimal | None,
    nadir_mm: Decimal | None,
    rules: CriteriaRules,
    after_complete_response: bool,
) -> TimepointResponse:
    """Derive one post-baseline time point against the baseline sum and the current nadir."""
    new_lesions = assessment.new_lesions or NewLesions.NONE
    flags: list[str] = []
    target: Response | None = None
    sum_mm: Decimal | None = None
    from_baseline = from_nadir = None
    if baseline_sum_mm is not None and nadir_mm is not None:
        call = target_response(
            assessment.target,
            baseline_sum_mm=baseline_sum_mm,
            nadir_mm=nadir_mm,
            rules=rules,
            after_complete_response=after_complete_response,
        )
        target, sum_mm = call.response, target_sum(assessment.target).sum_mm
        flags.extend(call.flags)
        if sum_mm is not None:
            from_baseline = pct_change(sum_mm, baseline_sum_mm)
            from_nadir = pct_change(sum_mm, nadir_mm)
    non_target: Response | None = None
    if assessment.non_target:
        nt_call = non_target_response(
            assessment.non_target,
            rules=rules,
            after_complete_response=after_complete_response,
            afp_within_normal_limits=assessment.afp_within_normal_limits,
        )
        non_target = nt_call.response
        flags.extend(nt_call.flags)
    if new_lesions is NewLesions.EQUIVOCAL:
        flags.append("EQUIVOCAL_NEW_LESION")
    if None not in (baseline.modality, assessment.modality) and (
        baseline.modality != assessment.modality
    ):
        flags.append("MODALITY_CHANGED")
    return TimepointResponse(
        date=assessment.date,
        elapsed_days=elapsed_days,
        sum_mm=sum_mm,
        pct_change_from_baseline=from_baseline,
        pct_change_from_nadir=from_nadir,
        target_response=target,
        non_target_response=non_target,
        new_lesions=new_lesions,
        overall_response=overall_response(target, non_target, new_lesions),
        flags=tuple(dict.fromkeys(flags)),
    )


def _date_confirmed_new_lesions(
    timepoints: list[TimepointResponse], dating: EquivocalPdDate
) -> list[TimepointResponse]:
    """Re-derive as PD the time points where a later-confirmed new lesion was already seen (2.7)."""
    if dating == "confirmation":
        return timepoints
    result = list(timepoints)
    for confirmed, first in first_sightings([t.new_lesions for t in timepoints]).items():
        for index in range(first, confirmed):
            point = result[index]
            result[index] = replace(
                point,
                overall_response=Response.PD,
                flags=(*point.flags, "NEW_LESION_CONFIRMED_LATER"),
            )
    return result


def evaluate_assessments(
    assessments: Sequence[Assessment],
    *,
    criteria: Criteria,
    confirmation_required: bool = False,
    min_sd_days: int = 49,
    confirmation_min_days: int = 28,
    allow_ne_between_confirmation: bool = True,
    require_marker_normalization_for_cr: bool = False,
    allow_treated_lesion_as_target: bool = False,
    mrecist_pd_min_abs_increase_mm: Decimal | None = None,
    mrecist_equivocal_pd_date: EquivocalPdDate | None = None,
    randomization_date: dt.date | None = None,
    new_anticancer_therapy_date: dt.date | None = None,
    slice_thickness_mm: Decimal | None = None,
) -> ResponseEvaluation:
    """Evaluate a series (baseline first) under ``criteria``; bad series raise ``InputError``.

    Elapsed days (for ``min_sd_days`` and confirmation) count from ``randomization_date``, or from
    the baseline scan when it is not given. Time points on or after ``new_anticancer_therapy_date``
    and after the first PD do not count for the best response and best percentage change (2.9,
    7.2). ``mrecist_*`` settings apply to mRECIST only (3.3, 3.5);
    ``require_marker_normalization_for_cr`` adds a normal AFP to non-target CR (2.6);
    ``allow_treated_lesion_as_target`` lets a previously locally treated lesion be a target (2.2).
    """
    rules = replace(
        criteria_rules(
            criteria,
            pd_min_abs_increase_mm=mrecist_pd_min_abs_increase_mm,
            slice_thickness_mm=slice_thickness_mm,
            equivocal_pd_date=mrecist_equivocal_pd_date,
        ),
        require_marker_normalization_for_cr=require_marker_normalization_for_cr,
        allow_treated_lesion_as_target=allow_treated_lesion_as_target,
    )
    check_assessments(assessments, rules)
    baseline = assessments[0]
    anchor = baseline.date if randomization_date is None else randomization_date
    baseline_sum_mm = target_sum(baseline.target).sum_mm if baseline.target else None
    evaluation_flags: list[str] = []
    if baseline_sum_mm is None:
        evaluation_flags.append("NO_MEASURABLE_DISEASE")
    if any(t.eligibility_override_reason is not None for t in baseline.target):
        evaluation_flags.append("TARGET_ELIGIBILITY_OVERRIDDEN")
    if anchor - baseline.date > dt.timedelta(days=BASELINE_MAX_DAYS_BEFORE_RANDOMIZATION):
        evaluation_flags.append("BASELINE_TOO_OLD")
    timepoints = [
        TimepointResponse(
            date=baseline.date,
            elapsed_days=(baseline.date - anchor).days,
            sum_mm=baseline_sum_mm,
            pct_change_from_baseline=None,
            pct_change_from_nadir=None,
            target_response=None,
            non_target_response=None,
            new_lesions=NewLesions.NONE,
            overall_response=Response.BASELINE,
        )
    ]
    nadir_mm = baseline_sum_mm
    after_complete_response = False
    for assessment in assessments[1:]:
        point = _follow_up(
            assessment,
            baseline=baseline,
            elapsed_days=(assessment.date - anchor).days,
            baseline_sum_mm=baseline_sum_mm,
            nadir_mm=nadir_mm,
            rules=rules,
            after_complete_response=after_complete_response,
        )
        timepoints.append(point)
        if nadir_mm is not None and point.sum_mm is not None:
            nadir_mm = min(nadir_mm, point.sum_mm)
        after_complete_response = after_complete_response or point.overall_response is Response.CR
    timepoints = _date_confirmed_new_lesions(timepoints, rules.equivocal_pd_date)
    return _summarise(
        criteria,
        timepoints,
        has_target_disease=baseline_sum_mm is not None,
        new_anticancer_therapy_date=new_anticancer_therapy_date,
        evaluation_flags=evaluation_flags,
        confirmation_required=confirmation_required,
        min_sd_days=min_sd_days,
        confirmation_min_days=confirmation_min_days,
        allow_ne_between_confirmation=allow_ne_between_confirmation,
    )


def _summarise(
    criteria: Criteria,
    timepoints: list[TimepointResponse],
    *,
    has_target_disease: bool,
    new_anticancer_therapy_date: dt.date | None,
    evaluation_flags: list[str],
    confirmation_required: bool,
    min_sd_days: int,
    confirmation_min_days: int,
    allow_ne_between_confirmation: bool,
) -> ResponseEvaluation:
    """Best response, progression date and best percentage change of derived time points."""
    follow_ups = timepoints[1:]
    progression = next((t for t in follow_ups if t.overall_response is Response.PD), None)
    window: list[TimepointResponse] = []
    for point in follow_ups:
        if new_anticancer_therapy_date is not None and point.date >= new_anticancer_therapy_date:
            break
        window.append(point)
        if point is progression:
            break
    best = best_overall_response(
        [TimepointCall(t.elapsed_days, t.overall_response) for t in window],
        has_target_disease=has_target_disease,
        confirmation_required=confirmation_required,
        min_sd_days=min_sd_days,
        confirmation_min_days=confirmation_min_days,
        allow_ne_between_confirmation=allow_ne_between_confirmation,
    )
    changes = [t.pct_change_from_baseline for t in window if t.pct_change_from_baseline is not None]
    flags = [*evaluation_flags, *(f for t in timepoints for f in t.flags), *best.flags]
    return ResponseEvaluation(
        criteria=criteria,
        timepoints=tuple(timepoints),
        best_overall_response=best.response,
        progression_date=None if progression is None else progression.date,
        best_pct_change=min(changes) if changes else None,
        flags=tuple(dict.fromkeys(flags)),
    )


def _lesion_path(loc: Sequence[int | str], data: Any) -> str:
    """Render a validation location, naming list items of lesions by their id when they have one:
    ``("assessments", 2, "target", 0, "diameter_mm")`` -> ``assessments[2].target.T3.diameter_mm``.
    """
    parts: list[int | str] = []
    node: Any = data
    for position, part in enumerate(loc):
        item = node[part] if _indexable(node, part) else None
        is_lesion = position > 0 and loc[position - 1] in ("target", "non_target")
        if isinstance(part, int) and is_lesion and isinstance(item, Mapping):
            lesion_id = item.get("id")
            parts.append(lesion_id if isinstance(lesion_id, str) and lesion_id else part)
        else:
            parts.append(part)
        node = item
    return field_path(parts)


def _indexable(node: Any, part: int | str) -> bool:
    if isinstance(part, int):
        return isinstance(node, list | tuple) and 0 <= part < len(node)
    return isinstance(node, Mapping) and part in node


def parse_response_input(data: Mapping[str, Any]) -> ResponseInput:
    """Validate the interfaces.md input document; the first problem is an ``InputError``."""
    if not isinstance(data, Mapping):
        raise InputError("", "the document must be a JSON object")
    try:
        return ResponseInput.model_validate(data)
    except ValidationError as exc:
        problem = input_error_from_validation(exc).problem.replace("Value error, ", "")
        raise InputError(_lesion_path(exc.errors()[0]["loc"], data), problem) from None


def evaluate_response(data: Mapping[str, Any]) -> ResponseEvaluation:
    """Evaluate the interfaces.md input document (parsed and validated with ``InputError``)."""
    document = parse_response_input(data)
    return evaluate_assessments(
        document.assessments,
        criteria=document.criteria,
        confirmation_required=document.confirmation_required,
        min_sd_days=document.min_sd_days,
        confirmation_min_days=document.confirmation_min_days,
        allow_ne_between_confirmation=document.allow_ne_between_confirmation,
        require_marker_normalization_for_cr=document.require_marker_normalization_for_cr,
        allow_treated_lesion_as_target=document.allow_treated_lesion_as_target,
        mrecist_pd_min_abs_increase_mm=document.mrecist_pd_min_abs_increase_mm,
        mrecist_equivocal_pd_date=document.mrecist_equivocal_pd_date,
        randomization_date=document.randomization_date,
        new_anticancer_therapy_date=document.new_anticancer_therapy_date,
        slice_thickness_mm=document.slice_thickness_mm,
    )
