"""Kaplan-Meier against R survival (domain.md 7.5; tests/reference/survival_reference.R)."""

from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.stats.survival_reference import assert_matches, cases, event_options, table

from ikctrial.errors import InputError
from ikctrial.stats.kaplan_meier import KaplanMeier, survival_curve, survival_curves

matplotlib.use("Agg")


def _curves(case: dict[str, Any]) -> Any:
    model = KaplanMeier(conf_type=case["conf_type"], level=case["level"], tau=case["tau"])
    return model.fit(
        table(case["data"]),
        time=case["time"],
        group=case["group"],
        filter=case.get("filter"),
        **event_options(case),
    ).curves_


@pytest.mark.parametrize("case", cases("km"))
def test_curve_matches_r_survfit(case: dict[str, Any]) -> None:
    """survfit: time, n.risk, n.event, n.censor, surv, std.err, lower, upper (given conf.type)."""
    curves = _curves(case)
    if case["group"] is not None:
        assert [c.group for c in curves] == [g["group"] for g in case["groups"]]
    for curve, expected in zip(curves, case["groups"], strict=True):
        for ours, theirs in (
            ("time", "time"),
            ("n_risk", "n_risk"),
            ("n_event", "n_event"),
            ("n_censor", "n_censor"),
            ("survival", "surv"),
            ("std_err", "std_err"),
            ("lower", "lower"),
            ("upper", "upper"),
        ):
            assert_matches(getattr(curve, ours), expected[theirs], f"{curve.group} {ours}")


@pytest.mark.parametrize("case", cases("km"))
def test_quantiles_match_r(case: dict[str, Any]) -> None:
    """quantile.survfit: estimate and CI limits, NA where not reached (groups with no events)."""
    for curve, expected in zip(_curves(case), case["groups"], strict=True):
        found = np.array([curve.quantile(p) for p in case["probs"]])
        assert_matches(found[:, 0], expected["quantile"]["estimate"], "quantile")
        assert_matches(found[:, 1], expected["quantile"]["lower"], "quantile lower")
        assert_matches(found[:, 2], expected["quantile"]["upper"], "quantile upper")


@pytest.mark.parametrize("case", cases("km"))
def test_survival_and_at_risk_at_times_match_r_summary(case: dict[str, Any]) -> None:
    """summary(fit, times=): S(t) and its CI; number at risk at t (0 after the last time)."""
    for curve, expected in zip(_curves(case), case["groups"], strict=True):
        survival, lower, upper = curve.survival_at(case["times"])
        assert_matches(survival, expected["survival_at"]["surv"], "S(t)")
        assert_matches(lower, expected["survival_at"]["lower"], "lower")
        assert_matches(upper, expected["survival_at"]["upper"], "upper")
        assert_matches(curve.at_risk(case["at_risk_times"]), expected["at_risk"], "at risk")


@pytest.mark.parametrize("case", cases("km"))
def test_rmst_matches_r_print_rmean(case: dict[str, Any]) -> None:
    """print(fit, rmean = tau): restricted mean and its SE."""
    for curve, expected in zip(_curves(case), case["groups"], strict=True):
        mean, se = curve.rmst(case["tau"])
        assert_matches(mean, expected["rmean"], "rmean")
        assert_matches(se, expected["se_rmean"], "se(rmean)")


# domain.md 7.5 worked example: (t, n at risk, d, S, Greenwood SE, log-log 95% CI), 4 decimals
WORKED = [
    (2, 10, 1, 0.9000, 0.0949, 0.4730, 0.9853),
    (3, 9, 1, 0.8000, 0.1265, 0.4087, 0.9459),
    (5, 7, 2, 0.5714, 0.1638, 0.2172, 0.8146),
    (8, 4, 1, 0.4286, 0.1743, 0.1140, 0.7185),
    (10, 3, 1, 0.2857, 0.1647, 0.0457, 0.6014),
]
WORKED_TIME = np.array([2, 3, 4, 5, 5, 7, 8, 10, 12, 12], dtype=np.float64)
WORKED_EVENT = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 0], dtype=bool)


@pytest.mark.parametrize(("t", "n_risk", "d", "s", "se", "lower", "upper"), WORKED)
def test_domain_worked_example(
    t: float, n_risk: int, d: int, s: float, se: float, lower: float, upper: float
) -> None:
    """domain.md 7.5 worked Kaplan-Meier table (Greenwood SE, log-log CI)."""
    curve = survival_curve(WORKED_TIME, WORKED_EVENT)
    i = int(np.flatnonzero(curve.time == t)[0])
    assert (curve.n_risk[i], curve.n_event[i]) == (n_risk, d)
    found = (curve.survival[i], curve.greenwood_se[i], curve.lower[i], curve.upper[i])
    np.testing.assert_allclose(found, (s, se, lower, upper), atol=5e-5)


