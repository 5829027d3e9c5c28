"""Power curves: simulated power (with 95 % Monte-Carlo bars) against one design parameter."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

TARGET_POWERS = (0.8, 0.9)


def power_curve_figure(
    table: pd.DataFrame,
    *,
    x: str = "hazard_ratio",
    by: str | None = None,
    title: str = "Simulated log-rank power",
) -> Figure:
    """One line per value of ``by`` (or one line), power on y, with the 80 % and 90 % targets.

    ``table`` needs the columns ``x``, ``power`` and ``mc_se`` (the grid's tidy table), and
    optionally ``schoenfeld_power`` (drawn dashed for comparison).
    """
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    axes = figure.add_subplot()
    groups = [(None, table)] if by is None else list(table.groupby(by, sort=True))
    for key, rows in groups:
        rows = rows.sort_values(x)
        label = "simulated" if key is None else f"{by} = {key!s}"
        line = axes.errorbar(
            rows[x], rows["power"], yerr=1.96 * rows["mc_se"], marker="o", capsize=3, label=label
        )
        if "schoenfeld_power" in rows and rows["schoenfeld_power"].notna().any():
            axes.plot(
                rows[x],
                rows["schoenfeld_power"],
                linestyle="--",
                color=line.lines[0].get_color(),
                alpha=0.6,
                label="Schoenfeld" if key is None else f"Schoenfeld, {by} = {key!s}",
            )
    for target in TARGET_POWERS:
        axes.axhline(target, color="grey", linewidth=0.8, linestyle=":")
    axes.set_xlabel(x.replace("_", " "))
    axes.set_ylabel("power")
    axes.set_ylim(0, 1)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return figure
