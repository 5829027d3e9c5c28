"""The time window of an audit listing or export: bounds in UTC, ``since <= timestamp < until``.

Django-free, so the CLI parses and checks its options before it sets Django up; the API and the
CLI share it, so both accept and refuse the same windows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ikctrial.errors import InputError


def utc_bound(moment: datetime | None, field: str) -> datetime | None:
    """A bound as an aware UTC datetime (a naive one is UTC already).

    Converting here, not in the database, matters: ISO 8601 admits offsets up to 23:59 and
    PostgreSQL only up to 15:59, so an aware bound is sent as UTC, or refused when the conversion
    leaves the calendar (year 1 with a positive offset).
    """
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InputError(field, f"{moment.isoformat()} is outside the calendar in UTC") from None


def window_bounds(
    since: datetime | None, until: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """Both bounds in UTC; ``until`` before ``since`` is an ``InputError``."""
    start, end = utc_bound(since, "since"), utc_bound(until, "until")
    if start is not None and end is not None and end < start:
        raise InputError("until", "must not be before since")
    return start, end