def test_domain_worked_example_median() -> None:
    """domain.md 7.5: median 8, CI 2 to NE."""
    median, lower, upper = survival_curve(WORKED_TIME, WORKED_EVENT).median
    assert (median, lower) == (8.0, 2.0)
    assert np.isnan(upper)


def test_median_is_midpoint_of_flat_stretch_at_one_half() -> None:
    """domain.md 7.5: S = 0.5 exactly over a flat stretch gives the stretch's midpoint (R, SAS)."""
    curve = survival_curve(np.array([1.0, 2, 3, 4]), np.ones(4, dtype=bool))
    assert curve.median[0] == 2.5


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.booleans()), min_size=1, max_size=60),
    st.sampled_from(["log-log", "log", "plain"]),
)
def test_curve_invariants(rows: list[tuple[int, bool]], conf_type: str) -> None:
    """S is the product-limit formula (domain.md 7.5) computed naively, non-increasing in [0, 1],
    inside its interval, and at-risk counts add up (many ties: the collapsed-counts path)."""
    time = np.array([r[0] for r in rows], dtype=np.float64)
    event = np.array([r[1] for r in rows], dtype=bool)
    curve = survival_curve(time, event, conf_type=conf_type)  # type: ignore[arg-type]
    assert np.all(np.diff(curve.survival) <= 0)
    assert np.all((curve.survival >= 0) & (curve.survival <= 1))
    defined = ~np.isnan(curve.lower)
    assert np.all(curve.lower[defined] <= curve.survival[defined] + 1e-12)
    assert np.all(curve.upper[defined] >= curve.survival[defined] - 1e-12)
    assert curve.n_event.sum() == event.sum()
    assert curve.n_event.sum() + curve.n_censor.sum() == time.size
    assert np.array_equal(curve.at_risk(curve.time), curve.n_risk)
    distinct = np.unique(time)
    at_risk = np.array([np.sum(time >= t) for t in distinct])
    died = np.array([np.sum(event & (time == t)) for t in distinct])
    np.testing.assert_array_equal(curve.time, distinct)
    np.testing.assert_allclose(curve.survival, np.cumprod(1 - died / at_risk), rtol=1e-12)


def test_groups_are_sorted_levels_as_they_appear() -> None:
    """One curve per group level, labelled with the value as it appears in the data."""
    curves = survival_curves(
        np.array([1.0, 2, 3, 4]), np.ones(4, dtype=bool), pd.Series(["b", "a", "b", "a"])
    )
    assert [c.group for c in curves] == ["a", "b"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"conf_type": "logit"}, "--conf-type"), ({"level": 1.5}, "--level")],
)
def test_bad_options_name_the_option(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as raised:
        survival_curves(np.array([1.0]), np.ones(1, dtype=bool), **kwargs)
    assert raised.value.field == field


def test_fit_from_durations_summary_and_plot() -> None:
    """lifelines-style fit(durations, events): summary, S at times, plot with an at-risk table."""
    import matplotlib.pyplot as plt

    model = KaplanMeier(tau=10).fit(WORKED_TIME, WORKED_EVENT)
    assert model.summary.loc["all", "median"] == 8.0
    assert model.summary.loc["all", "rmst"] == pytest.approx(7.0714285714)
    assert model.survival_function_at_times([5]).iloc[0, 0] == pytest.approx(4 / 7)
    ax = model.plot(at_risk_times=[0, 5, 10])
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["Number at risk", "all", "10", "7", "3"]
    plt.close(ax.figure)


def test_plot_on_a_given_axes_with_groups_and_strata() -> None:
    """plot(ax=) draws on the caller's axes: one step curve and one at-risk row per curve (group,
    stratum), the counts those of at_risk, and every row label inside the figure."""
    import matplotlib.pyplot as plt

    frame = table("ties")
    model = KaplanMeier().fit(frame, time="time", event="event", group="arm", strata="site")
    assert list(model.summary.index) == [("A", "s1"), ("A", "s2"), ("B", "s1"), ("B", "s2")]
    figure, ax = plt.subplots()
    assert model.plot(ax=ax, at_risk_times=[0, 6]) is ax
    texts = [t.get_text() for t in ax.texts]
    assert texts[0] == "Number at risk"
    expected = []
    for curve in model.curves_:
        expected += [curve.label, *(f"{int(n)}" for n in curve.at_risk([0, 6]))]
    assert texts[1:] == expected
    assert [line.get_label() for line in ax.get_lines()][::2] == [
        "A, s1",
        "A, s2",
        "B, s1",
        "B, s2",
    ]
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    assert min(t.get_window_extent(renderer).x0 for t in ax.texts) >= 0
    plt.close(figure)
