"""Template helpers: translated labels for codes (statuses, roles), looked up by key."""

from __future__ import annotations

from typing import Any

from django import template

from ikctrial.web.pages import labels
from ikctrial.web.sites.selectors import role_of

register = template.Library()


@register.filter
def label(code: Any, table: dict[Any, Any]) -> Any:
    """The label of ``code`` in ``table`` (the code itself when the table lacks it)."""
    return table.get(code, code)


@register.simple_tag
def role_label(user: Any) -> Any:
    """The user's study role in the active language ("" without a staff record)."""
    role = role_of(user)
    return "" if role is None else labels.ROLE.get(role, role)
