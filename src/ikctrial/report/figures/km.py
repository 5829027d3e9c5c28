"""Kaplan-Meier figure of a time-to-event parameter by arm (domain.md 7.1, 7.5): step curves with
pointwise confidence bands, censoring marks, median lines, the median, hazard ratio and log-rank p
in a box, and the number-at-risk table under the plot at the same ticks.

Every number drawn comes from ``ikctrial.stats`` (``KaplanMeier`` curves, their intervals, medians
and numbers at risk; ``logrank_test``; the Cox hazard ratio via ``report.hazard_ratio``). ADTTE
``AVAL`` is in days; the axis may show days, weeks or months (the curves are only rescaled).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ikctrial.errors import InputError
from ikctrial.report.figures.style import (
    DAYS_PER_MONTH,
    DAYS_PER_WEEK,
    FONT_SIZE,
    LINE_STYLES,
    SMALL_FONT_SIZE,
    arm_colours,
    arm_levels,
    new_figure,
    require,
    style_axes,
)
from ikctrial.report.hazard_ratio import ArmHazardRatio, arm_hazard_ratio
from ikctrial.stats.kaplan_meier import ConfType, KaplanMeier, SurvivalCurve
from ikctrial.stats.logrank import LogrankResult, logrank_test

TimeUnit = Literal["days", "weeks", "months"]
DAYS_PER_UNIT: dict[TimeUnit, float] = {
    "days": 1.0,
    "weeks": DAYS_PER_WEEK,
    "months": DAYS_PER_MONTH,
}


@dataclass(frozen=True)
class KaplanMeierFigure:
    """The figure and the numbers it shows, so a report or a test can read them back.

    ``at_risk``: one row per arm, one column per tick (in the display unit), numbers at risk as
    drawn. ``summary``: per arm n, events, median and its CI in the display unit.
    """

    figure: Figure
    at_risk: pd.DataFrame
    summary: pd.DataFrame
    curves: dict[Hashable, SurvivalCurve]
    hazard_ratio: ArmHazardRatio | None
    logrank: LogrankResult | None
    time_unit: TimeUnit


def format_time(value: float, unit: TimeUnit) -> str:
    """A time for the report: whole days, one decimal for weeks and months, NE when missing."""
    if not np.isfinite(value):
        return "NE"
    return f"{value:.0f}" if unit == "days" else f"{value:.1f}"


def format_p(p: float) -> str:
    """A p-value as journals print it: "p = 0.042" with three decimals, "p < 0.001" below."""
    if not np.isfinite(p):
        return "p = NE"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def format_median(median: float, lower: float, upper: float, unit: TimeUnit, level: float) -> str:
    """ "median 8 days (95% CI 2–NE)", or "median not reached" with its interval."""
    shown = "not reached" if not np.isfinite(median) else f"{format_time(median, unit)} {unit}"
    interval = f"{format_time(lower, unit)}–{format_time(upper, unit)}"
    return f"median {shown} ({100 * level:g}% CI {interval})"


def _parameter_rows(adtte: pd.DataFrame, paramcd: str | None) -> pd.DataFrame:
    """The records of one parameter, at most one per subject."""
    rows = adtte
    if paramcd is not None:
        require(adtte, ["PARAMCD"], "ADTTE")
        rows = adtte[adtte["PARAMCD"] == paramcd]
        if rows.empty:
            raise InputError("ADTTE.PARAMCD", f"no records of {paramcd!r}")
    if "USUBJID" in rows.columns and rows["USUBJID"].duplicated().any():
        duplicate = rows.loc[rows["USUBJID"].duplicated(), "USUBJID"].iloc[0]
        raise InputError("ADTTE.USUBJID", f"{duplicate!r} has more than one record")
    return rows


def _ticks(max_display: float, tick_step: float | None) -> np.ndarray:
    """Ticks from 0 to the end of follow-up: every ``tick_step``, or matplotlib's choice."""
    if tick_step is not None:
        if tick_step <= 0:
            raise InputError("tick_step", f"{tick_step!r} is not positive")
        return np.arange(0.0, max_display + tick_step * 1e-9, tick_step)
    locator = MaxNLocator(nbins=8, steps=[1, 2, 3, 6, 10], integer=True)
    ticks = np.asarray(locator.tick_values(0.0, max_display), dtype=np.float64)
    return ticks[(ticks >= 0) & (ticks <= max_display)]


