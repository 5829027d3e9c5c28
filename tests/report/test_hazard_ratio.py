"""The arm hazard ratio a report prints: the engine's Cox model, or "not estimable" with why."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from tests.report.synthetic_trial import CONTROL, IKC, Trial

from ikctrial.report.hazard_ratio import arm_hazard_ratio
from ikctrial.stats.cox import CoxPH


def test_stratified_hazard_ratio_is_the_engines(trial: Trial) -> None:
    data = trial.adtte.merge(trial.adsl[["USUBJID", "BCLC"]], on="USUBJID")
    fit = arm_hazard_ratio(
        data, arm="TRT01P", experimental=CONTROL, reference=IKC, strata="BCLC", ties="breslow"
    )
    # TRT01P is coded against IKC + TACE (its first sorted level): the same contrast as ours
    engine = CoxPH(ties="breslow").fit(
        data, time="AVAL", censor="CNSR", covariates=["TRT01P"], strata="BCLC"
    )
    assert fit.hazard_ratio == pytest.approx(float(engine.hazard_ratios_.iloc[0]), rel=1e-12)
    assert fit.p == pytest.approx(float(engine.result_.p_values[0]), rel=1e-12)
    assert fit.n == {CONTROL: 30, IKC: 30}
    assert fit.events[IKC] == int(((data.TRT01P == IKC) & (data.CNSR == 0)).sum())


def test_ninety_percent_interval(trial: Trial) -> None:
    wide = arm_hazard_ratio(trial.adtte, arm="TRT01P", experimental=IKC, reference=CONTROL)
    narrow = arm_hazard_ratio(
        trial.adtte, arm="TRT01P", experimental=IKC, reference=CONTROL, level=0.90
    )
    assert narrow.hazard_ratio == pytest.approx(wide.hazard_ratio)
    assert wide.lower < narrow.lower < narrow.hazard_ratio < narrow.upper < wide.upper


@pytest.mark.parametrize(
    ("censor_arm", "reason"),
    [(IKC, f"no events in {IKC}"), (CONTROL, f"no events in {CONTROL}"), ("both", "no events")],
)
def test_no_finite_estimate_is_named(trial: Trial, censor_arm: str, reason: str) -> None:
    chosen = (
        np.ones(len(trial.adtte), bool)
        if censor_arm == "both"
        else (censor_arm == trial.adtte.TRT01P)
    )
    data = trial.adtte.assign(CNSR=np.where(chosen, 1, trial.adtte.CNSR))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = arm_hazard_ratio(data, arm="TRT01P", experimental=IKC, reference=CONTROL)
    assert not fit.estimable
    assert fit.not_estimable == reason
    assert np.isnan([fit.hazard_ratio, fit.lower, fit.upper, fit.p]).all()
