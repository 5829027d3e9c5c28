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
    import pandas as pd  # here, not at the top: the batched log-rank runs without pandas

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


_TIME_BITS = np.int64(0x7FFF_FFFF_FFFF_FFFC)
"""Keeps a non-negative float64's bits but the sign (so -0.0 keys as 0.0) and the two lowest."""
_LEFT_OUT = np.int64(-1)
"""Key of a subject left out of a row: the largest, so it sorts after every included subject."""


@dataclass(frozen=True)
class TwoGroupRiskSets:
    """Two groups, each row's subjects sorted by DESCENDING time (left-out subjects last).

    At position k of a row the risk set is the k + 1 subjects sorted so far, ``at_risk_1`` (B, n)
    of them in group 1; ``died`` and ``died_1`` (B, n): the subject there had an event (and is in
    group 1). The counts are those of R at every event of a row whose event times are distinct;
    ``tied`` lists the rows where an event shares its time with another subject (their tie
    blocks need ``risk_table``).
    """

    at_risk_1: NDArray[np.int32]
    died: BoolArray
    died_1: BoolArray
    tied: NDArray[np.intp]

    @property
    def at_risk(self) -> NDArray[np.int64]:
        """Subjects at risk at each position: k + 1 (1-d, the same for every row)."""
        return np.arange(1, self.died.shape[1] + 1)


def two_group_risk_sets(
    time: FloatArray,
    event: BoolArray,
    in_group_1: BoolArray,
    include: BoolArray | None = None,
) -> TwoGroupRiskSets | None:
    """Risk sets of B two-group samples from one sort of 64-bit keys per row: no argsort, no
    gathers, no (B, n, K) table.

    ``time`` (B, n) contiguous float64; ``event`` (B, n); ``in_group_1`` (B, n) or (n,);
    ``include`` False leaves a subject out. A non-negative float's bits order like the float;
    the key is the complement of those bits with the two lowest (2^-51 of the time) replaced by
    the flags event and group 1, so sorting keys ascending sorts subjects by descending time and
    carries their flags along. Times equal but for those two bits count as tied, which keeps
    ``tied`` exact. None when an included time is negative or NaN (its key would not order it).
    """
    valid = time >= 0
    if include is not None:
        valid |= ~include
    if not valid.all():
        return None
    flags = np.left_shift(event, 1, dtype=np.int8)
    flags |= in_group_1
    key = time.view(np.int64) & _TIME_BITS
    key ^= ~flags  # = ~(bits | flags): the int8 complement sign-extends to all 64 bits
    if include is not None:
        np.copyto(key, _LEFT_OUT, where=~include)
    key.sort(axis=1)
    sorted_flags = np.bitwise_and(key, 3, dtype=np.uint8, casting="unsafe")
    sorted_flags ^= 3
    died = sorted_flags >= 2
    member = sorted_flags & 1
    same_time = (key[:, 1:] ^ key[:, :-1]) < 4  # equal but for the flag bits
    tied_pairs = same_time & (died[:, 1:] | died[:, :-1])
    return TwoGroupRiskSets(
        at_risk_1=np.cumsum(member, axis=1, dtype=np.int32),
        died=died,
        died_1=died & member.view(bool),
        tied=np.unique(np.flatnonzero(tied_pairs) // max(time.shape[1] - 1, 1)),
    )
