"""Posting a page form: validate it, call one service, show a refusal on the form, or succeed.

Every page that changes trial data answers the same way, so it is written once here: bad input
re-renders the form with the field's error (422), a refusal by the trial's state (frozen, locked,
duplicate) re-renders it with the reason above the form (409), a signing page may show a wrong
password on the form (403); in each case nothing is stored. On success the page says so and
redirects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from ikctrial.errors import InputError
from ikctrial.web.errors import ConflictError, ForbiddenError

T = TypeVar("T")
InputRefusal = Callable[[Any, InputError], None]
"""Puts a service's ``InputError`` on the form (on the field it names, or above the form)."""
ForbiddenRefusal = Callable[[Any, ForbiddenError], None]
"""Puts a signing refusal (wrong password) on the form; without one a 403 is the page's."""


def field_error(form: forms.Form, exc: InputError) -> None:
    """The problem on the field the service names when the form has it, else above the form."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.problem)


def attempt(
    form: forms.Form,
    call: Callable[[], T],
    *,
    on_input: InputRefusal = field_error,
    on_forbidden: ForbiddenRefusal | None = None,
) -> tuple[T | None, int | None]:
    """Run a service call: ``(result, None)``, or ``(None, status)`` with the reason on the form.

    A ``ForbiddenError`` is the form's (403) only with ``on_forbidden``; otherwise it propagates
    to the page decorator, which answers 403.
    """
    try:
        return call(), None
    except InputError as exc:
        on_input(form, exc)
        return None, 422
    except ConflictError as exc:
        form.add_error(None, str(exc))
        return None, 409
    except ForbiddenError as exc:
        if on_forbidden is None:
            raise
        on_forbidden(form, exc)
        return None, 403


def post_form(
    form: forms.Form,
    *,
    call: Callable[[], T],
    render_form: Callable[[int], HttpResponse],
    done: Callable[[T], HttpResponse],
    on_input: InputRefusal = field_error,
    on_forbidden: ForbiddenRefusal | None = None,
) -> HttpResponse:
    """Validate a posted form, run ``call`` and answer ``done(result)``, or re-render the form.

    ``render_form(status)`` shows the form with its errors: 422 for invalid input, else the
    status ``attempt`` gives the service's refusal.
    """
    if not form.is_valid():
        return render_form(422)
    result, status = attempt(form, call, on_input=on_input, on_forbidden=on_forbidden)
    if status is not None:
        return render_form(status)
    return done(cast(T, result))


def succeed(
    request: HttpRequest,
    message: str,
    to: str,
    *args: Any,
    level: int = messages.SUCCESS,
    **kwargs: Any,
) -> HttpResponse:
    """Say what was done and redirect to the named page (post/redirect/get); ``level`` marks a
    recorded outcome that needs attention (a deviation, a refused release) as such."""
    messages.add_message(request, level, message)
    return redirect(to, *args, **kwargs)
