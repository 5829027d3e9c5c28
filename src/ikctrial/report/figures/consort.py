"""CONSORT 2010 flow diagram of a two-arm (or k-arm) randomized trial, drawn from counts:
enrollment (assessed, excluded with reasons, randomized), then per arm allocation (received or not,
with reasons), follow-up (lost, discontinued with reasons) and analysis (analysed, excluded with
reasons). The counts are checked to add up before anything is drawn."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ikctrial.errors import InputError
from ikctrial.report.figures.style import BLACK, FONT_SIZE, SKY_BLUE, new_figure

_LINE_IN = 0.185  # height of one text line at FONT_SIZE, inches
_PAD_IN = 0.12
_GAP_IN = 0.35  # vertical space between boxes (room for an arrow)
_HEADER_IN = 0.28
_WIDTH_IN = 7.5
_CHAR_IN = FONT_SIZE * 0.52 / 72  # mean character width of the sans-serif font, inches
_NBSP = "\u00a0"  # keeps "(n = 3)" on one line when a reason wraps


def _count(name: str, value: int) -> int:
    if value < 0:
        raise InputError(name, f"{value} is negative")
    return value


def _reasons(name: str, reasons: Mapping[str, int]) -> int:
    return sum(_count(f"{name}.{reason}", n) for reason, n in reasons.items())


@dataclass(frozen=True)
class ArmFlow:
    """One arm's flow: allocated = received + not received; analysed + excluded = allocated."""

    arm: str
    allocated: int
    received: int
    analysed: int
    not_received: Mapping[str, int] = field(default_factory=dict)
    lost_to_follow_up: int = 0
    discontinued: Mapping[str, int] = field(default_factory=dict)
    excluded_from_analysis: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check that the arm's counts add up (an InputError names the first that does not)."""
        name = f"arms.{self.arm}"
        for label in ("allocated", "received", "analysed", "lost_to_follow_up"):
            _count(f"{name}.{label}", getattr(self, label))
        not_received = _reasons(f"{name}.not_received", self.not_received)
        if self.received + not_received != self.allocated:
            raise InputError(
                f"{name}.received",
                f"{self.received} received + {not_received} not received != "
                f"{self.allocated} allocated",
            )
        excluded = _reasons(f"{name}.excluded_from_analysis", self.excluded_from_analysis)
        if self.analysed + excluded != self.allocated:
            raise InputError(
                f"{name}.analysed",
                f"{self.analysed} analysed + {excluded} excluded != {self.allocated} allocated",
            )
        _reasons(f"{name}.discontinued", self.discontinued)


@dataclass(frozen=True)
class ConsortCounts:
    """Enrollment counts and the arms' flows: screened = excluded + sum of allocated."""

    screened: int
    excluded: Mapping[str, int]
    arms: tuple[ArmFlow, ...]

    def __post_init__(self) -> None:
        """Check that enrollment adds up."""
        _count("screened", self.screened)
        if not self.arms:
            raise InputError("arms", "name at least one arm")
        excluded = _reasons("excluded", self.excluded)
        if excluded + self.randomized != self.screened:
            raise InputError(
                "screened",
                f"{excluded} excluded + {self.randomized} randomized != {self.screened} assessed",
            )

    @property
    def randomized(self) -> int:
        """Patients randomized: the sum of the arms' allocations."""
        return sum(arm.allocated for arm in self.arms)


def _with_reasons(title: str, reasons: Mapping[str, int], width_chars: int) -> list[str]:
    """A count line followed by one indented line per reason (wrapped to the box)."""
    lines = [title]
    for reason, n in reasons.items():
        lines += textwrap.wrap(
            f"{reason} (n{_NBSP}={_NBSP}{n})",
            width=width_chars,
            initial_indent="   – ",
            subsequent_indent="     ",
        )
    return lines


class _Canvas:
    """Boxes and arrows in inch coordinates, y growing downwards from the top of the figure."""

    def __init__(self, ax: Axes) -> None:
        self.ax = ax

    def box(
        self, x_left: float, y_top: float, width: float, lines: list[str], *, centred: bool = False
    ) -> float:
        """Draw a box around ``lines``; return its height."""
        height = len(lines) * _LINE_IN + 2 * _PAD_IN
        self.ax.add_patch(
            FancyBboxPatch(
                (x_left, y_top),
                width,
                height,
                boxstyle="round,pad=0,rounding_size=0.05",
                facecolor="white",
                edgecolor=BLACK,
                linewidth=0.9,
            )
        )
        x_text = x_left + width / 2 if centred else x_left + _PAD_IN
        self.ax.text(
            x_text,
            y_top + _PAD_IN,
            "\n".join(lines),
            ha="center" if centred else "left",
            va="top",
            fontsize=FONT_SIZE,
            linespacing=1.45,
        )
        return height

    def header(self, y_top: float, label: str) -> None:
        """A stage band (Enrollment, Allocation, Follow-up, Analysis) across the width."""
        self.ax.add_patch(
            FancyBboxPatch(
                (0.05, y_top),
                _WIDTH_IN - 0.1,
                _HEADER_IN - 0.06,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=SKY_BLUE,
                alpha=0.35,
                linewidth=0,
            )
        )
        self.ax.text(
            _WIDTH_IN / 2,
            y_top + (_HEADER_IN - 0.06) / 2,
            label,
            ha="center",
            va="center",
            fontsize=FONT_SIZE,
            fontweight="bold",
        )

    def arrow(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        self.ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>",
                mutation_scale=10,
                color=BLACK,
                linewidth=0.9,
                shrinkA=0,
                shrinkB=0,
            )
        )

    def line(self, xs: list[float], ys: list[float]) -> None:
        self.ax.plot(xs, ys, color=BLACK, linewidth=0.9)


