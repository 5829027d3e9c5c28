"""Log-rank test: k groups, stratified, and batched over many simulated trials (domain.md 7.5).

At each distinct event time t_j with n_j at risk and d_j events, group k has expected events
``d_j n_kj / n_j`` and the hypergeometric covariance
``d_j (n_j - d_j) / (n_j - 1) * (n_kj / n_j) * (delta_kl - n_lj / n_j)`` (R ``survdiff``, rho = 0).
Observed minus expected and the covariance are summed over times and, when stratified, over strata;
the statistic is ``(O - E)' V^- (O - E)`` over all groups but the first, with df = rank of V.

The counting is ``risk_sets.risk_table``: the k-group test runs it on one row per stratum after
``risk_sets.tally`` has collapsed tied subjects into counts. ``logrank_batch`` (two groups, B
trials at once, one row per trial) counts with ``risk_sets.two_group_risk_sets`` (one sort of
packed keys per row) and sends only rows with tied event times through ``risk_table``; both paths
share the formulas below. pandas and scipy.stats are imported where used, so the design simulator,
which needs only ``logrank_batch``, starts without them.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ikctrial.errors import InputError
from ikctrial.stats.risk_sets import (
    FloatArray,
    padded_rows,
    risk_table,
    tally,
    two_group_risk_sets,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class LogrankBatch:
    """Two-group log-rank statistics of B trials, arrays of shape (B,).

    ``z`` < 0 means fewer events than expected in group 1 (benefit for group 1).
    """

    observed: FloatArray
    expected: FloatArray
    variance: FloatArray
    z: FloatArray
    chisq: FloatArray


@dataclass(frozen=True)
class ObservedExpected:
    """Per-group sums over event times (and rows): observed, expected, covariance (K x K)."""

    observed: FloatArray
    expected: FloatArray
    covariance: FloatArray


def _tie_factor(at_risk: FloatArray, died: FloatArray) -> FloatArray:
    """``d (n - d) / (n - 1)``: how ``d`` events tied among ``n`` at risk shrink the variance
    (1 for a single event, 0 when ``n`` = 1)."""
    return np.divide(
        died * (at_risk - died), at_risk - 1.0, out=np.zeros_like(died), where=at_risk > 1.0
    )


def _covariance_term(
    tie_factor: FloatArray | float, share_k: FloatArray, share_m: FloatArray, same_group: bool
) -> FloatArray:
    """Hypergeometric covariance of groups k and m at event times: ``f p_k (delta_km - p_m)``."""
    term: FloatArray = tie_factor * share_k * (float(same_group) - share_m)
    return term


def _observed_expected(
    time: FloatArray,
    event: NDArray[np.bool_],
    group: NDArray[np.intp],
    n_groups: int,
    count: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Observed, expected (B, K) and hypergeometric covariance (B, K, K) summed over event times
    (``group`` -1 leaves a subject out; ``count`` subjects per entry, default 1)."""
    table = risk_table(time, event, group, n_groups, count)
    counted = table.last & (table.events.sum(axis=2) > 0)
    rows = np.nonzero(counted)[0]
    at_risk, died = table.at_risk[counted], table.events[counted]  # (M, K): event times only
    n, d = at_risk.sum(axis=1), died.sum(axis=1)
    share = at_risk / n[:, None]
    ties = _tie_factor(n, d)
    trials = time.shape[0]

    def per_row(values: FloatArray) -> FloatArray:
        return np.bincount(rows, weights=values, minlength=trials).astype(np.float64)

    observed = np.stack([per_row(died[:, k]) for k in range(n_groups)], axis=1)
    expected = np.stack([per_row(d * share[:, k]) for k in range(n_groups)], axis=1)
    covariance = np.empty((trials, n_groups, n_groups))
    for k in range(n_groups):
        for m in range(k, n_groups):
            term = _covariance_term(ties, share[:, k], share[:, m], k == m)
            covariance[:, k, m] = covariance[:, m, k] = per_row(term)
    return observed, expected, covariance


