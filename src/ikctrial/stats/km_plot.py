"""Kaplan-Meier figure for notebooks: step curves, pointwise intervals, censoring ticks and the
number-at-risk table under the axes (the layout journals expect)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ikctrial.stats.kaplan_meier import SurvivalCurve

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_curves(
    curves: Sequence[SurvivalCurve],
    *,
    ax: Axes | None = None,
    at_risk_times: Sequence[float] | None = None,
) -> Axes:
    """Draw the curves on ``ax`` (a new figure when None) and return it."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    colors: list[str] = []
    for curve in curves:
        x = np.concatenate(([0.0], curve.time))
        (line,) = ax.step(
            x, np.concatenate(([1.0], curve.survival)), where="post", label=curve.label
        )
        color = to_hex(line.get_color())
        colors.append(color)
        ax.fill_between(
            x,
            np.concatenate(([1.0], np.nan_to_num(curve.lower, nan=1.0))),
            np.concatenate(([1.0], np.nan_to_num(curve.upper, nan=1.0))),
            step="post",
            alpha=0.15,
            color=color,
        )
        censored = curve.n_censor > 0
        ax.plot(curve.time[censored], curve.survival[censored], "|", color=color, markersize=8)
    ax.set_ylim(0.0, 1.05)
    ax.set_ylabel("Survival probability")
    ax.set_xlabel("Time")
    if len(curves) > 1:
        ax.legend(title="group", frameon=False, loc="best")
    ticks = np.asarray(at_risk_times if at_risk_times is not None else ax.get_xticks())
    ticks = ticks[(ticks >= 0) & (ticks <= max(float(c.time[-1]) for c in curves))]
    ax.set_xticks(ticks)
    _at_risk_rows(ax, curves, ticks, colors)
    return ax


def _at_risk_rows(
    ax: Axes, curves: Sequence[SurvivalCurve], ticks: NDArray[np.float64], colors: list[str]
) -> None:
    """Numbers at risk under the x axis, one row per curve, aligned with the ticks."""
    from matplotlib.transforms import blended_transform_factory

    below = blended_transform_factory(ax.transData, ax.transAxes)
    top = -0.2
    labels = [ax.text(0.0, top, "Number at risk", transform=ax.transAxes, ha="right", fontsize=8)]
    for row, (curve, color) in enumerate(zip(curves, colors, strict=True)):
        y = top - 0.07 * (row + 1)
        labels.append(
            ax.text(-0.02, y, curve.label, transform=ax.transAxes, ha="right", color=color)
        )
        for t, count in zip(ticks, curve.at_risk(ticks), strict=True):
            ax.text(t, y, f"{int(count)}", transform=below, ha="center", fontsize=9)
    figure = ax.get_figure()
    if figure is None:
        return
    # room under the axes for the rows: they sit (0.2 + 0.07 rows) axes heights below the axes
    below_axes = 0.24 + 0.07 * len(curves)
    top_edge = figure.subplotpars.top
    figure.subplots_adjust(bottom=top_edge * below_axes / (1.0 + below_axes))
    # widen the left margin until the longest row label fits inside the figure
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    overhang = max(-text.get_window_extent(renderer).x0 for text in labels)
    if overhang > 0:
        left = figure.subplotpars.left + (overhang + 5.0) / figure.bbox.width
        figure.subplots_adjust(left=min(left, 0.6))
