"""The bedside path of the driver when the plan puts an infusion outside its window.

A plan whose second infusion comes six days late (window +-3 days, domain.md 1.3) is blocked at
the bedside by a soft block; the driver records the blocked check, the investigator's e-signed
override with its reason, a fresh two-person verification and the infusion, as a site would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from tests.demo.conftest import SEED, SUBJECTS

from ikctrial.design.virtual_trial import ArmCourse, VirtualTrial

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

LATE_DAYS = 6


def _late_second_infusion(trial: VirtualTrial) -> VirtualTrial:
    """The trial with every IKC course's second infusion given LATE_DAYS later."""

    def shifted(course: ArmCourse) -> ArmCourse:
        days = list(course.infusion_dates)
        days[1] += dt.timedelta(days=LATE_DAYS)
        return replace(course, infusion_dates=days)

    patients = [
        replace(p, courses={**p.courses, "experimental": shifted(p.courses["experimental"])})
        if p.courses
        else p
        for p in trial.patients
    ]
    return replace(trial, patients=patients)


def test_a_late_infusion_is_given_after_an_override(demo_protocol: Path) -> None:
    """Blocked check (soft: schedule), override with reason, allowed check, infusion."""
    from ikctrial.demo.driver import OVERRIDE_REASON, TrialDriver
    from ikctrial.demo.run import START_DATE, site_zone
    from ikctrial.demo.setup import demo_settings, set_up_trial
    from ikctrial.design.virtual_trial import VirtualTrialScenario, virtual_trial
    from ikctrial.web.product.models import BedsideCheck, BedsideOverride, Infusion

    plan = virtual_trial(
        VirtualTrialScenario(n_randomized=SUBJECTS), seed=SEED, start_date=START_DATE
    )
    trial = _late_second_infusion(plan)
    zone = site_zone()
    driver = TrialDriver(trial, zone=zone)
    start = dt.datetime.combine(START_DATE, dt.time(9), tzinfo=zone)
    with demo_settings():
        result = driver.run(
            start, lambda: set_up_trial(operator="test-operator", subjects=SUBJECTS, seed=SEED)
        )
    overrides = list(BedsideOverride.objects.all())
    assert overrides
    assert result.overrides == len(overrides)
    assert {o.reason for o in overrides} == {OVERRIDE_REASON}
    assert {o.signer_role for o in overrides} == {"investigator"}
    blocked = list(BedsideCheck.objects.filter(allowed=False))
    assert len(blocked) == len(overrides)
    assert all(f["severity"] == "soft" for check in blocked for f in check.failures)
    assert all(any(f["check"] == "schedule" for f in check.failures) for check in blocked)
    for override in overrides:
        check = BedsideCheck.objects.get(override=override)
        assert check.allowed
        assert Infusion.objects.filter(bedside_check=check).exists()