def _group_1_sums(
    time: FloatArray,
    event: NDArray[np.bool_],
    in_group_1: NDArray[np.bool_],
    include: NDArray[np.bool_] | None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Observed, expected and variance of group 1 in each row (B,).

    Rows whose event times are all distinct take the two-group fast path: each event is alone at
    its time (d = 1: tie factor 1, and where n = 1, p (1 - p) = 0 anyway), so the sums run over
    the sorted positions. Rows with a tie involving an event go through ``risk_table``.
    """
    rows = np.arange(time.shape[0])
    observed, expected, variance = (np.zeros(rows.size) for _ in range(3))
    sets = two_group_risk_sets(time, event, in_group_1, include)
    if sets is not None:
        share = sets.at_risk_1 / sets.at_risk.astype(np.float64)
        observed = np.count_nonzero(sets.died_1, axis=1).astype(np.float64)
        expected = np.einsum("ij,ij->i", sets.died, share, dtype=np.float64)
        term = _covariance_term(1.0, share, share, True)
        variance = np.einsum("ij,ij->i", sets.died, term, dtype=np.float64)
        rows = sets.tied
    if rows.size:
        code = np.broadcast_to(in_group_1.astype(np.intp), time.shape)[rows]
        if include is not None:
            code = np.where(include[rows], code, -1)
        tied_observed, tied_expected, covariance = _observed_expected(
            time[rows], event[rows], code, 2
        )
        observed[rows] = tied_observed[:, 1]
        expected[rows] = tied_expected[:, 1]
        variance[rows] = covariance[:, 1, 1]
    return observed, expected, variance


def logrank_batch(
    time: NDArray[np.float64],
    event: NDArray[np.bool_],
    group: NDArray[np.int_],
    include: NDArray[np.bool_] | None = None,
) -> LogrankBatch:
    """Log-rank test of group 1 vs group 0 in each of B trials at once.

    ``time``, ``event`` and ``include`` have shape (B, n); ``group`` (B, n) or (n,) holds 0/1;
    ``include`` False leaves a patient out of that trial (e.g. not enrolled at the cut-off).
    Each row equals R ``survdiff`` on that trial alone.
    """
    time = np.ascontiguousarray(time, dtype=np.float64)
    event = np.broadcast_to(np.asarray(event, dtype=bool), time.shape)
    in_group_1 = np.asarray(group) == 1
    if include is not None:
        include = np.broadcast_to(np.asarray(include, dtype=bool), time.shape)
    observed, expected, variance = _group_1_sums(time, event, in_group_1, include)
    difference = observed - expected
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(variance > 0, difference / np.sqrt(variance), np.nan)
    return LogrankBatch(observed=observed, expected=expected, variance=variance, z=z, chisq=z**2)


def observed_expected(
    time: FloatArray,
    event: NDArray[np.bool_],
    group_code: NDArray[np.intp],
    n_groups: int,
    stratum_code: NDArray[np.intp] | None = None,
) -> ObservedExpected:
    """O, E and V per group, summed over strata (one row of the risk table per stratum)."""
    tallied = tally(time, event, group_code, n_groups, stratum_code)
    count = np.ones(tallied.time.size) if tallied.count is None else tallied.count
    mask, (row_time, row_event, row_group, row_count) = padded_rows(
        tallied.stratum, tallied.time, tallied.event, tallied.group, count
    )
    row_group = np.where(mask, row_group, -1)
    observed, expected, covariance = _observed_expected(
        row_time, row_event, row_group, n_groups, row_count
    )
    return ObservedExpected(
        observed=observed.sum(axis=0),
        expected=expected.sum(axis=0),
        covariance=covariance.sum(axis=0),
    )


@dataclass(frozen=True)
class LogrankResult:
    """A k-group (optionally stratified) log-rank test, as R ``survdiff`` prints it."""

    groups: list[Hashable]
    n: FloatArray
    observed: FloatArray
    expected: FloatArray
    covariance: FloatArray
    chisq: float
    df: int
    p: float
    stratified: bool

    def to_dict(self) -> dict[str, float | int]:
        """The interfaces.md JSON document: chisq, df, p."""
        return {"chisq": self.chisq, "df": self.df, "p": self.p}

    @property
    def summary(self) -> pd.DataFrame:
        """One row per group: N, observed, expected, (O-E)^2/E, (O-E)^2/V as R prints them."""
        import pandas as pd

        difference = self.observed - self.expected
        return pd.DataFrame(
            {
                "N": self.n,
                "observed": self.observed,
                "expected": self.expected,
                "(O-E)^2/E": difference**2 / self.expected,
                "(O-E)^2/V": difference**2 / np.diag(self.covariance),
            },
            index=pd.Index(self.groups, name="group"),
        )


def logrank_statistic(result: ObservedExpected) -> tuple[float, int]:
    """Chi-square and df from O, E, V: all groups but the first, generalized inverse (R)."""
    difference = (result.observed - result.expected)[1:]
    covariance = result.covariance[1:, 1:]
    df = int(np.linalg.matrix_rank(covariance)) if covariance.size else 0
    if df == 0:
        return float("nan"), 0
    chisq = float(difference @ np.linalg.pinv(covariance, hermitian=True) @ difference)
    return chisq, df


def logrank_test(
    data: pd.DataFrame,
    *,
    time: str,
    group: str,
    event: str | None = None,
    censor: str | None = None,
    strata: str | None = None,
    filter: str | None = None,
) -> LogrankResult:
    """Log-rank test of equal survival across the levels of ``group`` (stratified by ``strata``).

    ``data`` holds one row per subject; give ``event`` (1 = event) or ``censor`` (ADaM CNSR,
    event = 1 - CNSR); ``filter`` is a pandas query applied first.
    """
    from scipy import stats

    from ikctrial.stats.io import level_codes, survival_columns

    columns = survival_columns(
        data, time=time, event=event, censor=censor, group=group, strata=strata, filter=filter
    )
    assert columns.group is not None
    group_code, groups = level_codes(columns.group)
    if len(groups) < 2:
        raise InputError(group, f"has one level ({groups[0]!r}); the log-rank test needs two")
    stratum_code = None
    if columns.strata is not None:
        stratum_code = level_codes(columns.strata)[0]
    result = observed_expected(columns.time, columns.event, group_code, len(groups), stratum_code)
    chisq, df = logrank_statistic(result)
    return LogrankResult(
        groups=list(groups),
        n=np.bincount(group_code, minlength=len(groups)).astype(np.float64),
        observed=result.observed,
        expected=result.expected,
        covariance=result.covariance,
        chisq=chisq,
        df=df,
        p=float(stats.chi2.sf(chisq, df)) if df else float("nan"),
        stratified=stratum_code is not None,
    )
