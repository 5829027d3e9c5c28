"""The synthetic trials the report tests draw from (see ``synthetic_trial`` and ``adam_trial``)."""

from __future__ import annotations

import pytest
from tests.report.adam_trial import AdamTrial, make_adam_trial, report_inputs
from tests.report.synthetic_trial import Trial, make_trial

from ikctrial.design.parameters import Allocation
from ikctrial.design.report import DesignReport, design_report
from ikctrial.report.build import TrialReport, build_report


@pytest.fixture(scope="session")
def trial() -> Trial:
    """The synthetic trial of seed 20260115, 30 patients per arm."""
    return make_trial(20260115)


@pytest.fixture(scope="session")
def adam_trial() -> AdamTrial:
    """A 60-patient synthetic trial in the shape of the real analysis datasets."""
    return make_adam_trial(20260115)


@pytest.fixture(scope="session")
def design() -> DesignReport:
    """The registered design's report with few simulated trials (fast, same table shape)."""
    return design_report(60, Allocation(1, 1), trials=2000)


@pytest.fixture(scope="session")
def trial_report(adam_trial: AdamTrial, design: DesignReport) -> TrialReport:
    """The report of ``adam_trial``, with a broken audit chain carrying an extra key."""
    audit = {"ok": False, "events": 812, "first_bad_event": 377, "chains": 4}
    return build_report(report_inputs(adam_trial, design, audit))
