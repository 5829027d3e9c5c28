"""Every error under ``/api/`` is JSON ``{"detail": ...}`` (interfaces.md, REST API).

The API's own handlers already answer so; this covers what Django and django-ninja answer before
any handler runs: a path that names no endpoint (404), a method the path does not take (405), and
an unexpected server error (500), which would otherwise be HTML pages.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponseBadRequest, HttpResponseBase, JsonResponse

from ikctrial.errors import InputError
from ikctrial.web.validation import reject_nul

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


class RefuseNulParametersMiddleware:
    """Refuse a query string holding a NUL character before any view filters by it.

    PostgreSQL cannot compare text with NUL bytes (it raises instead of finding nothing), so a
    filter such as ``/api/v1/queries?form=%00`` would be a server error; here it is a 422 naming
    the parameter (JSON under ``/api/``), or a 400 for a page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Answer the refusal, or pass the request on."""
        try:
            for key, values in request.GET.lists():
                reject_nul(key, "query string")
                for value in values:
                    reject_nul(value, key)
        except InputError as exc:
            if request.path.startswith(API_PREFIX):
                return JsonResponse({"detail": str(exc)}, status=422)
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
        return self.get_response(request)
