"""Template helpers of the product pages: the role check for links, ISO times as datetimes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

from ikctrial.web.sites.selectors import may

register = template.Library()


@register.filter
def may_do(user: Any, action: str) -> bool:
    """Whether the signed-in user's role may perform ``action`` (to show a link or not)."""
    return bool(user.is_authenticated and may(user, action))


@register.filter
def moment(value: Any) -> Any:
    """An ISO 8601 string from a service document as a datetime (other values unchanged)."""
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


@register.filter
def hours(value: float | None) -> str:
    """A duration in hours as ``3 d 4.5 h`` style text (days once it passes 48 h)."""
    if value is None:
        return "—"
    if value >= 48:
        return f"{int(value // 24)} d {value % 24:.1f} h"
    return f"{value:.1f} h"
