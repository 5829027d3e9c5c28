"""Risk sets at distinct event times: the counting shared by Kaplan-Meier and the log-rank test.

Rows of a ``(B, n)`` table are independent samples (simulated trials, strata or groups). Each row
is sorted by time once; equal times form a tie block. For every position we report, for the tie
block it belongs to, how many subjects of each of K groups are at risk (time >= block time) and how
many had an event at the block time. Values are meaningful at the last position of each block
(``last``), so every distinct time is counted once. Everything is cumulative sums along axis 1: no
loop per row or per event, memory O(B * n * K).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class RiskTable:
    """Counts per tie block, laid out on the positions of each row sorted by DESCENDING time.

    ``time`` (B, n) sorted times; ``last`` (B, n) True at the last position of a tie block;
    ``at_risk`` and ``events`` (B, n, K) per group, valid where ``last``.
    """

    time: FloatArray
    last: BoolArray
    at_risk: FloatArray
    events: FloatArray


def risk_table(
    time: FloatArray,
    event: BoolArray,
    group: NDArray[np.intp],
    n_groups: int,
    count: FloatArray | None = None,
) -> RiskTable:
    """Count subjects at risk and events per group at each distinct time of each row.

    ``time``, ``event`` and ``group`` have shape (B, n); ``group`` holds codes 0..K-1, or -1 for a
    subject left out of the row; ``count`` (default 1) is how many subjects an entry stands for
    (see ``tally``). Sorting by descending time makes the running count at the end of a tie block
    the number with time >= the block's time, i.e. the number at risk.
    """
    rows, n = time.shape
    # one flat gather per column (faster than take_along_axis's broadcast indices)
    flat = (np.argsort(time, axis=1)[:, ::-1] + n * np.arange(rows)[:, None]).ravel()
    sorted_time = time.ravel()[flat].reshape(rows, n)
    member = group.ravel()[flat].reshape(rows, n, 1) == np.arange(n_groups)
    died = member & event.ravel()[flat].reshape(rows, n, 1)
    if count is None:
        at_risk = np.cumsum(member, axis=1, dtype=np.float64)
        died_through = np.cumsum(died, axis=1, dtype=np.float64)
    else:
        weight = count.ravel()[flat].reshape(rows, n, 1)
        at_risk = np.cumsum(member * weight, axis=1)
        died_through = np.cumsum(died * weight, axis=1)
    last = np.ones(time.shape, dtype=bool)
    last[:, :-1] = sorted_time[:, 1:] != sorted_time[:, :-1]
    # events through the previous block's end: running maximum of the (non-decreasing) count
    block_ends = np.maximum.accumulate(np.where(last[:, :, None], died_through, 0.0), axis=1)
    died_before = np.zeros_like(died_through)
    died_before[:, 1:] = block_ends[:, :-1]
    return RiskTable(
        time=sorted_time, last=last, at_risk=at_risk, events=died_through - died_before
    )


@dataclass(frozen=True)
class Tally:
    """Subjects collapsed to one entry per distinct (stratum, time, group, event), with counts."""

    time: FloatArray
    event: BoolArray
    group: NDArray[np.intp]
    stratum: NDArray[np.intp]
    count: FloatArray | None  # None: not collapsed, one entry per subject


def tally(
    time: FloatArray,
    event: BoolArray,
    group: NDArray[np.intp],
    n_groups: int,
    stratum: NDArray[np.intp] | None = None,
) -> Tally:
    """Collapse tied subjects by hashing times (O(n)), so the sort in ``risk_table`` runs over
    distinct combinations only; left as is when times are mostly distinct (no gain)."""
    stratum = np.zeros(time.size, dtype=np.intp) if stratum is None else stratum
    codes, distinct = pd.factorize(time)
    n_strata = int(stratum.max(initial=0)) + 1
    cells = distinct.size * n_strata * n_groups * 2
    if distinct.size > time.size // 2 or cells > 4 * time.size:
        return Tally(time, event, group, stratum, None)
    key = ((codes * n_strata + stratum) * n_groups + group) * 2 + event
    counts = np.bincount(key, minlength=cells)
    used = np.flatnonzero(counts)
    cell, is_event = np.divmod(used, 2)
    cell, group_code = np.divmod(cell, n_groups)
    time_code, stratum_code = np.divmod(cell, n_strata)
    return Tally(
        time=np.asarray(distinct, dtype=np.float64)[time_code],
        event=is_event.astype(bool),
        group=group_code,
        stratum=stratum_code,
        count=counts[used].astype(np.float64),
    )


def padded_rows(
    key: NDArray[np.intp], *columns: NDArray[Any]
) -> tuple[BoolArray, tuple[NDArray[Any], ...]]:
    """Lay 1-d columns out as one row per value of ``key`` (codes 0..S-1), padded to equal length.

    Returns the mask of real entries (S, m) and each column as an (S, m) array (padding is 0:
    callers leave padded entries out of every group).
    """
    count = np.bincount(key)
    if count.size == 1:
        return np.ones((1, key.size), dtype=bool), tuple(column[None, :] for column in columns)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    first = np.concatenate(([0], np.cumsum(count)[:-1]))
    position = np.arange(key.size) - first[sorted_key]
    shape = (count.size, int(count.max(initial=0)))
    mask = np.zeros(shape, dtype=bool)
    mask[sorted_key, position] = True
    laid_out = []
    for column in columns:
        row = np.zeros(shape, dtype=column.dtype)
        row[sorted_key, position] = column[order]
        laid_out.append(row)
    return mask, tuple(laid_out)