def _arm_boxes(arm: ArmFlow, width_chars: int) -> tuple[list[str], list[str], list[str]]:
    """The allocation, follow-up and analysis texts of one arm."""
    not_received = sum(arm.not_received.values())
    allocation = [
        f"Allocated to {arm.arm} (n = {arm.allocated})",
        f" • Received allocated intervention (n = {arm.received})",
        *_with_reasons(
            f" • Did not receive allocated intervention (n = {not_received})",
            arm.not_received,
            width_chars,
        ),
    ]
    follow_up = [
        f"Lost to follow-up (n = {arm.lost_to_follow_up})",
        *_with_reasons(
            f"Discontinued intervention (n = {sum(arm.discontinued.values())})",
            arm.discontinued,
            width_chars,
        ),
    ]
    analysis = [
        f"Analysed (n = {arm.analysed})",
        *_with_reasons(
            f" • Excluded from analysis (n = {sum(arm.excluded_from_analysis.values())})",
            arm.excluded_from_analysis,
            width_chars,
        ),
    ]
    return allocation, follow_up, analysis


def consort_figure(counts: ConsortCounts) -> Figure:
    """The CONSORT flow diagram of ``counts``, 7.5 inches wide, as tall as its text needs."""
    k = len(counts.arms)
    column = _WIDTH_IN / k
    arm_width = column - 0.3
    arm_chars = int(arm_width / _CHAR_IN)
    main_width = 2.6
    middle = 0.42 * _WIDTH_IN  # left of centre, leaving room for the exclusions on the right
    main_left = middle - main_width / 2
    side_left = main_left + main_width + 0.3
    side_width = _WIDTH_IN - side_left - 0.1
    excluded_lines = _with_reasons(
        f"Excluded (n = {sum(counts.excluded.values())})",
        counts.excluded,
        int(side_width / _CHAR_IN) - 6,
    )
    per_arm = [_arm_boxes(arm, arm_chars - 6) for arm in counts.arms]
    stage_heights = [
        max(len(boxes[stage]) for boxes in per_arm) * _LINE_IN + 2 * _PAD_IN for stage in range(3)
    ]
    excluded_height = len(excluded_lines) * _LINE_IN + 2 * _PAD_IN
    main_height = _LINE_IN + 2 * _PAD_IN
    total = (
        _HEADER_IN
        + 0.1
        + main_height
        + max(excluded_height, 0.2)
        + 2 * _GAP_IN
        + main_height
        + 3 * (_HEADER_IN + _GAP_IN)
        + sum(stage_heights)
        + 0.2
    )
    figure = new_figure(_WIDTH_IN, total, constrained=False)
    ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, _WIDTH_IN)
    ax.set_ylim(total, 0.0)
    ax.set_axis_off()
    canvas = _Canvas(ax)

    y = 0.05
    canvas.header(y, "Enrollment")
    y += _HEADER_IN + 0.1
    canvas.box(
        main_left,
        y,
        main_width,
        [f"Assessed for eligibility (n = {counts.screened})"],
        centred=True,
    )
    screened_bottom = y + main_height
    excluded_top = screened_bottom + _GAP_IN
    canvas.box(side_left, excluded_top, side_width, excluded_lines)
    randomized_top = excluded_top + excluded_height + _GAP_IN
    canvas.arrow((middle, screened_bottom), (middle, randomized_top))
    canvas.arrow(
        (middle, excluded_top + excluded_height / 2),
        (side_left, excluded_top + excluded_height / 2),
    )
    canvas.box(
        main_left,
        randomized_top,
        main_width,
        [f"Randomized (n = {counts.randomized})"],
        centred=True,
    )
    y = randomized_top + main_height

    centres = [column * (i + 0.5) for i in range(k)]
    branch_y = y + _GAP_IN / 2
    canvas.line([middle, middle], [y, branch_y])
    canvas.line([min(centres), max(centres)], [branch_y, branch_y])
    bottoms: list[float] = []
    for stage, (label, height) in enumerate(
        zip(("Allocation", "Follow-up", "Analysis"), stage_heights, strict=True)
    ):
        header_top = (branch_y + 0.05) if stage == 0 else y + _GAP_IN / 2 - _HEADER_IN / 2
        canvas.header(header_top, label)
        top = header_top + _HEADER_IN + _GAP_IN / 2
        for i, boxes in enumerate(per_arm):
            start_y = branch_y if stage == 0 else bottoms[i]
            canvas.arrow((centres[i], start_y), (centres[i], top))
            left = centres[i] - arm_width / 2
            canvas.box(left, top, arm_width, boxes[stage])
        bottoms = [top + len(boxes[stage]) * _LINE_IN + 2 * _PAD_IN for boxes in per_arm]
        y = top + height
    return figure
