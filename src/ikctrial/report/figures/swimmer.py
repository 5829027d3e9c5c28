"""Swimmer plot of time on study per patient: one lane per patient from randomization to the end of
study (ADSL ``EOSDT``; the data cut-off for patients still on study, drawn with an arrow), grouped
by arm and sorted by length, with IKC infusions and TACE sessions (ADEX) and the PFS event (ADTTE
``CNSR = 0``: progression or death, by ``EVNTDESC``) marked on it."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ikctrial.errors import InputError
from ikctrial.report.figures.km import DAYS_PER_UNIT, TimeUnit
from ikctrial.report.figures.style import (
    BLACK,
    BLUISH_GREEN,
    FONT_SIZE,
    ORANGE,
    SMALL_FONT_SIZE,
    arm_colours,
    arm_levels,
    new_figure,
    require,
    style_axes,
)

_LANE_HEIGHT_IN = 0.13
_MARKERS = {
    "IKC infusion": {"marker": "|", "color": BLUISH_GREEN, "markersize": 6, "markeredgewidth": 1.6},
    "TACE session": {
        "marker": "D",
        "color": ORANGE,
        "markersize": 4,
        "markeredgecolor": BLACK,
        "markeredgewidth": 0.5,
    },
    "Progression": {"marker": "X", "color": BLACK, "markersize": 6},
    "Death": {"marker": "*", "color": BLACK, "markersize": 8},
}


@dataclass(frozen=True)
class SwimmerPlot:
    """The figure, its lanes top to bottom (USUBJID, arm, days, ongoing) and the marks drawn
    (USUBJID, kind, day)."""

    figure: Figure
    lanes: pd.DataFrame
    marks: pd.DataFrame


def _days_since(dates: pd.Series, start: pd.Series) -> pd.Series:
    """Days from randomization, day 1 = the randomization date (as ADaM ``AVAL``)."""
    return (pd.to_datetime(dates) - pd.to_datetime(start)).dt.days + 1


def swimmer_lanes(
    adsl: pd.DataFrame, *, arm: str, arm_order: Sequence[Hashable] | None, cutoff: date | None
) -> pd.DataFrame:
    """One lane per patient: days on study (to ``EOSDT``, or to ``cutoff`` when still on study)."""
    require(adsl, ["USUBJID", arm, "RANDDT", "EOSDT"], "ADSL")
    end = pd.to_datetime(adsl["EOSDT"])
    ongoing = end.isna()
    if ongoing.any():
        if cutoff is None:
            raise InputError("cutoff", "needed for patients without an end-of-study date")
        end = end.fillna(pd.Timestamp(cutoff))
    lanes = pd.DataFrame(
        {
            "USUBJID": adsl["USUBJID"].to_numpy(),
            "arm": adsl[arm].to_numpy(),
            "days": _days_since(end, adsl["RANDDT"]).to_numpy(dtype=float),
            "ongoing": ongoing.to_numpy(),
        }
    )
    if (lanes["days"] < 1).any():
        first = lanes.loc[lanes["days"] < 1, "USUBJID"].iloc[0]
        raise InputError("ADSL.EOSDT", f"{first!r} ends before randomization")
    arms = arm_levels(lanes["arm"], arm_order, f"ADSL.{arm}")
    lanes["arm_rank"] = lanes["arm"].map({a: i for i, a in enumerate(arms)})
    ordered = lanes.sort_values(["arm_rank", "days", "USUBJID"], ascending=[True, False, True])
    return ordered.drop(columns="arm_rank").reset_index(drop=True)


def swimmer_marks(
    adsl: pd.DataFrame,
    *,
    adex: pd.DataFrame | None,
    adtte: pd.DataFrame | None,
    paramcd: str,
    ikc: str,
    tace: str,
) -> pd.DataFrame:
    """Marks (USUBJID, kind, day): infusions and TACE sessions from ADEX (``EXTRT``, ``ASTDT``),
    the PFS event from ADTTE (progression, or death when ``EVNTDESC`` says so)."""
    randomized = adsl.set_index("USUBJID")["RANDDT"]
    frames: list[pd.DataFrame] = []
    if adex is not None:
        require(adex, ["USUBJID", "EXTRT", "ASTDT"], "ADEX")
        for treatment, kind in ((ikc, "IKC infusion"), (tace, "TACE session")):
            given = adex[adex["EXTRT"] == treatment]
            frames.append(
                pd.DataFrame(
                    {
                        "USUBJID": given["USUBJID"].to_numpy(),
                        "kind": kind,
                        "day": _days_since(
                            given["ASTDT"], given["USUBJID"].map(randomized)
                        ).to_numpy(dtype=float),
                    }
                )
            )
    if adtte is not None:
        require(adtte, ["USUBJID", "PARAMCD", "CNSR", "ADT"], "ADTTE")
        events = adtte[(adtte["PARAMCD"] == paramcd) & (adtte["CNSR"] == 0)]
        description = (
            events["EVNTDESC"].astype(str).str.upper()
            if "EVNTDESC" in events.columns
            else pd.Series("", index=events.index)
        )
        frames.append(
            pd.DataFrame(
                {
                    "USUBJID": events["USUBJID"].to_numpy(),
                    "kind": np.where(description == "DEATH", "Death", "Progression"),
                    "day": _days_since(events["ADT"], events["USUBJID"].map(randomized)).to_numpy(
                        dtype=float
                    ),
                }
            )
        )
    if not frames:
        return pd.DataFrame({"USUBJID": [], "kind": [], "day": []})
    return pd.concat(frames, ignore_index=True)


def _legend(
    figure: Figure, arms: Sequence[Hashable], colours: dict[Hashable, str], kinds: set[str]
) -> None:
    """Arms, the kinds of mark present and the on-study arrow, above the plot."""
    handles: list[Patch | Line2D] = [Patch(color=colours[a], alpha=0.6, label=str(a)) for a in arms]
    handles += [
        Line2D([], [], linestyle="none", label=kind, **style)  # type: ignore[arg-type]
        for kind, style in _MARKERS.items()
        if kind in kinds
    ]
    handles.append(Line2D([], [], linestyle="none", marker=">", color="0.3", label="On study"))
    figure.legend(
        handles=handles,
        frameon=False,
        fontsize=SMALL_FONT_SIZE,
        loc="outside upper center",
        ncols=4,
    )


def swimmer_figure(
    adsl: pd.DataFrame,
    *,
    adex: pd.DataFrame | None = None,
    adtte: pd.DataFrame | None = None,
    arm: str = "TRT01P",
    arm_order: Sequence[Hashable] | None = None,
    cutoff: date | None = None,
    paramcd: str = "PFS",
    ikc: str = "IKC",
    tace: str = "TACE",
    time_unit: TimeUnit = "months",
    width_in: float = 7.0,
) -> SwimmerPlot:
    """Swimmer plot from ADSL (lanes), ADEX (infusions ``EXTRT = ikc``, TACE ``EXTRT = tace``)
    and ADTTE (the ``paramcd`` event); ``cutoff`` ends the lanes of patients still on study."""
    if time_unit not in DAYS_PER_UNIT:
        raise InputError("time_unit", f"{time_unit!r} is not one of {', '.join(DAYS_PER_UNIT)}")
    lanes = swimmer_lanes(adsl, arm=arm, arm_order=arm_order, cutoff=cutoff)
    marks = swimmer_marks(adsl, adex=adex, adtte=adtte, paramcd=paramcd, ikc=ikc, tace=tace)
    scale = DAYS_PER_UNIT[time_unit]
    arms = list(pd.unique(lanes["arm"]))
    colours = arm_colours(arm_levels(lanes["arm"], arm_order, f"ADSL.{arm}"))
    figure = new_figure(width_in, 1.2 + _LANE_HEIGHT_IN * max(len(lanes), 1))
    ax = figure.add_subplot()
    y = {subject: i for i, subject in enumerate(lanes["USUBJID"])}
    ax.barh(
        list(y.values()),
        lanes["days"] / scale,
        height=0.7,
        color=[colours[a] for a in lanes["arm"]],
        alpha=0.6,
        linewidth=0,
    )
    on_study = lanes[lanes["ongoing"]]
    ax.plot(
        on_study["days"] / scale + 0.15,
        [y[s] for s in on_study["USUBJID"]],
        linestyle="none",
        marker=">",
        color="0.3",
        markersize=4,
    )
    for kind, style in _MARKERS.items():
        mine = marks[(marks["kind"] == kind) & marks["USUBJID"].isin(y)]
        ax.plot(mine["day"] / scale, [y[s] for s in mine["USUBJID"]], linestyle="none", **style)  # type: ignore[arg-type]
    style_axes(ax)
    ax.set_yticks(list(y.values()), list(y), fontsize=5.5)
    ax.set_ylim(len(lanes) - 0.4, -0.6)
    ax.set_xlim(0.0, float(lanes["days"].max()) / scale * 1.05 + 0.3)
    ax.set_xlabel(f"Time since randomization ({time_unit})", fontsize=FONT_SIZE)
    ax.set_ylabel("Patient", fontsize=FONT_SIZE)
    _legend(figure, arms, colours, set(marks["kind"]))
    return SwimmerPlot(figure=figure, lanes=lanes, marks=marks)
