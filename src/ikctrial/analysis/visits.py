"""Analysis visits of the immune panel (domain.md 7.4, time points of 1.3): which planned visit a
sample's study day falls in, and which sample of a visit is the one analysed.

Study days count from randomization (RANDDT = day 0), as the protocol's ``immune_panel_days``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class VisitWindow:
    """One planned visit: its study day and the +/- window (both ends included)."""

    day: int
    window_days: int

    @property
    def label(self) -> str:
        """AVISIT: ``WEEK n`` when the planned day is a whole number of weeks, else ``DAY d``."""
        return f"WEEK {self.day // 7}" if self.day % 7 == 0 else f"DAY {self.day}"

    def distance(self, study_day: int) -> int:
        """Days between a study day and the planned day."""
        return abs(study_day - self.day)


def study_day(date: dt.date, randomized_on: dt.date) -> int:
    """Days since randomization (RANDDT = day 0)."""
    return (date - randomized_on).days


def analysis_visit(study_day: int, windows: Sequence[VisitWindow]) -> VisitWindow | None:
    """The visit whose window holds the study day (None outside every window); where windows
    overlap, the nearest planned day, the earlier on a tie."""
    inside = [w for w in windows if w.distance(study_day) <= w.window_days]
    return min(inside, key=lambda w: (w.distance(study_day), w.day), default=None)


def analysed_sample(study_days: Sequence[int], planned_day: int) -> int:
    """The position of the sample analysed at a visit (ANL01FL): the study day closest to the
    planned day, the earlier on a tie (the first listed if the same day repeats)."""
    return min(
        range(len(study_days)),
        key=lambda i: (abs(study_days[i] - planned_day), study_days[i]),
    )
