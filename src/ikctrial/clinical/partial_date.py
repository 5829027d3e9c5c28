"""Dates that may be known only to the year or the month (domain.md 5.2).

Birth dates and therapy or trial end dates may be partial ("2005", "2005-06"); a partial date
stands for every day it could be, and rules use its earliest and latest possible day.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from ikctrial.errors import InputError

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def _date_text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InputError(field, f"{value!r} is not a date string")
    return value


def parse_iso_date(value: object, field: str) -> date:
    """A full ISO 8601 calendar date ``YYYY-MM-DD``."""
    text = _date_text(value, field)
    if not _ISO_DATE.match(text):
        raise InputError(field, f"{text!r} is not a date YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(field, f"{text!r} is not a valid date ({exc})") from None


@dataclass(frozen=True)
class PartialDate:
    """The interval of days a possibly partial date stands for (one day when complete)."""

    earliest: date
    latest: date

    @property
    def is_complete(self) -> bool:
        """True when the day is known."""
        return self.earliest == self.latest

    def __str__(self) -> str:
        if self.is_complete:
            return self.earliest.isoformat()
        if self.earliest.month == self.latest.month:
            return self.earliest.strftime("%Y-%m")
        return str(self.earliest.year)


def parse_partial_date(value: object, field: str) -> PartialDate:
    """``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` as the interval of days it may be."""
    text = _date_text(value, field)
    match = _PARTIAL_DATE.match(text)
    if match is None:
        day = parse_iso_date(text, field)
        return PartialDate(day, day)
    year = int(match.group(1))
    if match.group(2) is None:
        return PartialDate(date(year, 1, 1), date(year, 12, 31))
    month = int(match.group(2))
    if not 1 <= month <= 12:
        raise InputError(field, f"{text!r} has no month {month}")
    return PartialDate(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))
