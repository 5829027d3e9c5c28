"""Every error under ``/api/`` is JSON ``{"detail": ...}`` (interfaces.md, REST API).

The API's own handlers already answer so; this covers what Django and django-ninja answer before
any handler runs: a path that names no endpoint (404), a method the path does not take (405), and
an unexpected server error (500), which would otherwise be HTML pages.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponseBase, JsonResponse

API_PREFIX = "/api/"
_KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


def _detail(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


class ApiJsonErrorsMiddleware:
    """Turn a non-JSON error response of an ``/api/`` path into ``{"detail": ...}``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Pass the response on, rewritten when it is an error that is not JSON."""
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith(API_PREFIX)
            or response.streaming
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        detail = _detail(response.status_code)
        if response.status_code == 405 and response.has_header("Allow"):
            detail = f"{detail}: this path takes {response['Allow']}"
        rewritten = JsonResponse({"detail": detail}, status=response.status_code)
        for header in _KEPT_HEADERS:
            if response.has_header(header):
                rewritten[header] = response[header]
        return rewritten
