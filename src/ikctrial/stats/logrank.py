"""Log-rank test: k groups, stratified, and batched over many simulated trials (domain.md 7.5).

At each distinct event time t_j with n_j at risk and d_j events, group k has expected events
``d_j n_kj / n_j`` and the hypergeometric covariance
``d_j (n_j - d_j) / (n_j - 1) * (n_kj / n_j) * (delta_kl - n_lj / n_j)`` (R ``survdiff``, rho = 0).
Observed minus expected and the covariance are summed over times and, when stratified, over strata;
the statistic is ``(O - E)' V^- (O - E)`` over all groups but the first, with df = rank of V.

The counting is ``risk_sets.risk_table``: ``logrank_batch`` runs it on B trials at once (one row
per trial), the k-group test on one row per stratum after ``risk_sets.tally`` has collapsed tied
subjects into counts.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from ikctrial.errors import InputError
from ikctrial.stats.risk_sets import FloatArray, padded_rows, risk_table, tally


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
    ties = np.divide(d * (n - d), n - 1.0, out=np.zeros_like(d), where=n > 1.0)
    trials = time.shape[0]

    def per_row(values: FloatArray) -> FloatArray:
        return np.bincount(rows, weights=values, minlength=trials).astype(np.float64)

    observed = np.stack([per_row(died[:, k]) for k in range(n_groups)], axis=1)
    expected = np.stack([per_row(d * share[:, k]) for k in range(n_groups)], axis=1)
    covariance = np.empty((trials, n_groups, n_groups))
    for k in range(n_groups):
        for m in range(k, n_groups):
            term = ties * share[:, k] * ((k == m) - share[:, m])
            covariance[:, k, m] = covariance[:, m, k] = per_row(term)
    return observed, expected, covariance


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
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event, dtype=bool)
    code = np.broadcast_to((np.asarray(group) == 1).astype(np.intp), time.shape)
    if include is not None:
        code = np.where(np.asarray(include, dtype=bool), code, -1)
    observed, expected, covariance = _observed_expected(time, event, code, 2)
    variance = covariance[:, 1, 1]
    difference = observed[:, 1] - expected[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(variance > 0, difference / np.sqrt(variance), np.nan)
    return LogrankBatch(
        observed=observed[:, 1], expected=expected[:, 1], variance=variance, z=z, chisq=z**2
    )


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