def _draw_curve(
    ax: Axes, curve: SurvivalCurve, scale: float, colour: str, style: str, show_median: bool
) -> None:
    """One arm: band, step curve, censoring marks and (when reached) the median drop line."""
    x = np.concatenate(([0.0], curve.time)) / scale
    survival = np.concatenate(([1.0], curve.survival))
    # The interval is undefined where S is 0 or 1 (log-log): drawn there as zero width.
    lower = np.concatenate(([1.0], np.where(np.isnan(curve.lower), curve.survival, curve.lower)))
    upper = np.concatenate(([1.0], np.where(np.isnan(curve.upper), curve.survival, curve.upper)))
    ax.fill_between(x, lower, upper, step="post", color=colour, alpha=0.15, linewidth=0)
    ax.step(x, survival, where="post", color=colour, linestyle=style, linewidth=1.8)
    censored = curve.n_censor > 0
    ax.plot(
        curve.time[censored] / scale,
        curve.survival[censored],
        linestyle="none",
        marker="+",
        markersize=7,
        markeredgewidth=1.2,
        color=colour,
    )
    median = curve.median[0]
    if show_median and np.isfinite(median):
        ax.plot(
            [0.0, median / scale, median / scale],
            [0.5, 0.5, 0.0],
            color=colour,
            linestyle=":",
            linewidth=0.9,
        )


def _summary_text(
    summary: pd.DataFrame,
    unit: TimeUnit,
    level: float,
    hazard: ArmHazardRatio | None,
    logrank: LogrankResult | None,
) -> str:
    """The statistics box: median (CI) per arm, then HR (CI) and the nominal log-rank p."""
    percent = f"{100 * level:g}%"
    lines = [
        f"{arm}: "
        f"{format_median(row['median'], row['median_lower'], row['median_upper'], unit, level)}; "
        f"{int(row['events'])}/{int(row['n'])} events"
        for arm, row in summary.iterrows()
    ]
    if hazard is not None:
        if hazard.estimable:
            lines.append(
                f"HR {hazard.experimental} vs {hazard.reference}: {hazard.hazard_ratio:.2f} "
                f"({percent} CI {hazard.lower:.2f}–{hazard.upper:.2f})"
            )
        else:
            lines.append(f"HR: not estimable ({hazard.not_estimable})")
    if logrank is not None:
        lines.append(f"Log-rank {format_p(logrank.p)} (nominal)")
    return "\n".join(lines)


def _draw_at_risk(
    ax: Axes,
    at_risk: pd.DataFrame,
    colours: dict[Hashable, str],
) -> None:
    """The number-at-risk table: one row per arm, the counts under the survival plot's ticks."""
    arms = list(at_risk.index)
    for row, arm in enumerate(arms):
        for tick, count in zip(at_risk.columns, at_risk.loc[arm], strict=True):
            ax.text(
                float(tick),
                row,
                f"{int(count)}",
                ha="center",
                va="center",
                fontsize=SMALL_FONT_SIZE,
                color=colours[arm],
            )
    ax.set_ylim(len(arms) - 0.5, -0.5)
    ax.set_yticks(range(len(arms)), [str(a) for a in arms], fontsize=SMALL_FONT_SIZE)
    for label, arm in zip(ax.get_yticklabels(), arms, strict=True):
        label.set_color(colours[arm])
    ax.tick_params(axis="y", length=0, pad=8)
    ax.tick_params(axis="x", bottom=False, labelbottom=False)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title("Number at risk", loc="left", fontsize=SMALL_FONT_SIZE, fontweight="bold")


