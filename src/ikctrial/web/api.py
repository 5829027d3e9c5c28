"""The REST API (django-ninja) under ``/api/v1/``: token auth, one router per app, JSON errors.

Routers are added here (``api.add_router``). Errors are ``{"detail": ...}``: bad input 422, not
visible 404, role not allowed 403, state conflict 409, missing/invalid token 401.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import HttpBearer

from ikctrial.errors import InputError
from ikctrial.web.audit.api import router as audit_router
from ikctrial.web.consent.api import router as consent_router
from ikctrial.web.crf.api import router as crf_router
from ikctrial.web.errors import ConflictError, ForbiddenError, NotFoundError
from ikctrial.web.exports.api import router as exports_router
from ikctrial.web.product.api import router as product_router
from ikctrial.web.queries.api import router as queries_router
from ikctrial.web.randomization.api import router as randomization_router
from ikctrial.web.signatures.api import router as signatures_router
from ikctrial.web.sites.api import router as sites_router
from ikctrial.web.sites.selectors import staff_for_token
from ikctrial.web.subjects.api import router as subjects_router


class BearerToken(HttpBearer):
    """``Authorization: Bearer TOKEN``: the request acts as the token's user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        """The token's user, or None (401)."""
        staff = staff_for_token(token)
        if staff is None:
            return None
        request.user = staff.user
        return staff.user


api = NinjaAPI(
    title="ikctrial EDC",
    version="1",
    description="Screening, consent and concealed randomization for NCT03592706 (IVY02).",
    auth=BearerToken(),
    urls_namespace="api-v1",
)


def _error(request: HttpRequest, status: int, detail: str) -> HttpResponse:
    return api.create_response(request, {"detail": detail}, status=status)


@api.exception_handler(InputError)
def _bad_input(request: HttpRequest, exc: InputError) -> HttpResponse:
    return _error(request, 422, str(exc))


@api.exception_handler(NotFoundError)
def _not_found(request: HttpRequest, exc: NotFoundError) -> HttpResponse:
    return _error(request, 404, str(exc))


@api.exception_handler(ForbiddenError)
def _forbidden(request: HttpRequest, exc: ForbiddenError) -> HttpResponse:
    return _error(request, 403, str(exc))


@api.exception_handler(ConflictError)
def _conflict(request: HttpRequest, exc: ConflictError) -> HttpResponse:
    return _error(request, 409, str(exc))


api.add_router("/", sites_router)
api.add_router("/", subjects_router)
api.add_router("/", consent_router)
api.add_router("/", randomization_router)
api.add_router("/audit", audit_router)
api.add_router("/", crf_router)
api.add_router("/", queries_router)
api.add_router("/", signatures_router)
api.add_router("/", product_router)
api.add_router("/", exports_router)
