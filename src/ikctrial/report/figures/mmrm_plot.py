"""Immune-panel MMRM results, one row of panels per marker (domain.md 7.4): left, the least-squares
mean change from baseline per arm and visit (± SE); right, the arm difference per visit with its
confidence interval. Everything is read from ``ikctrial.stats.mmrm.MMRM`` results.

Markers analysed on the log scale (counts, ratios, cytokines: ``log(post) - log(base)``) are shown
back-transformed: fold change from baseline (geometric mean ratio) and the ratio of geometric means
between arms, on a log axis with the no-change line at 1.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator

from ikctrial.errors import InputError
from ikctrial.report.figures.style import (
    BLACK,
    FONT_SIZE,
    GREY,
    MARKERS,
    SMALL_FONT_SIZE,
    TITLE_FONT_SIZE,
    arm_colours,
    new_figure,
    style_axes,
)
from ikctrial.stats.mmrm import MMRM

_ROW_HEIGHT_IN = 2.4


@dataclass(frozen=True)
class MMRMPlot:
    """The figure and the differences it draws (marker, visit, estimate, lower, upper, p, scale),
    on the scale shown (ratios for log-scale markers)."""

    figure: Figure
    differences: pd.DataFrame


def _log_axis(ax: Axes) -> None:
    """A log y axis with a few plainly written ticks (1.05, not 1.05 x 10^0)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))


def _arm_difference(
    fit: MMRM, experimental: Hashable | None
) -> tuple[Hashable, Hashable, np.ndarray, np.ndarray, np.ndarray]:
    """Experimental arm, control arm, and the difference experimental - control with its CI per
    visit. The engine reports second level minus first; when ``experimental`` is the first level
    the sign is turned (and the interval's ends swapped), nothing re-estimated."""
    first, second = fit.arm_levels
    estimate = np.array([v.difference for v in fit.visits])
    lower = np.array([v.ci[0] for v in fit.visits])
    upper = np.array([v.ci[1] for v in fit.visits])
    if experimental is None or experimental == second:
        return second, first, estimate, lower, upper
    if experimental != first:
        raise InputError("experimental", f"{experimental!r} is not one of {[first, second]!r}")
    return first, second, -estimate, -upper, -lower


def mmrm_figure(
    results: Mapping[str, MMRM],
    *,
    experimental: Hashable | None = None,
    log_scale: Collection[str] = (),
    units: Mapping[str, str] | None = None,
    width_in: float = 8.0,
) -> MMRMPlot:
    """One row per marker of ``results`` (marker label -> fitted MMRM), comparing ``experimental``
    with the other arm (default: the engine's second arm level); markers named in
    ``log_scale`` were fitted on log change and are shown back-transformed; ``units`` labels the
    change axis of the others (e.g. ``{"CD8+ T cells": "cells/µL"}``)."""
    if not results:
        raise InputError("results", "give at least one marker's MMRM result")
    unknown = [m for m in log_scale if m not in results]
    if unknown:
        raise InputError("log_scale", f"{unknown[0]!r} is not one of the markers")
    units = units or {}
    figure = new_figure(width_in, 0.6 + _ROW_HEIGHT_IN * len(results))
    axes = figure.subplots(len(results), 2, squeeze=False)
    records: list[dict[str, object]] = []
    for (left, right), (marker, fit) in zip(axes, results.items(), strict=True):
        logged = marker in log_scale
        positions = np.arange(len(fit.visits))
        labels = [str(v.visit) for v in fit.visits]
        colours = arm_colours(list(fit.arm_levels))
        spread = 0.08
        for i, arm in enumerate(fit.arm_levels):
            mean = np.array([v.lsmeans[arm] for v in fit.visits])
            se = np.array([v.lsmeans_se[arm] for v in fit.visits])
            centre, low, high = mean, mean - se, mean + se
            if logged:
                centre, low, high = np.exp(centre), np.exp(low), np.exp(high)
            x = positions + (i - 0.5) * 2 * spread
            left.errorbar(
                x,
                centre,
                yerr=[centre - low, high - centre],
                color=colours[arm],
                marker=MARKERS[i % len(MARKERS)],
                markersize=4,
                capsize=2,
                linewidth=1.2,
                label=str(arm),
            )
        treated, control, estimate, lower, upper = _arm_difference(fit, experimental)
        if logged:
            estimate, lower, upper = np.exp(estimate), np.exp(lower), np.exp(upper)
        right.errorbar(
            positions,
            estimate,
            yerr=[estimate - lower, upper - estimate],
            color=BLACK,
            marker="s",
            markersize=4,
            capsize=3,
            linestyle="none",
        )
        for ax in (left, right):
            ax.axhline(1.0 if logged else 0.0, color=GREY, linewidth=0.8, linestyle="--")
            if logged:
                _log_axis(ax)
            ax.set_xticks(positions, labels, fontsize=SMALL_FONT_SIZE)
            ax.set_xlim(-0.5, len(positions) - 0.5)
            style_axes(ax)
        percent = f"{100 * fit.level:g}%"
        if logged:
            left.set_ylabel("Fold change from baseline\n(geometric mean ± SE)", fontsize=FONT_SIZE)
            right.set_ylabel(
                f"Ratio of geometric means\n{treated} vs {control} ({percent} CI)",
                fontsize=FONT_SIZE,
            )
        else:
            unit = f" ({units[marker]})" if marker in units else ""
            left.set_ylabel(f"Change from baseline{unit}\n(LS mean ± SE)", fontsize=FONT_SIZE)
            right.set_ylabel(
                f"Difference{unit}\n{treated} vs {control} ({percent} CI)", fontsize=FONT_SIZE
            )
        left.set_title(marker, loc="left", fontsize=TITLE_FONT_SIZE, fontweight="bold")
        left.legend(frameon=False, fontsize=SMALL_FONT_SIZE)
        for visit, e, lo, hi, comparison in zip(
            labels, estimate, lower, upper, fit.visits, strict=True
        ):
            records.append(
                {
                    "marker": marker,
                    "visit": visit,
                    "estimate": float(e),
                    "lower": float(lo),
                    "upper": float(hi),
                    "p": comparison.p,
                    "scale": "ratio" if logged else "difference",
                }
            )
    for ax in axes[-1]:
        ax.set_xlabel("Visit", fontsize=FONT_SIZE)
    return MMRMPlot(figure=figure, differences=pd.DataFrame(records))
