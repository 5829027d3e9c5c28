"""Kaplan-Meier survival with Greenwood variance, R's intervals, quantiles and RMST (domain.md 7.5).

Matched to R ``survival`` 3.x: ``survfit`` for the curve (``std.err`` is the SE of log S, i.e.
``sqrt(sum d / (n (n - d)))``), ``survfit``'s interval types log-log / log / plain,
``quantile.survfit`` for the median and quantiles with their CIs (midpoint of a flat stretch at the
target within sqrt(machine epsilon)), ``summary(fit, times=)`` for survival and numbers at risk at
given times, and ``print(fit, rmean=tau)`` for the restricted mean survival time and its SE.
The default interval is log-log (domain.md), which R needs ``conf.type = "log-log"`` for.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ikctrial.errors import InputError
from ikctrial.stats.risk_sets import FloatArray, risk_table, tally

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ConfType = Literal["log-log", "log", "plain"]
CONF_TYPES: tuple[ConfType, ...] = ("log-log", "log", "plain")
# R quantile.survfit / print.survfit tolerance for "S equals the target"
_TOLERANCE = float(np.sqrt(np.finfo(np.float64).eps))


def check_level(level: float) -> float:
    """The confidence level, which must lie strictly between 0 and 1."""
    if not 0.0 < level < 1.0:
        raise InputError("--level", f"{level!r} is not between 0 and 1")
    return level


def check_conf_type(conf_type: str) -> ConfType:
    """The interval type, one of log-log, log, plain."""
    for known in CONF_TYPES:
        if conf_type == known:
            return known
    raise InputError("--conf-type", f"{conf_type!r} is not one of {', '.join(CONF_TYPES)}")


def confidence_limits(
    survival: FloatArray, se_log: FloatArray, conf_type: ConfType, level: float
) -> tuple[FloatArray, FloatArray]:
    """Pointwise limits of S from the SE of log S, as R ``survfit`` (NaN where undefined)."""
    z = float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            half = np.where(se_log == 0, 0.0, se_log * survival) * z
            return np.maximum(survival - half, 0.0), np.minimum(survival + half, 1.0)
        if conf_type == "log":
            s = np.where(survival == 0, np.nan, survival)
            return s * np.exp(-z * se_log), np.minimum(s * np.exp(z * se_log), 1.0)
        s = np.where((survival == 0) | (survival == 1), np.nan, survival)
        shift = z * se_log / np.log(s)
        log_minus_log = np.log(-np.log(s))
        return np.exp(-np.exp(log_minus_log - shift)), np.exp(-np.exp(log_minus_log + shift))


def _first_quantile(
    time: FloatArray, distribution: FloatArray, p: float, last_time: float
) -> float:
    """R ``survival:::findq``: where a cumulative distribution (from time 0) first reaches p."""
    if np.all(np.isnan(distribution)) or np.nanmax(distribution) < p:
        return float("nan")
    keep = ~pd.Series(distribution).duplicated().to_numpy()
    x, y = time[keep], distribution[keep]
    last_y = y[-1]
    known = ~np.isnan(y)
    x, y = x[known], y[known]

    def reach(shift: float) -> float:
        if p < y[0] + shift or p > y[-1] + shift:
            return float("nan")
        return float(x[np.searchsorted(y + shift, p, side="left")])

    early = reach(_TOLERANCE)
    if not np.isnan(last_y) and abs(p - last_y) < _TOLERANCE:
        return (early + last_time) / 2.0
    return (early + reach(-_TOLERANCE)) / 2.0


@dataclass(frozen=True)
class SurvivalCurve:
    """One Kaplan-Meier curve: one row per distinct time (events and censorings), as R survfit."""

    group: Hashable
    time: FloatArray
    n_risk: FloatArray
    n_event: FloatArray
    n_censor: FloatArray
    survival: FloatArray
    std_err: FloatArray
    lower: FloatArray
    upper: FloatArray
    conf_type: ConfType
    level: float
    stratum: Hashable | None = None  # the stratum level when curves are split by strata too

    @property
    def key(self) -> Hashable:
        """The group, or (group, stratum) when curves are split by strata too."""
        return self.group if self.stratum is None else (self.group, self.stratum)

    @property
    def label(self) -> str:
        """The curve's name in tables and legends: group, or "group, stratum"."""
        return str(self.group) if self.stratum is None else f"{self.group}, {self.stratum}"

    @property
    def n(self) -> int:
        """Number of subjects."""
        return int(self.n_risk[0]) if self.n_risk.size else 0

    @property
    def events(self) -> int:
        """Number of events."""
        return int(self.n_event.sum())

    @property
    def greenwood_se(self) -> FloatArray:
        """Greenwood SE of S(t): S(t) times the SE of log S(t)."""
        return np.asarray(self.survival * self.std_err, dtype=np.float64)

    def _index_at(self, times: ArrayLike) -> NDArray[np.intp]:
        """Index of the last curve time <= each t (-1 before the first)."""
        return np.searchsorted(self.time, np.asarray(times, dtype=np.float64), side="right") - 1

    def survival_at(self, times: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """S(t) with its interval at each t, as R ``summary(fit, times=)``: 1 (interval 1 to 1)
        before the first time, NaN beyond the last follow-up time (R drops those times)."""
        t = np.asarray(times, dtype=np.float64)
        index = self._index_at(t)
        before = index < 0
        beyond = t > self.time[-1]
        safe = np.maximum(index, 0)

        def at(values: FloatArray) -> FloatArray:
            return np.where(beyond, np.nan, np.where(before, 1.0, values[safe]))

        return at(self.survival), at(self.lower), at(self.upper)

    def at_risk(self, times: ArrayLike) -> FloatArray:
        """Number at risk at each t: subjects whose time is >= t (R ``summary(fit, times=)``)."""
        t = np.asarray(times, dtype=np.float64)
        index = np.searchsorted(self.time, t, side="left")
        padded = np.append(self.n_risk, 0.0)
        return np.asarray(padded[index], dtype=np.float64)

    def quantile(self, probability: float) -> tuple[float, float, float]:
        """Time at which the curve falls to 1 - probability, with its CI (R quantile.survfit)."""
        x = np.concatenate(([0.0], self.time))
        last = float(self.time[-1])

        def find(curve: FloatArray) -> float:
            return _first_quantile(x, np.concatenate(([0.0], 1.0 - curve)), probability, last)

        return find(self.survival), find(self.lower), find(self.upper)

    @property
    def median(self) -> tuple[float, float, float]:
        """Median survival with its CI (NaN where not reached)."""
        return self.quantile(0.5)

    def rmst(self, tau: float) -> tuple[float, float]:
        """Restricted mean survival time up to tau and its SE (R ``print(fit, rmean=tau)``)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            hazard_var = np.where(
                self.n_risk == self.n_event,
                0.0,
                self.n_event / (self.n_risk * (self.n_risk - self.n_event)),
            )
        keep = self.time <= tau
        times = np.append(self.time[keep], tau)
        heights = np.concatenate(([1.0], self.survival[keep]))
        widths = np.diff(np.concatenate(([min(0.0, float(self.time[0]))], times)))
        rectangles = widths * heights
        after = np.cumsum(rectangles[1:][::-1])[::-1]
        variance = float(np.sum(after**2 * hazard_var[keep]))
        start = min(0.0, float(self.time[0]))
        return float(rectangles.sum() + start), float(np.sqrt(variance))


def survival_curve(
    time: FloatArray,
    event: NDArray[np.bool_],
    *,
    group: Hashable = "all",
    conf_type: ConfType = "log-log",
    level: float = 0.95,
) -> SurvivalCurve:
    """Kaplan-Meier curve of one sample (times >= 0, event True for an event)."""
    tallied = tally(time, event, np.zeros(time.size, dtype=np.intp), 1)
    count = None if tallied.count is None else tallied.count[None, :]
    table = risk_table(
        tallied.time[None, :], tallied.event[None, :], tallied.group[None, :], 1, count
    )
    last = table.last[0]
    at_risk = table.at_risk[0, last, 0][::-1]
    died = table.events[0, last, 0][::-1]
    leaving = np.append(-np.diff(at_risk), at_risk[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - died / at_risk)
        std_err = np.sqrt(np.cumsum(died / (at_risk * (at_risk - died))))
    lower, upper = confidence_limits(survival, std_err, conf_type, level)
    return SurvivalCurve(
        group=group,
        time=table.time[0, last][::-1],
        n_risk=at_risk,
        n_event=died,
        n_censor=leaving - died,
        survival=survival,
        std_err=std_err,
        lower=lower,
        upper=upper,
        conf_type=conf_type,
        level=level,
    )


def survival_curves(
    time: FloatArray,
    event: NDArray[np.bool_],
    group: pd.Series | None = None,
    *,
    strata: pd.Series | None = None,
    conf_type: ConfType = "log-log",
    level: float = 0.95,
) -> list[SurvivalCurve]:
    """One Kaplan-Meier curve per group level (sorted as R orders factor levels), or one curve.

    With ``strata``, one curve per group and stratum present in the data, group levels varying
    slowest, as R ``survfit(Surv(...) ~ group + strata(s))`` orders them."""
    conf_type = check_conf_type(conf_type)
    level = check_level(level)
    group_codes, group_levels = (
        (np.zeros(time.size, dtype=np.intp), [None])
        if group is None
        else pd.factorize(group, sort=True)
    )
    strata_codes, strata_levels = (
        (np.zeros(time.size, dtype=np.intp), [None])
        if strata is None
        else pd.factorize(strata, sort=True)
    )
    curves = []
    for k, label in enumerate(group_levels):
        for m, stratum in enumerate(strata_levels):
            rows = (group_codes == k) & (strata_codes == m)
            if not rows.any():
                continue
            curve = survival_curve(
                time[rows],
                event[rows],
                group="all" if group is None else label,
                conf_type=conf_type,
                level=level,
            )
            curves.append(curve if strata is None else replace(curve, stratum=stratum))
    return curves


class KaplanMeier:
    """Kaplan-Meier estimator with a lifelines-like notebook API.

    >>> km = KaplanMeier(conf_type="log-log").fit(df, time="AVAL", censor="CNSR", group="TRT01P")
    >>> km.summary  # one row per group: n, events, median and CI, RMST when tau is set
    >>> km.plot(ax=ax)  # step curves with a number-at-risk table under the plot
    """

    def __init__(
        self, *, conf_type: ConfType = "log-log", level: float = 0.95, tau: float | None = None
    ) -> None:
        self.conf_type = conf_type
        self.level = level
        self.tau = tau

    def fit(
        self,
        data: pd.DataFrame | ArrayLike,
        event_observed: ArrayLike | None = None,
        *,
        time: str | None = None,
        event: str | None = None,
        censor: str | None = None,
        group: str | None = None,
        strata: str | None = None,
        filter: str | None = None,
    ) -> Self:
        """Fit from a DataFrame (column names) or from durations and event indicators; one curve
        per level of ``group`` (and of ``strata`` within it)."""
        from ikctrial.stats.io import survival_columns

        frame = _as_frame(data, event_observed, time, event, censor)
        if not isinstance(data, pd.DataFrame):
            time, event, censor = "duration", "event", None
        if time is None:
            raise InputError("time", "name the time column")
        columns = survival_columns(
            frame, time=time, event=event, censor=censor, group=group, strata=strata, filter=filter
        )
        self.curves_ = survival_curves(
            columns.time,
            columns.event,
            columns.group,
            strata=columns.strata,
            conf_type=self.conf_type,
            level=self.level,
        )
        self.group_ = group
        return self

    @property
    def summary(self) -> pd.DataFrame:
        """One row per group: n, events, median with its CI, and RMST (SE) up to ``tau``."""
        rows: list[dict[str, Any]] = []
        for curve in self.curves_:
            median, low, high = curve.median
            row: dict[str, Any] = {
                "group": curve.group,
                **({} if curve.stratum is None else {"stratum": curve.stratum}),
                "n": curve.n,
                "events": curve.events,
                "median": median,
                "median_lower": low,
                "median_upper": high,
            }
            if self.tau is not None:
                row["rmst"], row["rmst_se"] = curve.rmst(self.tau)
            rows.append(row)
        index = ["group", "stratum"] if "stratum" in rows[0] else ["group"]
        return pd.DataFrame(rows).set_index(index)

    def survival_function_at_times(self, times: Sequence[float]) -> pd.DataFrame:
        """S(t) per group, or per (group, stratum) (columns), at the given times (rows)."""
        return pd.DataFrame(
            {curve.key: curve.survival_at(times)[0] for curve in self.curves_},
            index=pd.Index(times, name="time"),
        )

    def plot(self, ax: Axes | None = None, *, at_risk_times: Sequence[float] | None = None) -> Axes:
        """Step curves with their pointwise intervals and a number-at-risk table under the axes."""
        from ikctrial.stats.km_plot import plot_curves

        return plot_curves(self.curves_, ax=ax, at_risk_times=at_risk_times)


def _as_frame(
    data: pd.DataFrame | ArrayLike,
    event_observed: ArrayLike | None,
    time: str | None,
    event: str | None,
    censor: str | None,
) -> pd.DataFrame:
    """A DataFrame from either a DataFrame or durations (+ event indicators, default all events)."""
    if isinstance(data, pd.DataFrame):
        return data
    durations = np.asarray(data, dtype=np.float64)
    observed = np.ones(durations.shape) if event_observed is None else np.asarray(event_observed)
    return pd.DataFrame({"duration": durations, "event": observed})
