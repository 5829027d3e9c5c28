"""Show times in the site's time zone: stored in UTC, rendered where the user works.

The zone is that of the first site (by code) the user sees, from the site record; without one
(a study-wide user with no site yet) ``IKCTRIAL_DEFAULT_TIMEZONE``, by default Asia/Taipei, where
the trial's sites are. A subject's page renders in the subject's own site zone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from ikctrial.web.sites.selectors import sites_for_user

DEFAULT_TIMEZONE = "Asia/Taipei"


def default_timezone() -> ZoneInfo:
    """The zone used when the user has no site."""
    return ZoneInfo(os.environ.get("IKCTRIAL_DEFAULT_TIMEZONE") or DEFAULT_TIMEZONE)


class SiteTimezoneMiddleware:
    """Activate the signed-in user's site time zone for the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = default_timezone()
        if request.user.is_authenticated:
            site = sites_for_user(request.user).order_by("code").first()
            if site is not None:
                zone = ZoneInfo(site.timezone)
        with timezone.override(zone):
            return self.get_response(request)
