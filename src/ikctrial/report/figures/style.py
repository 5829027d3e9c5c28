"""Shared look of the report figures: a colour-blind-safe palette, font sizes, and the helpers
that check ADaM columns and build a figure without touching matplotlib's global state.

The palette is Okabe and Ito's (2008), distinguishable under the common colour-vision deficiencies;
arms also differ by line style or marker so figures survive greyscale printing.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ikctrial.errors import InputError

# Okabe-Ito colours, in the order arms and categories take them.
BLUE = "#0072B2"
VERMILLION = "#D55E00"
BLUISH_GREEN = "#009E73"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
REDDISH_PURPLE = "#CC79A7"
YELLOW = "#F0E442"
BLACK = "#000000"
GREY = "#999999"
PALETTE = (BLUE, VERMILLION, BLUISH_GREEN, ORANGE, SKY_BLUE, REDDISH_PURPLE, YELLOW, BLACK)
LINE_STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P")

# Best overall response categories (RECIST 1.1 / mRECIST) and their colours.
RESPONSE_COLOURS: dict[Hashable, str] = {
    "CR": BLUISH_GREEN,
    "PR": SKY_BLUE,
    "SD": ORANGE,
    "NON-CR/NON-PD": YELLOW,
    "PD": VERMILLION,
    "NE": GREY,
}

# Font sizes in points, readable at a journal's full-page width (about 7 inches).
FONT_SIZE = 9.0
SMALL_FONT_SIZE = 8.0
TITLE_FONT_SIZE = 10.0

# Days per month and per week, for axes shown in months or weeks (365.25 / 12).
DAYS_PER_MONTH = 30.4375
DAYS_PER_WEEK = 7.0


def new_figure(width_in: float, height_in: float, *, constrained: bool = True) -> Figure:
    """A figure of the given size in inches, laid out by matplotlib's constrained layout."""
    return Figure(figsize=(width_in, height_in), layout="constrained" if constrained else None)


def arm_colours(arms: Sequence[Hashable]) -> dict[Hashable, str]:
    """One palette colour per arm, in the order given."""
    return {arm: PALETTE[i % len(PALETTE)] for i, arm in enumerate(arms)}


def require(data: pd.DataFrame, columns: Sequence[str], dataset: str) -> None:
    """Raise an InputError naming the first column ``dataset`` lacks."""
    for name in columns:
        if name not in data.columns:
            raise InputError(f"{dataset}.{name}", "missing column")


def arm_levels(values: pd.Series, order: Sequence[Hashable] | None, column: str) -> list[Hashable]:
    """Arms in display order: ``order`` when given (every arm in the data must be in it), otherwise
    the sorted distinct values."""
    present = list(pd.unique(values.dropna()))
    if order is None:
        return sorted(present, key=str)
    unknown = [a for a in present if a not in order]
    if unknown:
        raise InputError(column, f"{unknown[0]!r} is not one of the arms {list(order)!r}")
    return list(order)


def style_axes(ax: Axes) -> None:
    """Journal look: no top and right spines, readable tick labels."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.tick_params(labelsize=FONT_SIZE)
