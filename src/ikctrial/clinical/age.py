"""Age in completed years, also from a partial birth date (domain.md 5.2)."""

from __future__ import annotations

from datetime import date

from ikctrial.clinical.partial_date import PartialDate


def age_in_completed_years(birth: date, on: date) -> int:
    """Completed years on ``on``; someone born on 29 February turns a year older on 1 March."""
    return on.year - birth.year - (1 if (on.month, on.day) < (birth.month, birth.day) else 0)


def age_range(birth: PartialDate, on: date) -> tuple[int, int]:
    """(minimum, maximum) possible age on ``on`` over every day the birth date may be.

    Days after ``on`` are not possible birth days and are left out; the caller rejects a birth
    date that lies wholly after ``on``.
    """
    latest = min(birth.latest, on)
    return age_in_completed_years(latest, on), age_in_completed_years(birth.earliest, on)
