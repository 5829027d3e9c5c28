"""Forest plot of the treatment hazard ratio overall and within subgroups (e.g. BCLC stage,
Child-Pugh class, sex, age group), with events/patients per arm and the HR (95% CI) printed beside
each row.

Each hazard ratio is the engine's Cox model (``report.hazard_ratio``) fitted on the subgroup's
records; a subgroup without events, or with events in one arm only, has no finite estimate and is
printed "NE" with the reason instead of a point. With 60 patients the subgroup intervals are wide:
the plot is descriptive (no interaction p-values are drawn).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import FixedLocator, NullLocator

from ikctrial.errors import InputError
from ikctrial.report.figures.style import (
    BLACK,
    BLUE,
    FONT_SIZE,
    GREY,
    SMALL_FONT_SIZE,
    new_figure,
    require,
)
from ikctrial.report.hazard_ratio import arm_hazard_ratio
from ikctrial.stats.cox import Ties

ALL_PATIENTS = "All patients"
_NICE_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
_ROW_HEIGHT_IN = 0.27


@dataclass(frozen=True)
class ForestPlot:
    """The figure and its table (one row per drawn line, see ``subgroup_hazard_ratios``)."""

    figure: Figure
    table: pd.DataFrame


def _levels(values: pd.Series) -> list[Hashable]:
    """Subgroup levels in their categorical order when the column is ordered, otherwise sorted."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [c for c in values.cat.categories if (values == c).any()]
    return sorted(pd.unique(values.dropna()), key=str)


def subgroup_hazard_ratios(
    adtte: pd.DataFrame,
    *,
    subgroups: Mapping[str, str],
    experimental: Hashable,
    reference: Hashable,
    adsl: pd.DataFrame | None = None,
    paramcd: str | None = "PFS",
    arm: str = "TRT01P",
    time: str = "AVAL",
    censor: str = "CNSR",
    ties: Ties = "efron",
    level: float = 0.95,
) -> pd.DataFrame:
    """Hazard ratio of ``experimental`` vs ``reference`` overall and per level of each subgroup
    column (``subgroups`` maps column -> label), taken from ADTTE or, when given, from ADSL by
    ``USUBJID``. Patients with a missing subgroup value are left out of that subgroup's rows.

    Columns: subgroup, level, n, n_experimental, events_experimental, n_reference,
    events_reference, hazard_ratio, lower, upper, p, not_estimable (the reason, or None).
    """
    rows = adtte
    if paramcd is not None:
        require(adtte, ["PARAMCD"], "ADTTE")
        rows = adtte[adtte["PARAMCD"] == paramcd]
        if rows.empty:
            raise InputError("ADTTE.PARAMCD", f"no records of {paramcd!r}")
    require(rows, [arm, time, censor], "ADTTE")
    if adsl is not None:
        require(rows, ["USUBJID"], "ADTTE")
        require(adsl, ["USUBJID", *subgroups], "ADSL")
        if adsl["USUBJID"].duplicated().any():
            raise InputError("ADSL.USUBJID", "has duplicate subjects")
        rows = rows.drop(columns=[c for c in subgroups if c in rows.columns]).merge(
            adsl[["USUBJID", *subgroups]], on="USUBJID", how="left"
        )
    require(rows, list(subgroups), "ADTTE" if adsl is None else "ADSL")

    def row(label: str, level_name: str, subset: pd.DataFrame) -> dict[str, object]:
        fit = arm_hazard_ratio(
            subset,
            arm=arm,
            experimental=experimental,
            reference=reference,
            time=time,
            censor=censor,
            ties=ties,
            level=level,
        )
        return {
            "subgroup": label,
            "level": level_name,
            "n": fit.n[experimental] + fit.n[reference],
            "n_experimental": fit.n[experimental],
            "events_experimental": fit.events[experimental],
            "n_reference": fit.n[reference],
            "events_reference": fit.events[reference],
            "hazard_ratio": fit.hazard_ratio,
            "lower": fit.lower,
            "upper": fit.upper,
            "p": fit.p,
            "not_estimable": fit.not_estimable,
        }

    records = [row(ALL_PATIENTS, "", rows)]
    for column, label in subgroups.items():
        for value in _levels(rows[column]):
            records.append(row(label, str(value), rows[rows[column] == value]))
    return pd.DataFrame(records)


def _axis_limits(table: pd.DataFrame) -> tuple[float, float]:
    """Log-axis limits covering the estimable intervals (and 1), kept within 0.01 to 100."""
    finite = table.loc[table["not_estimable"].isna(), ["lower", "upper"]].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    low = min(float(finite.min()) if finite.size else 1.0, 1.0) / 1.25
    high = max(float(finite.max()) if finite.size else 1.0, 1.0) * 1.25
    return max(low, 0.01), min(high, 100.0)


def _draw_intervals(
    ax: Axes, table: pd.DataFrame, y: np.ndarray, limits: tuple[float, float]
) -> None:
    """Squares sized by events with their CI lines (arrows where clipped), the overall diamond."""
    low, high = limits
    events = (table["events_experimental"] + table["events_reference"]).to_numpy(dtype=float)
    biggest = max(float(events[1:].max()) if len(events) > 1 else 1.0, 1.0)
    estimable = table["not_estimable"].isna().to_numpy()
    hazard = table["hazard_ratio"].to_numpy(dtype=float)
    lower = table["lower"].to_numpy(dtype=float)
    upper = table["upper"].to_numpy(dtype=float)
    shown_lower, shown_upper = np.maximum(lower, low), np.minimum(upper, high)
    for i in np.flatnonzero(estimable):
        if i == 0:
            diamond = [
                (shown_lower[i], y[i]),
                (hazard[i], y[i] + 0.3),
                (shown_upper[i], y[i]),
                (hazard[i], y[i] - 0.3),
            ]
            ax.add_patch(Polygon(diamond, closed=True, facecolor=BLACK, edgecolor=BLACK))
            continue
        ax.plot([shown_lower[i], shown_upper[i]], [y[i], y[i]], color=BLUE, linewidth=1.2)
        if lower[i] < low:
            ax.plot([low], [y[i]], marker="<", color=BLUE, markersize=4)
        if upper[i] > high:
            ax.plot([high], [y[i]], marker=">", color=BLUE, markersize=4)
        size = 4.0 + 8.0 * np.sqrt(events[i] / biggest)
        ax.plot([hazard[i]], [y[i]], marker="s", color=BLUE, markersize=size)


