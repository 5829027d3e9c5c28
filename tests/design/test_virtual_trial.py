"""Virtual patients: shapes of interfaces.md, verdicts of the real eligibility and RECIST engines,
and outcomes that follow the scenario's hazards."""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta

import numpy as np
import pytest

from ikctrial.clinical.eligibility import evaluate_eligibility
from ikctrial.clinical.screening import screening_record_from_dict
from ikctrial.design.parameters import Allocation
from ikctrial.design.virtual_trial import (
    IMAGING_INTERVAL_DAYS,
    VirtualTrial,
    VirtualTrialScenario,
    virtual_trial,
)
from ikctrial.errors import InputError
from ikctrial.protocol import load_protocol
from ikctrial.response import evaluate_response

START = date(2026, 1, 5)
SCREENING_KEYS = {
    "subject_ref", "screening_date", "birth_date", "sex", "consent", "hcc_diagnosis", "tumor",
    "ecog", "labs", "ascites", "encephalopathy", "prior_tace", "prior_therapies",
    "other_trial_end_date", "hiv", "htlv", "active_infection", "active_cardiac_disease",
    "encephalopathy_last_episode_date", "cns_disease", "brain_or_meningeal_metastasis",
    "pregnant", "breast_feeding", "childbearing_potential", "adequate_contraception",
}  # fmt: skip


@pytest.fixture(scope="module")
def trial() -> VirtualTrial:
    return virtual_trial(seed=2026, start_date=START)


def test_same_seed_same_trial(trial: VirtualTrial) -> None:
    assert virtual_trial(seed=2026, start_date=START).to_dict() == trial.to_dict()
    assert virtual_trial(seed=2027, start_date=START).to_dict() != trial.to_dict()


def test_registered_size_and_balanced_allocation(trial: VirtualTrial) -> None:
    randomized = trial.randomized
    assert len(randomized) == 60  # domain.md 1.1
    arms = [p.assigned_arm for p in randomized]
    assert arms.count("experimental") == arms.count("control") == 30
    assert all(p.eligible for p in randomized)
    failure_share = 1 - 60 / len(trial.patients)
    assert 0.1 < failure_share < 0.5


def test_screening_records_have_the_interfaces_shape(trial: VirtualTrial) -> None:
    for patient in trial.patients:
        record = patient.screening.to_dict()
        assert set(record) == SCREENING_KEYS
        assert set(record["labs"]) == {"bilirubin", "albumin", "inr", "afp"}
        assert set(record["tumor"]) == {
            "nodules", "largest_mm", "vascular_invasion", "extrahepatic_spread"
        }  # fmt: skip
        assert date.fromisoformat(record["screening_date"]) >= START


def test_eligibility_engine_agrees_with_the_generator(trial: VirtualTrial) -> None:
    # every record through the real engine (domain.md 5.1): eligible ones pass all twelve
    # criteria; screen failures fail exactly the criteria they were built to fail
    protocol = load_protocol()
    for patient in trial.patients:
        record = screening_record_from_dict(patient.screening.to_dict())
        verdict = evaluate_eligibility(record, protocol).to_dict()
        failed = tuple(sorted(c["id"] for c in verdict["criteria"] if c["result"] == "fail"))
        unknown = [c["id"] for c in verdict["criteria"] if c["result"] == "unknown"]
        assert unknown == [], patient.screening.subject_ref
        assert failed == patient.expected_failures, patient.screening.subject_ref
        assert verdict["eligible"] is (not patient.expected_failures)
        assert verdict["derived"]["bclc"] == patient.bclc_stage
        assert verdict["derived"]["child_pugh"]["class"] == patient.child_pugh_class


def test_stage_and_child_pugh_mix(trial: VirtualTrial) -> None:
    stages = [p.bclc_stage for p in trial.randomized]
    classes = [p.child_pugh_class for p in trial.randomized]
    assert set(stages) == {"B", "C"}
    assert set(classes) == {"A", "B"}


def test_recist_engine_finds_progression_where_the_generator_put_it(trial: VirtualTrial) -> None:
    for patient in trial.randomized:
        for course in patient.courses.values():
            evaluation = evaluate_response(course.recist_input())
            assert evaluation.progression_date == course.progression_date
            if course.progression_date is not None:
                assert course.assessments[-1].date == course.progression_date


