"""Waterfall plot of the best percentage change in tumour size per patient (domain.md 7.2).

One bar per patient with a best-change record (ADTR ``ANL01FL = "Y"``), sorted from the largest
increase to the largest decrease, coloured by best overall response (ADRS ``BOR``) or by arm, with
reference lines at +20% (progression) and -30% (partial response). Patients without a post-baseline
complete assessment are counted in the axis note, not drawn; patients named in ``marked`` (e.g. PD
from a new lesion or non-target progression) get an asterisk.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ikctrial.errors import InputError
from ikctrial.report.figures.style import (
    BLACK,
    FONT_SIZE,
    GREY,
    RESPONSE_COLOURS,
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

PROGRESSION_LINE_PCT = 20.0
RESPONSE_LINE_PCT = -30.0


@dataclass(frozen=True)
class WaterfallPlot:
    """The figure, its bars left to right (USUBJID, best_pchg, category, marked) and the number of
    patients not drawn for want of a post-baseline complete assessment (None without ADSL)."""

    figure: Figure
    bars: pd.DataFrame
    not_shown: int | None


def best_changes(adtr: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """One row per patient: the best % change record (``ANL01FL = "Y"``) of the parameter."""
    rows = parameter_records(adtr, paramcd)
    require(rows, ["ANL01FL"], "ADTR")
    best = rows[(rows["ANL01FL"] == "Y") & rows["PCHG"].notna()]
    if best["USUBJID"].duplicated().any():
        duplicate = best.loc[best["USUBJID"].duplicated(), "USUBJID"].iloc[0]
        raise InputError("ADTR.ANL01FL", f"{duplicate!r} has more than one best-change record")
    return best


def waterfall_figure(
    adtr: pd.DataFrame,
    *,
    paramcd: str = "SUMDIAM",
    colour_by: Literal["BOR", "arm"] = "BOR",
    adrs: pd.DataFrame | None = None,
    adsl: pd.DataFrame | None = None,
    arm: str = "TRT01P",
    arm_order: Sequence[Hashable] | None = None,
    marked: Collection[str] = (),
    marked_label: str = "PD by new lesion or non-target progression",
    width_in: float = 7.0,
    height_in: float = 4.5,
) -> WaterfallPlot:
    """Waterfall of best % change of ``paramcd`` (SUMDIAM: RECIST 1.1, VSUMDIAM: mRECIST).

    ``colour_by="BOR"`` needs ADRS (``PARAMCD = "BOR"``, ``PARCAT1`` = the criterion); ``"arm"``
    takes ``arm`` from ADTR. With ADSL, patients in it but not drawn are counted in the note.
    """
    parameter = tumour_parameter(paramcd)
    best = best_changes(adtr, paramcd)
    if colour_by == "BOR":
        if adrs is None:
            raise InputError("ADRS", "needed to colour bars by best overall response")
        bor = response_records(adrs, "BOR", parameter.criterion).drop_duplicates("USUBJID")
        category = best["USUBJID"].map(bor.set_index("USUBJID")["AVALC"]).fillna("NE")
        unknown = sorted(set(category) - set(RESPONSE_COLOURS))
        if unknown:
            raise InputError("ADRS.AVALC", f"{unknown[0]!r} is not a response category")
        colours = dict(RESPONSE_COLOURS)
        legend_title = f"Best overall response ({parameter.title})"
        order: list[Hashable] = list(RESPONSE_COLOURS)
    elif colour_by == "arm":
        require(best, [arm], "ADTR")
        category = best[arm]
        order = arm_levels(category, arm_order, f"ADTR.{arm}")
        colours = arm_colours(order)
        legend_title = "Arm"
    else:
        raise InputError("colour_by", f"{colour_by!r} is not one of BOR, arm")

    bars = (
        pd.DataFrame(
            {
                "USUBJID": best["USUBJID"].to_numpy(),
                "best_pchg": best["PCHG"].to_numpy(dtype=float),
                "category": category.to_numpy(),
            }
        )
        .sort_values(["best_pchg", "USUBJID"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )
    bars["marked"] = bars["USUBJID"].isin(list(marked))
    not_shown = None
    if adsl is not None:
        require(adsl, ["USUBJID"], "ADSL")
        not_shown = int((~adsl["USUBJID"].isin(bars["USUBJID"])).sum())

    figure = new_figure(width_in, height_in)
    ax = figure.add_subplot()
    x = np.arange(len(bars))
    ax.bar(
        x,
        bars["best_pchg"],
        width=0.8,
        color=[colours[c] for c in bars["category"]],
        edgecolor="white",
        linewidth=0.4,
    )
    for position, change in zip(
        x[bars["marked"]], bars.loc[bars["marked"], "best_pchg"], strict=True
    ):
        offset = 3.0 if change >= 0 else -3.0
        ax.text(
            position,
            change + offset,
            "*",
            ha="center",
            va="bottom" if change >= 0 else "top",
            fontsize=FONT_SIZE,
            color=BLACK,
        )
    ax.axhline(0.0, color=BLACK, linewidth=0.8)
    for level_pct in (PROGRESSION_LINE_PCT, RESPONSE_LINE_PCT):
        ax.axhline(level_pct, color=GREY, linewidth=0.8, linestyle="--")
        ax.text(
            1.0,
            level_pct,
            f" {level_pct:+g}%",
            transform=ax.get_yaxis_transform(),
            va="center",
            ha="left",
            fontsize=SMALL_FONT_SIZE,
            color="0.35",
        )
    style_axes(ax)
    ax.set_xticks([])
    ax.set_xlim(-0.7, max(len(bars), 1) - 0.3)
    low = min(float(bars["best_pchg"].min()) if len(bars) else 0.0, -100.0)
    high = max(float(bars["best_pchg"].max()) if len(bars) else 0.0, 40.0)
    ax.set_ylim(low - 8.0, high + 10.0)
    note = f"Patients (n = {len(bars)})"
    if not_shown:
        note += f"; {not_shown} without a post-baseline complete assessment not shown"
    if bars["marked"].any():
        note += f"\n* {marked_label}"
    ax.set_xlabel(note, fontsize=FONT_SIZE)
    ax.set_ylabel(f"Best change from baseline in\n{parameter.quantity} (%)", fontsize=FONT_SIZE)
    ax.set_title(parameter.title, loc="left", fontsize=TITLE_FONT_SIZE, fontweight="bold")
    present = [c for c in order if (bars["category"] == c).any()]
    ax.legend(
        handles=[Patch(color=colours[c], label=str(c)) for c in present],
        title=legend_title,
        title_fontsize=SMALL_FONT_SIZE,
        fontsize=SMALL_FONT_SIZE,
        frameon=False,
        loc="upper right",
    )
    return WaterfallPlot(figure=figure, bars=bars, not_shown=not_shown)
