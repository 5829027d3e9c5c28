"""Log-rank test against R survdiff (domain.md 7.5; tests/reference/survival_reference.R),
and the batched log-rank used by the design simulations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.stats.survival_reference import (
    assert_matches,
    cases,
    event_options,
    reference,
    table,
)

from ikctrial.errors import InputError
from ikctrial.stats.io import level_codes
from ikctrial.stats.logrank import logrank_batch, logrank_test


def _test(case: dict[str, Any]) -> Any:
    return logrank_test(
        table(case["data"]),
        time=case["time"],
        group=case["group"],
        strata=case.get("strata"),
        filter=case.get("filter"),
        **event_options(case),
    )


@pytest.mark.parametrize("case", cases("logrank"))
def test_matches_r_survdiff(case: dict[str, Any]) -> None:
    """survdiff (rho = 0): chisq, df, p, observed, expected and variance, stratified when given."""
    result = _test(case)
    assert result.df == case["df"]
    assert_matches(result.chisq, case["chisq"], "chisq")
    assert_matches(result.p, case["p"], "p")
    assert_matches(result.observed, case["observed"], "observed")
    assert_matches(result.expected, case["expected"], "expected")
    assert_matches(result.covariance.ravel(), np.ravel(case["var"]).tolist(), "variance")


def _two_group_cases() -> list[dict[str, Any]]:
    return [
        case
        for case in reference()["logrank"]
        if case.get("strata") is None and len(case["observed"]) == 2
    ]


def test_batch_rows_equal_r_survdiff() -> None:
    """logrank_batch on the reference trials stacked as rows (padded with include = False) gives
    each trial's survdiff result; z < 0 when group 1 has fewer events than expected."""
    selected = _two_group_cases()
    assert len(selected) >= 3
    columns = []
    for case in selected:
        data = table(case["data"])
        if case.get("filter"):
            data = data.query(case["filter"])
        event = data[case["event"]] == 1 if case.get("event") else data[case["censor"]] == 0
        group = level_codes(data[case["group"]])[0]
        columns.append((data[case["time"]].to_numpy(float), event.to_numpy(), group))
    width = max(c[0].size for c in columns)
    shape = (len(columns), width)
    time, event = np.zeros(shape), np.zeros(shape, dtype=bool)
    group, include = np.zeros(shape, dtype=int), np.zeros(shape, dtype=bool)
    for b, (t, e, g) in enumerate(columns):
        time[b, : t.size], event[b, : t.size], group[b, : t.size] = t, e, g
        include[b, : t.size] = True
        time[b, t.size :] = 1.0  # excluded patients at a real event time must not count
        event[b, t.size :] = True
    result = logrank_batch(time, event, group, include)
    assert_matches(result.chisq, [c["chisq"] for c in selected], "chisq")
    assert_matches(result.observed, [c["observed"][1] for c in selected], "observed")
    assert_matches(result.expected, [c["expected"][1] for c in selected], "expected")
    assert_matches(result.variance, [c["var"][1][1] for c in selected], "variance")
    direction = np.sign(np.array([c["observed"][1] - c["expected"][1] for c in selected]))
    assert np.array_equal(np.sign(result.z), direction)
    np.testing.assert_allclose(result.chisq, result.z**2)


trial = st.integers(2, 25).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 8), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
    )
)


@settings(max_examples=40, deadline=None)
@given(st.lists(trial, min_size=1, max_size=5).filter(lambda ts: len({len(t[0]) for t in ts}) == 1))
def test_batch_equals_single_trial_test(trials: list[tuple[list[int], ...]]) -> None:
    """Each row of the batch equals the k-group test on that trial's included patients (ties and
    censoring at event times included, integer times make them frequent)."""
    time, event, group, include = (np.array([t[i] for t in trials]) for i in range(4))
    batch = logrank_batch(time.astype(float), event, group, include)
    for b in range(len(trials)):
        kept = include[b]
        frame = pd.DataFrame(
            {"t": time[b][kept], "e": event[b][kept].astype(int), "g": group[b][kept]}
        )
        if frame["g"].nunique() < 2:
            assert batch.observed[b] == frame.loc[frame["g"] == 1, "e"].sum()
            continue
        single = logrank_test(frame, time="t", event="e", group="g")
        np.testing.assert_allclose(batch.observed[b], single.observed[1])
        np.testing.assert_allclose(batch.expected[b], single.expected[1])
        np.testing.assert_allclose(batch.variance[b], single.covariance[1, 1], atol=1e-12)


def test_batch_accepts_shared_group_and_no_include() -> None:
    """``group`` of shape (n,) applies to every trial; swapping the groups negates z."""
    rng = np.random.default_rng(7)
    time = rng.exponential(size=(4, 30))
    event = rng.random((4, 30)) < 0.8
    arm = np.arange(30) % 2
    forward, swapped = logrank_batch(time, event, arm), logrank_batch(time, event, 1 - arm)
    np.testing.assert_allclose(forward.z, -swapped.z)
    np.testing.assert_allclose(forward.chisq, swapped.chisq)


@pytest.mark.parametrize(
    ("frame", "group", "field", "problem"),
    [
        (pd.DataFrame({"t": [1, 2], "e": [1, 0], "g": ["a", "a"]}), "g", "g", "one level"),
        (pd.DataFrame({"t": [1, 2], "e": [1, 0], "g": ["a", "b"]}), "arm", "arm", "unknown column"),
        (pd.DataFrame({"t": [1, -2], "e": [1, 0], "g": ["a", "b"]}), "g", "t", "negative"),
        (pd.DataFrame({"t": [1, 2], "e": [1, 2], "g": ["a", "b"]}), "g", "e", "not 0 or 1"),
    ],
)
def test_bad_input_names_the_column(
    frame: pd.DataFrame, group: str, field: str, problem: str
) -> None:
    """Interfaces: a one-level group, unknown column, negative time, bad event value (exit 2)."""
    with pytest.raises(InputError) as raised:
        logrank_test(frame, time="t", event="e", group=group)
    assert raised.value.field == field
    assert problem in raised.value.problem
