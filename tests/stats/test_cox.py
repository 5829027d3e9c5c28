"""Cox model against R coxph (domain.md 7.5; reference: tests/reference/survival_reference.R)."""

from __future__ import annotations

import time as clock
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.stats.survival_reference import assert_matches, cases, event_options, table

from ikctrial.errors import InputError
from ikctrial.stats.cox import CoxPH, CoxSeparationWarning


def _fit(case: dict[str, Any]) -> CoxPH:
    model = CoxPH(ties=case["ties"], robust=case["robust"], level=case["level"])
    return model.fit(
        table(case["data"]),
        time=case["time"],
        covariates=case["covariates"],
        strata=case.get("strata"),
        cluster=case.get("cluster"),
        **event_options(case),
    )


@pytest.mark.parametrize("case", cases("cox"))
def test_matches_r_coxph(case: dict[str, Any]) -> None:
    """coxph: coefficients, SEs, robust SEs, HR CIs, p, log-likelihoods, score/Wald/LR tests for
    Efron and Breslow ties, strata, categorical covariates and clusters."""
    result = _fit(case).result_
    assert result.names == case["names"]
    assert (result.n, result.events) == (case["n"], case["events"])
    assert_matches(result.coef, case["coef"], "coef")
    assert_matches(result.se, case["se"], "se")
    if case["robust"]:
        assert_matches(result.robust_se, case["robust_se"], "robust se")
    else:
        assert result.robust_se is None
    lower, upper = result.hr_ci
    assert_matches(lower, case["lower"], "lower")
    assert_matches(upper, case["upper"], "upper")
    assert_matches(result.p_values, case["p"], "p")
    assert_matches([result.loglik_null, result.loglik], case["loglik"], "loglik")
    assert_matches(result.score_test, case["score"], "score test")
    assert_matches(result.wald_test[0], case["wald"], "wald test")
    assert_matches(result.likelihood_ratio_test[0], case["lr"], "likelihood ratio test")


def test_zero_variance_covariate_is_a_clear_error() -> None:
    frame = pd.DataFrame(
        {"t": [1, 2, 3, 4], "e": [1, 1, 0, 1], "x": [5, 5, 5, 5], "z": [1, 0, 1, 0]}
    )
    with pytest.raises(InputError) as raised:
        CoxPH().fit(frame, time="t", event="e", covariates=["z", "x"])
    assert raised.value.field == "x"
    assert "zero variance" in raised.value.problem


def test_collinear_covariate_is_a_clear_error() -> None:
    frame = pd.DataFrame(
        {"t": [1, 2, 3, 4, 5], "e": [1, 1, 0, 1, 1], "x": [1, 2, 3, 4, 6], "y": [2, 4, 6, 8, 12]}
    )
    with pytest.raises(InputError) as raised:
        CoxPH().fit(frame, time="t", event="e", covariates=["x", "y"])
    assert raised.value.field == "y"
    assert "collinear" in raised.value.problem


@pytest.mark.parametrize(
    ("columns", "field"),
    [
        ({"event": "e"}, "e"),  # all censored (event = 0)
        ({"censor": "CNSR"}, "CNSR"),  # ADaM: all CNSR = 1
        ({"event": "e", "filter": "z == 1"}, "e"),  # events only outside the filtered subset
    ],
)
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_no_events_is_a_clear_error_not_a_hazard_ratio_of_1(
    columns: dict[str, str], field: str, ties: str
) -> None:
    """Without events the partial likelihood is flat: no estimate exists (R coxph prints coef NA
    with 0 df); we refuse with an InputError naming the column (exit 2), never HR = 1."""
    frame = pd.DataFrame(
        {
            "t": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "e": [0, 0, 0, 0, 0, 0] if "filter" not in columns else [0, 1, 0, 1, 0, 1],
            "CNSR": [1, 1, 1, 1, 1, 1],
            "z": [1, 0, 1, 0, 1, 0],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 7.0],
        }
    )
    with pytest.raises(InputError) as raised:
        CoxPH(ties=ties).fit(frame, time="t", covariates=["x"], **columns)
    assert raised.value.field == field
    assert raised.value.problem == "no events: the Cox model cannot be estimated"


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_perfect_separation_warns_and_returns(ties: str) -> None:
    """Every treated patient outlives every control: the coefficient diverges; warn, do not hang."""
    frame = pd.DataFrame({"t": np.arange(1.0, 21.0), "e": 1, "treated": [0] * 10 + [1] * 10})
    started = clock.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CoxPH(ties=ties).fit(frame, time="t", event="e", covariates=["treated"]).result_  # type: ignore[arg-type]
    assert clock.perf_counter() - started < 5.0
    assert any(issubclass(w.category, CoxSeparationWarning) for w in caught)
    assert result.infinite == ["treated"]
    assert result.coef[0] < -5


def test_lifelines_style_attributes() -> None:
    frame = table("veteran")
    model = CoxPH().fit(frame, time="time", event="event", covariates=["trt", "karno"])
    assert list(model.params_.index) == ["trt", "karno"]
    np.testing.assert_allclose(model.hazard_ratios_, np.exp(model.params_))
    assert model.summary.shape[0] == 2
    assert model.log_likelihood_ < 0