def kaplan_meier_figure(
    adtte: pd.DataFrame,
    *,
    paramcd: str | None = "PFS",
    arm: str = "TRT01P",
    arm_order: Sequence[Hashable] | None = None,
    reference: Hashable | None = None,
    time: str = "AVAL",
    censor: str = "CNSR",
    strata: str | None = None,
    time_unit: TimeUnit = "months",
    tick_step: float | None = None,
    conf_type: ConfType = "log-log",
    level: float = 0.95,
    show_median: bool = True,
    y_label: str = "Progression-free survival probability",
    time_origin: str = "randomization",
    width_in: float = 7.0,
    height_in: float = 5.5,
) -> KaplanMeierFigure:
    """Kaplan-Meier curves of ``paramcd`` by ``arm`` from ADTTE-like data (``AVAL`` in days,
    ``CNSR`` 0 = event), with the number-at-risk table under the plot.

    With two arms, the hazard ratio compares the other arm with ``reference`` (default: the first
    arm of ``arm_order``); with two or more, the log-rank test compares all arms. Both are
    stratified by ``strata`` when given. ``time_origin`` names ADTTE ``STARTDT`` on the axis.
    """
    if time_unit not in DAYS_PER_UNIT:
        raise InputError("time_unit", f"{time_unit!r} is not one of {', '.join(DAYS_PER_UNIT)}")
    rows = _parameter_rows(adtte, paramcd)
    require(rows, [n for n in (arm, time, censor, strata) if n is not None], "ADTTE")
    arms = arm_levels(rows[arm], arm_order, f"ADTTE.{arm}")
    rows = rows[rows[arm].isin(arms)]
    fitted = KaplanMeier(conf_type=conf_type, level=level).fit(
        rows, time=time, censor=censor, group=arm
    )
    by_arm = {curve.group: curve for curve in fitted.curves_}
    arms = [a for a in arms if a in by_arm]
    scale = DAYS_PER_UNIT[time_unit]
    summary = fitted.summary.loc[arms].copy()
    for column in ("median", "median_lower", "median_upper"):
        summary[column] = summary[column] / scale

    hazard: ArmHazardRatio | None = None
    if len(arms) == 2:
        control = arms[0] if reference is None else reference
        if control not in arms:
            raise InputError("reference", f"{control!r} is not one of the arms {arms!r}")
        (experimental,) = [a for a in arms if a != control]
        hazard = arm_hazard_ratio(
            rows,
            arm=arm,
            experimental=experimental,
            reference=control,
            time=time,
            censor=censor,
            strata=strata,
            level=level,
        )
    logrank: LogrankResult | None = None
    if len(arms) >= 2 and (rows[censor] == 0).any():
        logrank = logrank_test(rows, time=time, group=arm, censor=censor, strata=strata)

    max_display = float(rows[time].max()) / scale
    ticks = _ticks(max_display, tick_step)
    at_risk = pd.DataFrame(
        [by_arm[a].at_risk(ticks * scale).astype(int) for a in arms],
        index=pd.Index(arms, name=arm),
        columns=pd.Index(ticks, name=time_unit),
    )

    colours = arm_colours(arms)
    figure = new_figure(width_in, height_in)
    grid = figure.add_gridspec(2, 1, height_ratios=[5.0, 0.3 + 0.28 * len(arms)])
    ax = figure.add_subplot(grid[0])
    table_ax = figure.add_subplot(grid[1], sharex=ax)
    for i, a in enumerate(arms):
        style = LINE_STYLES[i % len(LINE_STYLES)]
        _draw_curve(ax, by_arm[a], scale, colours[a], style, show_median)
        ax.plot([], [], color=colours[a], linestyle=style, linewidth=1.8, label=str(a))
    ax.plot([], [], linestyle="none", marker="+", color="0.3", label="Censored")
    style_axes(ax)
    right = max(float(ticks[-1]), max_display)
    ax.set_xlim(-0.03 * right, right * 1.03)
    ax.set_ylim(0.0, 1.02)
    ax.set_xticks(ticks)
    ax.set_yticks(np.linspace(0.0, 1.0, 6))
    ax.set_xlabel(f"Time since {time_origin} ({time_unit})", fontsize=FONT_SIZE)
    ax.set_ylabel(y_label, fontsize=FONT_SIZE)
    ax.legend(loc="best", frameon=False, fontsize=FONT_SIZE)
    # Above the plot, where it cannot hide a curve.
    ax.set_title(
        _summary_text(summary, time_unit, level, hazard, logrank),
        loc="left",
        fontsize=SMALL_FONT_SIZE,
        linespacing=1.4,
    )
    _draw_at_risk(table_ax, at_risk, colours)
    return KaplanMeierFigure(
        figure=figure,
        at_risk=at_risk,
        summary=summary,
        curves={a: by_arm[a] for a in arms},
        hazard_ratio=hazard,
        logrank=logrank,
        time_unit=time_unit,
    )
