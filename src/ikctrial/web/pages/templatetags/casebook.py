"""Template helpers of the casebook: the subject page's casebook section, stored numbers."""

from __future__ import annotations

from typing import Any

from django import template

from ikctrial.web.pages.casebook import casebook_summary
from ikctrial.web.pages.crf_forms import display_value

register = template.Library()


@register.inclusion_tag("pages/crf/_casebook.html", takes_context=True)
def casebook_section(context: template.Context) -> dict[str, Any]:
    """The subject's visit schedule and case report forms, as far as the user's role sees them."""
    summary = casebook_summary(context["request"].user, context["subject"])
    return summary | {"schedule": context.get("schedule"), "doc": context["doc"]}


@register.filter
def plain(value: Any) -> Any:
    """A stored decimal without its trailing zeros (``1.4000`` -> ``1.4``)."""
    return display_value(value)
