"""Service outcomes that are not bad input, each with its HTTP meaning (the API maps them).

Bad input is ``ikctrial.errors.InputError`` (422). These say the request was well formed but cannot
be done: the record is not visible to the user (404), the role may not do it (403), or the state of
the trial forbids it now (409).
"""

from __future__ import annotations


class NotFoundError(LookupError):
    """No such record among those the user may see (another site's subject included)."""

    status_code = 404


class ForbiddenError(PermissionError):
    """The user's role may not perform this action."""

    status_code = 403


class ConflictError(RuntimeError):
    """The trial's current state forbids the action (already randomized, list exists...)."""

    status_code = 409


ServiceError = NotFoundError | ForbiddenError | ConflictError
