"""Checks that a series of assessments can be evaluated: baseline selection and stable lesions.

Each failure is an ``InputError`` naming the lesion (``assessments[2].target.T3``) and the problem,
so the reader can correct the record: target limits and sizes (domain.md 2.2, 2.3, 3.2, 3.4),
lesion identity across time points (3.7), increasing dates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ikctrial.errors import InputError
from ikctrial.response.assessment import (
    Assessment,
    Criteria,
    Lesion,
    NewLesions,
    NonTargetObservation,
    NonTargetStatus,
    TargetMeasurement,
    organ_key,
)
from ikctrial.response.criteria import CriteriaRules

MAX_TARGETS = 5
MAX_TARGETS_PER_ORGAN = 2


def _where(index: int, lesion: Lesion) -> str:
    kind = "target" if isinstance(lesion, TargetMeasurement) else "non_target"
    return f"assessments[{index}].{kind}.{lesion.id}"


def _check_target_entry(index: int, target: TargetMeasurement, rules: CriteriaRules) -> None:
    """Checks valid at every time point: TSTM excludes a diameter; LD only for mRECIST masses."""
    where = _where(index, target)
    if target.too_small_to_measure and target.diameter_mm is not None:
        raise InputError(where, "too_small_to_measure with a diameter_mm: give one or the other")
    if target.longest_diameter_mm is None:
        return
    if rules.criteria is not Criteria.MRECIST or target.nodal:
        raise InputError(where, "longest_diameter_mm is for mRECIST non-nodal targets only")
    if target.diameter_mm is not None and target.diameter_mm > target.longest_diameter_mm:
        raise InputError(
            where,
            f"viable diameter {target.diameter_mm} mm exceeds the longest diameter "
            f"{target.longest_diameter_mm} mm",
        )


def _check_mrecist_reader_flags(target: TargetMeasurement) -> None:
    """mRECIST targets are reproducible, well-delineated HCC, never a PVTT (3.2, 3.4)."""
    where = _where(0, target)
    if target.portal_vein_thrombus:
        raise InputError(where, "a portal vein tumor thrombus is never an mRECIST target")
    if target.infiltrative:
        raise InputError(where, "infiltrative / ill-defined HCC is not an mRECIST target")
    if not target.reproducible:
        raise InputError(where, "not suitable for repeated measurement (reproducible = false)")


def _check_baseline_target(target: TargetMeasurement, rules: CriteriaRules) -> None:
    """A baseline target must be measured and target-eligible (2.2; mRECIST 3.2, 3.4).

    A previously locally treated lesion is non-target unless the protocol allows it (2.2
    [CONFIG ``allow_treated_lesion_as_target``]). A reader may keep a target that fails the
    eligibility checks by giving ``eligibility_override_reason`` (2.2: "corrected or overridden
    with a reason"; for a treated lesion: it clearly progressed after the treatment).
    """
    where = _where(0, target)
    size = target.diameter_mm
    if size is None:
        raise InputError(where, "a target lesion must be measured at baseline (diameter_mm)")
    if target.eligibility_override_reason is not None:
        return
    if target.previously_treated and not rules.allow_treated_lesion_as_target:
        raise InputError(
            where,
            "previously locally treated (irradiated, ablated, embolized) lesions are non-target "
            "unless allow_treated_lesion_as_target is set or a reason is given (it clearly "
            "progressed after treatment)",
        )
    if rules.criteria is Criteria.MRECIST:
        _check_mrecist_reader_flags(target)
    if target.nodal:
        minimum = rules.node_target_min_mm(target)
        if size < minimum:
            raise InputError(
                where,
                f"short axis {size} mm is below {minimum} mm: a node is a target from {minimum}",
            )
        return
    if rules.criteria is Criteria.MRECIST:
        if size == 0:
            raise InputError(
                where, "an mRECIST target needs arterial enhancement (viable diameter > 0)"
            )
        longest = target.longest_diameter_mm
        if longest is None and size < rules.min_measurable_mm():
            raise InputError(
                where,
                f"viable diameter {size} mm is below {rules.min_measurable_mm()} mm: give "
                "longest_diameter_mm to show the lesion is measurable",
            )
        size = size if longest is None else longest
    if size < rules.min_measurable_mm():
        raise InputError(
            where,
            f"longest diameter {size} mm is below {rules.min_measurable_mm()} mm: not measurable, "
            "record it as a non-target lesion",
        )


def _check_baseline_non_target(lesion: NonTargetObservation, rules: CriteriaRules) -> None:
    where = _where(0, lesion)
    if lesion.status is not NonTargetStatus.PRESENT:
        raise InputError(where, f"status at baseline must be present, not {lesion.status}")
    if lesion.nodal and lesion.short_axis_mm is not None:
        normal = rules.node_normal_below_mm(lesion)
        if lesion.short_axis_mm < normal:
            raise InputError(
                where, f"short axis {lesion.short_axis_mm} mm < {normal} mm: not a malignant node"
            )


def _check_baseline(baseline: Assessment, rules: CriteriaRules) -> None:
    """Target selection limits (2.3) and the eligibility of every baseline lesion."""
    if baseline.new_lesions not in (None, NewLesions.NONE):
        raise InputError("assessments[0].new_lesions", "the baseline assessment has no new lesions")
    if not baseline.target and not baseline.non_target:
        raise InputError("assessments[0]", "baseline records no target and no non-target lesion")
    per_organ: Counter[str] = Counter()
    for number, target in enumerate(baseline.target, start=1):
        if number > MAX_TARGETS:
            raise InputError(
                _where(0, target), f"target number {number}: at most {MAX_TARGETS} targets"
            )
        organ = organ_key(target)
        per_organ[organ] += 1
        if per_organ[organ] > MAX_TARGETS_PER_ORGAN:
            raise InputError(
                _where(0, target),
                f"third target in organ {organ}: at most {MAX_TARGETS_PER_ORGAN} per organ "
                "(all lymph nodes count as one organ)",
            )
        _check_baseline_target(target, rules)
    for lesion in baseline.non_target:
        _check_baseline_non_target(lesion, rules)


def _check_same_lesions(
    index: int,
    lesions: Sequence[Lesion],
    baseline: dict[str, Lesion],
    other_role: dict[str, Lesion],
    kind: str,
) -> None:
    """Follow-up lesions are exactly the baseline ones, same organ and nodal flag (3.7)."""
    for lesion in lesions:
        where = _where(index, lesion)
        first = baseline.get(lesion.id)
        if first is None:
            if lesion.id in other_role:
                raise InputError(where, f"was not a {kind} lesion at baseline")
            raise InputError(
                where,
                f"not a baseline {kind} lesion (a lesion first seen after baseline is a new "
                "lesion: report it in new_lesions)",
            )
        if organ_key(first) != organ_key(lesion) or first.nodal != lesion.nodal:
            raise InputError(
                where,
                f"organ/nodal changed from baseline ({first.organ}, nodal={first.nodal}) to "
                f"({lesion.organ}, nodal={lesion.nodal})",
            )
    seen = {lesion.id for lesion in lesions}
    for lesion_id in baseline:
        if lesion_id not in seen:
            field = "target" if kind == "target" else "non_target"
            raise InputError(
                f"assessments[{index}].{field}.{lesion_id}",
                "baseline lesion missing (record it, with not evaluated if it was not assessed)",
            )


def _check_unique_ids(index: int, assessment: Assessment) -> None:
    seen: set[str] = set()
    lesions: list[Lesion] = [*assessment.target, *assessment.non_target]
    for lesion in lesions:
        if lesion.id in seen:
            raise InputError(_where(index, lesion), "lesion id appears twice in this assessment")
        seen.add(lesion.id)


def check_assessments(assessments: Sequence[Assessment], rules: CriteriaRules) -> None:
    """Raise ``InputError`` unless the series is evaluable under ``rules`` (baseline first)."""
    if not assessments:
        raise InputError("assessments", "at least the baseline assessment is required")
    baseline = assessments[0]
    _check_unique_ids(0, baseline)
    _check_baseline(baseline, rules)
    targets: dict[str, Lesion] = {t.id: t for t in baseline.target}
    non_targets: dict[str, Lesion] = {n.id: n for n in baseline.non_target}
    for index, assessment in enumerate(assessments):
        for target in assessment.target:
            _check_target_entry(index, target, rules)
        if index == 0:
            continue
        previous = assessments[index - 1].date
        if assessment.date <= previous:
            raise InputError(
                f"assessments[{index}].date",
                f"{assessment.date} is not after the previous assessment ({previous})",
            )
        if assessment.new_lesions is None:
            raise InputError(f"assessments[{index}].new_lesions", "required after baseline")
        _check_unique_ids(index, assessment)
        _check_same_lesions(index, assessment.target, targets, non_targets, "target")
        _check_same_lesions(index, assessment.non_target, non_targets, targets, "non-target")