def test_courses_are_consistent_in_time(trial: VirtualTrial) -> None:
    for patient in trial.randomized:
        assert patient.randomization_date is not None
        randomized = patient.randomization_date
        assert 0 < (randomized - patient.screening.screening_date).days <= 28
        for arm, course in patient.courses.items():
            assert 0 < (randomized - course.baseline_imaging_date).days <= 28
            first = course.tace_sessions[0]
            assert first.reason == "initial"
            assert 0 <= (first.date - randomized).days <= 14
            dates = [t.date for t in course.tace_sessions]
            assert all((b - a).days >= 28 for a, b in itertools.pairwise(dates))
            assert all(d <= course.last_contact_date for d in dates)
            if arm == "control":
                assert course.infusion_dates == []
            else:
                assert len(course.infusion_dates) <= 12
                gaps = np.diff([d.toordinal() for d in course.infusion_dates])
                assert (gaps >= 5).all()
                for infusion in course.infusion_dates:
                    for tace in dates:  # TACE blackout, domain.md 1.4
                        assert not tace - timedelta(days=2) <= infusion <= tace + timedelta(days=7)
            for event in course.adverse_events:
                assert 1 <= event.grade <= 3
                assert event.onset_date <= course.last_contact_date
                if event.cluster == "PES":
                    assert event.related_to == "TACE"
            ends = [d for d in (course.death_date, course.dropout_date) if d is not None]
            assert len(ends) <= 1
            if ends:
                assert course.last_contact_date == ends[0]


def _pfs(trial: VirtualTrial, arm: str) -> tuple[int, float]:
    """Events and person-days of PFS (progression or death, censored at the last scan)."""
    events, days = 0, 0.0
    for patient in trial.randomized:
        course = patient.courses[arm]
        assert patient.randomization_date is not None
        ends = [d for d in (course.progression_date, course.death_date) if d is not None]
        if ends:
            events += 1
            days += (min(ends) - patient.randomization_date).days
        else:
            days += (course.assessments[-1].date - patient.randomization_date).days
    return events, days


def test_pfs_follows_the_scenario_hazards() -> None:
    scenario = VirtualTrialScenario(n_randomized=400, hazard_ratio=0.5, screen_failure_rate=0.05)
    big = virtual_trial(scenario, seed=3, start_date=START)
    control_events, control_days = _pfs(big, "control")
    ikc_events, ikc_days = _pfs(big, "experimental")
    hazard_ratio = (ikc_events / ikc_days) / (control_events / control_days)
    assert hazard_ratio == pytest.approx(0.5, abs=0.12)
    # progression is seen at the next scan, so the observed control hazard is a bit lower than
    # log 2 / 7 months, but not by more than half a scan interval's worth
    monthly = control_events / control_days * 30.4375
    assert math.log(2) / 7 * 0.7 < monthly < math.log(2) / 7 * 1.1
    assert IMAGING_INTERVAL_DAYS == 56


def test_immune_cells_rise_more_with_ikc(trial: VirtualTrial) -> None:
    def log_change(arm: str) -> float:
        changes = []
        for patient in trial.randomized:
            panels = patient.courses[arm].immune_panels
            week_16 = [p for p in panels if patient.randomization_date and
                       (p.date - patient.randomization_date).days == 112]  # fmt: skip
            if week_16:
                changes.append(math.log(week_16[0].nkt_like_pct / panels[0].nkt_like_pct))
        return float(np.mean(changes))

    assert log_change("experimental") > log_change("control") + 0.3


def test_course_by_arm_and_bad_scenario(trial: VirtualTrial) -> None:
    screen_failure = next(p for p in trial.patients if not p.eligible)
    with pytest.raises(InputError):
        screen_failure.course()
    patient = trial.randomized[0]
    assert patient.course() is patient.courses[patient.assigned_arm or ""]
    with pytest.raises(InputError) as caught:
        VirtualTrialScenario(hazard_ratio=0)
    assert caught.value.field == "hazard_ratio"
    with pytest.raises(InputError) as caught:
        VirtualTrialScenario(screen_failure_rate=1.0)
    assert caught.value.field == "screen_failure_rate"
    assert VirtualTrialScenario(allocation=Allocation(2, 1)).allocation.block == 3
