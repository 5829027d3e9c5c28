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
from ikctrial.stats.logrank import _observed_expected, logrank_batch, logrank_test
from ikctrial.stats.risk_sets import two_group_risk_sets


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


def _general_path(
    time: np.ndarray, event: np.ndarray, group: np.ndarray, include: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group 1's O, E, V from the k-group risk table (the path rows with ties take)."""
    code = np.broadcast_to((group == 1).astype(np.intp), time.shape)
    if include is not None:
        code = np.where(include, code, -1)
    observed, expected, covariance = _observed_expected(time, event, code, 2)
    return observed[:, 1], expected[:, 1], covariance[:, 1, 1]


def _random_trials(
    seed: int, *, rounded: bool, masked: bool, shared_group: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(seed)
    shape = (300, 40)
    time = rng.exponential(10.0, size=shape)
    if rounded:  # integer times in half of the rows: ties, also between events and censorings
        time[::2] = np.ceil(time[::2])
    event = rng.random(shape) < 0.7
    group = np.arange(shape[1]) % 2 if shared_group else rng.integers(0, 2, size=shape)
    include = rng.random(shape) < 0.8 if masked else None
    if masked:
        assert include is not None
        time[~include] = rng.uniform(-5.0, 5.0, size=int((~include).sum()))  # must not matter
    return time, event, group, include


@pytest.mark.parametrize("rounded", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("masked", [False, True], ids=["all", "include"])
@pytest.mark.parametrize("shared_group", [False, True], ids=["group-per-row", "shared-group"])
def test_two_group_fast_path_equals_general_path(
    rounded: bool, masked: bool, shared_group: bool
) -> None:
    """The sorted-key two-group path of logrank_batch gives the k-group risk table's O, E, V (to
    1e-12), with and without ties (tied rows fall back row by row) and include masks."""
    time, event, group, include = _random_trials(
        3, rounded=rounded, masked=masked, shared_group=shared_group
    )
    sets = two_group_risk_sets(time, event, group == 1, include)
    assert sets is not None
    tied = set(sets.tied.tolist())
    assert tied <= set(range(0, time.shape[0], 2))  # only rounded rows can tie
    assert bool(tied) == rounded
    batch = logrank_batch(time, event, group, include)
    observed, expected, variance = _general_path(time, event, group, include)
    np.testing.assert_array_equal(batch.observed, observed)
    np.testing.assert_allclose(batch.expected, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(batch.variance, variance, rtol=0, atol=1e-12)


def test_rows_with_a_tied_event_are_exactly_the_ones_flagged() -> None:
    """Only a tie that involves an event needs the tie blocks: censored-censored ties and left-out
    subjects do not; a tie between -0.0 and 0.0 and times 1 ulp apart (closer than the key's
    resolution) are flagged, so the fast path never orders what it cannot tell apart."""
    one_ulp = float(np.nextafter(2.0, 3.0))
    time = np.array(
        [
            [1.0, 2.0, 2.0, 3.0],  # event at 2 tied with a censoring at 2
            [1.0, 2.0, 2.0, 3.0],  # two censorings at 2
            [1.0, 2.0, 2.0, 3.0],  # event at 2 tied with a left-out subject
            [0.0, -0.0, 2.0, 3.0],  # event at 0 tied with a censoring at -0
            [1.0, 2.0, one_ulp, 3.0],  # events 1 ulp apart
            [1.0, 2.0, 2.5, 3.0],  # distinct
        ]
    )
    event = np.array(
        [
            [True, True, False, True],
            [True, False, False, True],
            [True, True, True, True],
            [True, False, True, True],
            [True, True, True, False],
            [True, True, True, True],
        ]
    )
    include = np.ones(time.shape, dtype=bool)
    include[2, 2] = False
    sets = two_group_risk_sets(time, event, np.array([0, 1, 0, 1]) == 1, include)
    assert sets is not None
    assert sets.tied.tolist() == [0, 3, 4]
    batch = logrank_batch(time, event, np.array([0, 1, 0, 1]), include)
    observed, expected, variance = _general_path(time, event, np.array([0, 1, 0, 1]), include)
    np.testing.assert_array_equal(batch.observed, observed)
    np.testing.assert_allclose(batch.expected, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(batch.variance, variance, rtol=0, atol=1e-12)


@pytest.mark.parametrize("bad", [-1.0, float("nan")], ids=["negative", "nan"])
def test_times_the_key_cannot_order_use_the_general_path(bad: float) -> None:
    """A negative or NaN time of an included subject disables the sorted-key path for the batch
    (the results are then the risk table's for every row)."""
    time, event, group, _ = _random_trials(5, rounded=False, masked=False, shared_group=True)
    time[7, 3] = bad
    assert two_group_risk_sets(time, event, group == 1) is None
    keep = np.ones(time.shape[0], dtype=bool)
    keep[7] = False
    batch = logrank_batch(time, event, group)
    observed, expected, variance = _general_path(time, event, group, None)
    np.testing.assert_array_equal(batch.observed[keep], observed[keep])
    np.testing.assert_allclose(batch.expected[keep], expected[keep], rtol=0, atol=1e-12)
    np.testing.assert_allclose(batch.variance[keep], variance[keep], rtol=0, atol=1e-12)