def forest_figure(
    adtte: pd.DataFrame,
    *,
    subgroups: Mapping[str, str],
    experimental: Hashable,
    reference: Hashable,
    adsl: pd.DataFrame | None = None,
    paramcd: str | None = "PFS",
    arm: str = "TRT01P",
    time: str = "AVAL",
    censor: str = "CNSR",
    ties: Ties = "efron",
    level: float = 0.95,
    width_in: float = 8.0,
) -> ForestPlot:
    """Forest plot of the hazard ratio of ``experimental`` vs ``reference`` overall and by
    subgroup (see ``subgroup_hazard_ratios`` for the arguments)."""
    table = subgroup_hazard_ratios(
        adtte,
        subgroups=subgroups,
        experimental=experimental,
        reference=reference,
        adsl=adsl,
        paramcd=paramcd,
        arm=arm,
        time=time,
        censor=censor,
        ties=ties,
        level=level,
    )
    # Layout rows: the overall row, then per subgroup a header line and one line per level.
    labels: list[tuple[str, bool]] = [(ALL_PATIENTS, True)]
    y_of_row: list[float] = [0.0]
    line = 0
    previous = ALL_PATIENTS
    for record in table.iloc[1:].itertuples(index=False):
        if record.subgroup != previous:
            line += 1
            labels.append((str(record.subgroup), True))
            previous = str(record.subgroup)
        line += 1
        labels.append((f"   {record.level}", False))
        y_of_row.append(float(line))
    n_lines = line + 1
    y = np.asarray(y_of_row)

    figure = new_figure(width_in, 1.3 + _ROW_HEIGHT_IN * n_lines)
    grid = figure.add_gridspec(1, 3, width_ratios=[2.6, 2.2, 1.4], wspace=0.0)
    text_ax = figure.add_subplot(grid[0])
    ax = figure.add_subplot(grid[1], sharey=text_ax)
    value_ax = figure.add_subplot(grid[2], sharey=text_ax)
    percent = f"{100 * level:g}%"

    header_y = -1.2
    text_ax.text(0.0, header_y, "Subgroup", fontsize=FONT_SIZE, fontweight="bold", va="center")
    text_ax.text(
        0.60,
        header_y,
        f"{experimental}\nevents/n",
        fontsize=SMALL_FONT_SIZE,
        fontweight="bold",
        ha="center",
        va="center",
    )
    text_ax.text(
        0.86,
        header_y,
        f"{reference}\nevents/n",
        fontsize=SMALL_FONT_SIZE,
        fontweight="bold",
        ha="center",
        va="center",
    )
    value_ax.text(
        0.05, header_y, f"HR ({percent} CI)", fontsize=FONT_SIZE, fontweight="bold", va="center"
    )
    label_lines = [i for i, _ in enumerate(labels)]
    for position, (label, bold) in zip(label_lines, labels, strict=True):
        text_ax.text(
            0.0,
            position,
            label,
            fontsize=FONT_SIZE,
            va="center",
            fontweight="bold" if bold else "normal",
        )
    for i, record in enumerate(table.itertuples(index=False)):
        text_ax.text(
            0.60,
            y[i],
            f"{record.events_experimental}/{record.n_experimental}",
            fontsize=FONT_SIZE,
            ha="center",
            va="center",
        )
        text_ax.text(
            0.86,
            y[i],
            f"{record.events_reference}/{record.n_reference}",
            fontsize=FONT_SIZE,
            ha="center",
            va="center",
        )
        if record.not_estimable is None:
            shown = f"{record.hazard_ratio:.2f} ({record.lower:.2f}–{record.upper:.2f})"
            colour = BLACK
        else:
            shown = f"NE ({record.not_estimable!s})"
            colour = GREY
        value_ax.text(0.05, y[i], shown, fontsize=FONT_SIZE, va="center", color=colour)

    limits = _axis_limits(table)
    ax.set_xscale("log")
    ax.set_xlim(*limits)
    span = [-0.6, n_lines - 0.5]
    ax.plot([1.0, 1.0], span, color=BLACK, linewidth=0.8)
    overall = table.iloc[0]
    if overall["not_estimable"] is None:
        hazard = float(overall["hazard_ratio"])
        ax.plot([hazard, hazard], span, color=GREY, linewidth=0.8, linestyle="--")
    _draw_intervals(ax, table, y, limits)
    ticks = [t for t in _NICE_TICKS if limits[0] <= t <= limits[1]]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:g}" for t in ticks], fontsize=FONT_SIZE)
    ax.set_xlabel(
        f"Hazard ratio ({percent} CI)\n← favours {experimental}    favours {reference} →",
        fontsize=FONT_SIZE,
    )
    ax.set_ylim(n_lines - 0.4, -1.8)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", left=False, labelleft=False)
    for panel in (text_ax, value_ax):
        panel.set_xlim(0.0, 1.0)
        panel.set_axis_off()
    return ForestPlot(figure=figure, table=table)
