"""Spider plot of the percentage change in tumour size over time (domain.md 7.2): one line per
patient from 0% at randomization through each post-baseline complete assessment (ADTR ``PCHG``),
against weeks since randomization, one panel per arm, with progression (ADRS ``OVR = PD``) marked
and reference lines at +20% and -30%."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ikctrial.report.figures.style import (
    BLACK,
    DAYS_PER_WEEK,
    FONT_SIZE,
    GREY,
    SMALL_FONT_SIZE,
    TITLE_FONT_SIZE,
    arm_colours,
    arm_levels,
    new_figure,
    require,
    style_axes,
)
from ikctrial.report.figures.tumour_size import (
    parameter_records,
    response_records,
    tumour_parameter,
)
from ikctrial.report.figures.waterfall import PROGRESSION_LINE_PCT, RESPONSE_LINE_PCT


@dataclass(frozen=True)
class SpiderPlot:
    """The figure and the points drawn: USUBJID, arm, week, pchg, progression (bool)."""

    figure: Figure
    points: pd.DataFrame


def spider_points(
    adtr: pd.DataFrame,
    *,
    paramcd: str,
    arm: str,
    adrs: pd.DataFrame | None,
) -> pd.DataFrame:
    """Post-baseline % changes with their week since randomization (``ADT - RANDDT``) and whether
    the assessment of that date was progression under the parameter's criterion."""
    rows = parameter_records(adtr, paramcd)
    require(rows, [arm, "ADT", "RANDDT", "ABLFL"], "ADTR")
    post = rows[(rows["ABLFL"] != "Y") & rows["PCHG"].notna()]
    days = (pd.to_datetime(post["ADT"]) - pd.to_datetime(post["RANDDT"])).dt.days
    points = pd.DataFrame(
        {
            "USUBJID": post["USUBJID"].to_numpy(),
            "arm": post[arm].to_numpy(),
            "week": days.to_numpy(dtype=float) / DAYS_PER_WEEK,
            "pchg": post["PCHG"].to_numpy(dtype=float),
            "date": pd.to_datetime(post["ADT"]).to_numpy(),
        }
    )
    points["progression"] = False
    if adrs is not None:
        require(adrs, ["ADT"], "ADRS")
        criterion = tumour_parameter(paramcd).criterion
        progressed = response_records(adrs, "OVR", criterion)
        progressed = progressed[progressed["AVALC"] == "PD"]
        keys = set(zip(progressed["USUBJID"], pd.to_datetime(progressed["ADT"]), strict=True))
        points["progression"] = np.array(
            [
                (s, pd.Timestamp(d)) in keys
                for s, d in zip(points["USUBJID"], points["date"], strict=True)
            ],
            dtype=bool,
        )  # bool even when empty: an empty list would be an object column, not a row mask
    return points.drop(columns="date").sort_values(["USUBJID", "week"]).reset_index(drop=True)


def spider_figure(
    adtr: pd.DataFrame,
    *,
    paramcd: str = "SUMDIAM",
    arm: str = "TRT01P",
    arm_order: Sequence[Hashable] | None = None,
    adrs: pd.DataFrame | None = None,
    width_in: float = 8.0,
    height_in: float = 4.0,
) -> SpiderPlot:
    """Spider plot of ``paramcd`` (SUMDIAM: RECIST 1.1, VSUMDIAM: mRECIST), one panel per arm;
    ADTR needs ``ADT``, ``RANDDT`` and the arm (ADSL variables carried in the BDS dataset)."""
    parameter = tumour_parameter(paramcd)
    points = spider_points(adtr, paramcd=paramcd, arm=arm, adrs=adrs)
    arms = arm_levels(points["arm"], arm_order, f"ADTR.{arm}")
    colours = arm_colours(arms)
    figure = new_figure(width_in, height_in)
    axes = figure.subplots(1, max(len(arms), 1), sharey=True, squeeze=False)[0]
    last_week = float(points["week"].max()) if len(points) else 1.0
    for ax, name in zip(axes, arms, strict=False):
        mine = points[points["arm"] == name]
        for _, patient in mine.groupby("USUBJID", sort=True):
            ax.plot(
                np.concatenate(([0.0], patient["week"])),
                np.concatenate(([0.0], patient["pchg"])),
                color=colours[name],
                linewidth=1.0,
                alpha=0.75,
                marker="o",
                markersize=2.5,
            )
        progressed = mine[mine["progression"]]
        ax.plot(
            progressed["week"],
            progressed["pchg"],
            linestyle="none",
            marker="X",
            markersize=7,
            color=BLACK,
        )
        ax.axhline(0.0, color=BLACK, linewidth=0.8)
        for level_pct in (PROGRESSION_LINE_PCT, RESPONSE_LINE_PCT):
            ax.axhline(level_pct, color=GREY, linewidth=0.8, linestyle="--")
        style_axes(ax)
        ax.set_xlim(0.0, last_week * 1.05)
        n_patients = mine["USUBJID"].nunique()
        ax.set_title(
            f"{name} (n = {n_patients})", fontsize=TITLE_FONT_SIZE, color=colours[name], loc="left"
        )
        ax.set_xlabel("Weeks since randomization", fontsize=FONT_SIZE)
    axes[0].set_ylabel(f"Change from baseline in\n{parameter.quantity} (%)", fontsize=FONT_SIZE)
    if points["progression"].any():
        figure.legend(
            handles=[
                Line2D(
                    [],
                    [],
                    linestyle="none",
                    marker="X",
                    color=BLACK,
                    markersize=7,
                    label="Progression",
                )
            ],
            frameon=False,
            fontsize=SMALL_FONT_SIZE,
            loc="outside upper right",
        )
    figure.suptitle(parameter.title, x=0.01, ha="left", fontsize=TITLE_FONT_SIZE, fontweight="bold")
    return SpiderPlot(figure=figure, points=points)
