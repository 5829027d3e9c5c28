"""Rates per exposure and the rate ratio (ikctrial.stats.rates), checked against R (domain.md 7.3).

Reference values come from ``tests/reference/models_reference.R`` (R ``glm`` poisson and
``MASS::glm.nb`` with offset log(exposure)) on synthetic TACE data and on MASS::quine (public data,
with categorical covariates of up to 4 levels), stored in ``models_reference.json``. Tolerance:
relative 1e-6 for every value, with no absolute floor, even for a coefficient near zero by chance
(the unadjusted NB arm effect is 0.003).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ikctrial.errors import InputError
from ikctrial.stats.rates import rate_ratio

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
REFERENCES = json.loads((REFERENCE_DIR / "models_reference.json").read_text())
REFERENCE = REFERENCES["rate"]
REL = 1e-6
# (data set, case): the synthetic TACE data and MASS::quine (public, the glm.nb example).
CASES = [(section, case) for section in ("rate", "quine") for case in REFERENCES[section]["cases"]]


def _close(value: float) -> Any:
    return pytest.approx(value, rel=REL, abs=0.0)


def _fit_reference(case: dict[str, Any], section: str = "rate") -> Any:
    reference = REFERENCES[section]
    return rate_ratio(
        pd.read_csv(REFERENCE_DIR / reference["data"]),
        count=reference["count"],
        exposure=reference["exposure"],
        group=reference["group"],
        covariates=case["covariates"],
        model=case["model"],
        robust=case["se_type"] == "sandwich",
    )


@pytest.mark.parametrize(("section", "case"), CASES, ids=[c["name"] for _, c in CASES])
def test_matches_r_glm_and_glm_nb(section: str, case: dict[str, Any]) -> None:
    """domain.md 7.3 "Software": estimates of R glm(poisson) / MASS::glm.nb (+ HC0 sandwich)."""
    result = _fit_reference(case, section)
    assert result.model == case["model"]
    assert result.se_type == case["se_type"]
    assert result.fallback is None
    assert result.n == case["n"]
    assert result.rate_ratio == _close(case["rate_ratio"])
    assert result.ci[0] == _close(case["ci"][0])
    assert result.ci[1] == _close(case["ci"][1])
    assert result.p == _close(case["p"])
    assert result.loglik == _close(case["loglik"])
    assert result.pearson_chi2_df == _close(case["pearson_chi2_df"])
    assert list(result.coefficients) == list(case["coefficients"])
    for name, expected in case["coefficients"].items():
        assert result.coefficients[name].coef == _close(expected["coef"]), name
        assert result.coefficients[name].se == _close(expected["se"]), name
    if case["theta"] is None:
        assert result.theta is None
    else:
        assert result.theta == _close(case["theta"])
    for group, rate in REFERENCES[section]["crude_rates"].items():
        assert result.rates[group] == _close(rate)


@pytest.mark.parametrize(
    ("model", "rate_ratio_value", "ci", "p"),
    [
        # domain.md 7.3 worked example: IKC 30 repeat sessions / 25.0 py, control 45 / 24.0 py.
        ("poisson", 0.640, (0.403, 1.016), 0.058),
    ],
)
@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")
def test_domain_worked_example(
    model: str, rate_ratio_value: float, ci: tuple[float, float], p: float
) -> None:
    """domain.md 7.3: unadjusted Poisson reproduces the crude rates; RR 0.640 (0.403-1.016).
    Two aggregated rows make a saturated model, which statsmodels flags as "perfect prediction"."""
    data = pd.DataFrame({"n": [30, 45], "py": [25.0, 24.0], "arm": ["IKC", "CONTROL"]})
    result = rate_ratio(data, count="n", exposure="py", group="arm", model=model)  # type: ignore[arg-type]
    assert result.rates == {"CONTROL": pytest.approx(1.875), "IKC": pytest.approx(1.200)}
    assert result.rate_ratio == pytest.approx(rate_ratio_value, abs=5e-4)
    assert result.ci == pytest.approx(ci, abs=5e-4)
    assert result.p == pytest.approx(p, abs=5e-4)
    assert result.coefficients["armIKC"].se == pytest.approx(np.sqrt(1 / 30 + 1 / 45))


def test_negbin_without_overdispersion_falls_back_to_robust_poisson() -> None:
    """domain.md 7.3 "Model": if alpha -> 0, Poisson regression with sandwich SEs, and we say so."""
    data = pd.DataFrame(
        {
            "y": [1, 2, 2, 3, 3, 3, 2, 4],
            "t": [1.0] * 8,
            "arm": ["A"] * 4 + ["B"] * 4,
        }
    )
    result = rate_ratio(data, count="y", exposure="t", group="arm", model="negbin")
    poisson = rate_ratio(data, count="y", exposure="t", group="arm", model="poisson", robust=True)
    assert result.model == "poisson"
    assert result.theta is None
    assert result.se_type == "sandwich"
    assert result.fallback is not None
    assert result.rate_ratio == pytest.approx(1.5)
    assert result.rates == {"A": pytest.approx(2.0), "B": pytest.approx(3.0)}
    assert result.ci == pytest.approx(poisson.ci)
    assert result.to_dict()["theta"] is None


def test_json_document_has_the_interface_keys() -> None:
    """interfaces.md "Other endpoint models": model, rate_ratio, ci, p, rates, theta."""
    document = _fit_reference(REFERENCE["cases"][2]).to_dict()
    assert {"model", "rate_ratio", "ci", "p", "rates", "theta"} <= set(document)
    assert document["model"] == "negbin"
    assert set(document["rates"]) == {"CONTROL", "IKC"}
    assert document["comparison"] == {"numerator": "IKC", "denominator": "CONTROL"}
    json.dumps(document)


def test_summary_has_one_row_per_term() -> None:
    summary = _fit_reference(REFERENCE["cases"][5]).summary
    assert list(summary.index) == ["(Intercept)", "armIKC", "bclcB", "age"]
    assert summary.loc["armIKC", "exp(coef)"] == pytest.approx(
        _fit_reference(REFERENCE["cases"][5]).rate_ratio
    )


counts = st.lists(st.integers(0, 30), min_size=3, max_size=12)


@settings(max_examples=20, deadline=None)
@given(
    counts_a=counts,
    counts_b=counts,
    scale=st.floats(0.1, 50.0),
    model=st.sampled_from(["poisson", "negbin"]),
)
def test_invariants(counts_a: list[int], counts_b: list[int], scale: float, model: str) -> None:
    """Rescaling exposure (e.g. days vs years) rescales the rates and keeps the rate ratio; swapping
    which group sorts first inverts the rate ratio; unadjusted Poisson reproduces the crude rates
    (domain.md 7.3 worked example)."""
    if sum(counts_a) == 0 or sum(counts_b) == 0:
        return
    n_a, n_b = len(counts_a), len(counts_b)
    data = pd.DataFrame(
        {
            "y": counts_a + counts_b,
            "t": np.linspace(0.5, 2.0, n_a + n_b),
            "arm": ["A"] * n_a + ["B"] * n_b,
        }
    )
    fit = rate_ratio(data, count="y", exposure="t", group="arm", model=model)  # type: ignore[arg-type]
    scaled = rate_ratio(
        data.assign(t=data["t"] * scale),
        count="y",
        exposure="t",
        group="arm",
        model=model,  # type: ignore[arg-type]
    )
    swapped = rate_ratio(
        data.assign(arm=data["arm"].map({"A": "Z"}).fillna("B")),
        count="y",
        exposure="t",
        group="arm",
        model=model,  # type: ignore[arg-type]
    )
    assert scaled.rate_ratio == pytest.approx(fit.rate_ratio, rel=1e-6)
    assert scaled.rates["A"] == pytest.approx(fit.rates["A"] / scale, rel=1e-9)
    assert swapped.rate_ratio == pytest.approx(1.0 / fit.rate_ratio, rel=1e-6)
    assert swapped.p == pytest.approx(fit.p, rel=1e-5, abs=1e-9)
    if fit.model == "poisson" and fit.se_type == "model":
        crude = fit.rates["B"] / fit.rates["A"]
        assert fit.rate_ratio == pytest.approx(crude, rel=1e-8)


def _bad(**changes: Any) -> pd.DataFrame:
    data = pd.DataFrame(
        {
            "y": [0, 2, 1, 3, 0, 4],
            "t": [1.0, 2.0, 0.5, 1.5, 2.5, 1.0],
            "arm": ["A", "A", "A", "B", "B", "B"],
            "stratum": ["x", "y", "x", "y", "x", "y"],
        }
    )
    for column, value in changes.items():
        data[column] = value
    return data


@pytest.mark.parametrize(
    ("data", "options", "field", "problem"),
    [
        # interfaces.md / issue 5 item 6: bad input names the column and the problem.
        (_bad(), {"count": "nope"}, "nope", "unknown column"),
        (_bad(), {"covariates": ["ecog"]}, "ecog", "unknown column"),
        (_bad(t=[1.0, -2.0, 0.5, 1.5, 2.5, 1.0]), {}, "t", "exposure must be > 0"),
        (_bad(t=[1.0, 0.0, 0.5, 1.5, 2.5, 1.0]), {}, "t", "exposure must be > 0"),
        (_bad(y=[0, 2.5, 1, 3, 0, 4]), {}, "y", "non-negative integers"),
        (_bad(y=[0, -1, 1, 3, 0, 4]), {}, "y", "non-negative integers"),
        (_bad(y=[0, "two", 1, 3, 0, 4]), {}, "y", "is not a finite number"),
        (_bad(y=[0, None, 1, 3, 0, 4]), {}, "y", "missing value"),
        (_bad(arm=["A"] * 6), {}, "arm", "found 1"),
        (_bad(y=[0, 0, 0, 3, 0, 4]), {}, "y", "no events in arm 'A'"),
        (_bad(arm=["A", "A", "B", "B", "C", "C"]), {}, "arm", "found 3"),
        (_bad(stratum=["x"] * 6), {"covariates": ["stratum"]}, "stratum", "single level"),
        (
            _bad(stratum=["A", "A", "A", "B", "B", "B"]),
            {"covariates": ["stratum"]},
            "covariates",
            "collinear",
        ),
        (_bad(), {"covariates": ["arm"]}, "covariates", "already"),
        (_bad(), {"model": "zip"}, "model", "not one of"),
        (_bad(), {"level": 1.5}, "level", "between 0 and 1"),
    ],
)
def test_bad_input(data: pd.DataFrame, options: dict[str, Any], field: str, problem: str) -> None:
    arguments: dict[str, Any] = {"count": "y", "exposure": "t", "group": "arm", **options}
    with pytest.raises(InputError) as caught:
        rate_ratio(data, **arguments)
    assert caught.value.field == field
    assert problem in caught.value.problem


@pytest.mark.parametrize("theta", [1e3, 1e5, 1e6])
def test_theta_score_keeps_its_sign_at_large_theta(theta: float) -> None:
    """The NB2 theta score at large theta is sum(y - (y - mu)^2) / (2 theta^2) + O(theta^-3);
    computed naively it drowns in rounding there, which would misjudge "alpha -> 0" (domain.md
    7.3 fallback rule)."""
    from ikctrial.stats.rates import _nb_theta_score

    y = np.array([0, 1, 2, 3, 5, 8, 2, 1, 0, 4], dtype=float)
    mu = np.full(len(y), y.mean())
    expected = float(np.sum(y - (y - mu) ** 2) / (2.0 * theta**2))
    assert _nb_theta_score(theta, y, mu) == pytest.approx(expected, rel=100.0 / theta)
