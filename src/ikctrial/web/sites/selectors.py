"""Reads of sites and staff; site scoping: the ONE place deciding which sites a user sees."""

from __future__ import annotations

import hashlib
from typing import Any, TypeAlias

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from ikctrial.web.errors import ForbiddenError, NotFoundError
from ikctrial.web.sites.models import ApiToken, Site, Staff
from ikctrial.web.sites.permissions import STUDY_WIDE_ROLES, role_may

# An actor is a signed-in user, or (a string) the operator of the command line, who already holds
# the database and so every right; the string is what the audit trail records.
Actor: TypeAlias = "AbstractBaseUser | str"


def token_digest(token: str) -> str:
    """The stored form of an API token (SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def staff_for_token(token: str) -> Staff | None:
    """The active staff member holding a valid (unrevoked) token, or None."""
    found = (
        ApiToken.objects.select_related("staff__user")
        .filter(digest=token_digest(token), revoked_at__isnull=True)
        .first()
    )
    if found is None or not found.staff.active or not found.staff.user.is_active:
        return None
    return found.staff


def staff_of(user: Any) -> Staff | None:
    """The staff record of a user (None for a user without one)."""
    try:
        staff: Staff = user.staff
    except (Staff.DoesNotExist, AttributeError):
        return None
    return staff if staff.active else None


def role_of(user: Any) -> str | None:
    """The user's role, or None when the user has no active staff record."""
    staff = staff_of(user)
    return staff.role if staff else None


def may(actor: Actor, action: str) -> bool:
    """Whether the actor may perform ``action`` (the command-line operator always may)."""
    if isinstance(actor, str):
        return True
    role = role_of(actor)
    return role is not None and role_may(role, action)


def authorize(actor: Actor, action: str) -> None:
    """Raise ``ForbiddenError`` unless the actor may perform ``action``."""
    if not may(actor, action):
        raise ForbiddenError(f"your role may not perform {action}")


def sites_for_user(actor: Actor) -> QuerySet[Site]:
    """The sites whose subjects the actor sees: all for study-wide roles, else its memberships."""
    if isinstance(actor, str) or role_of(actor) in STUDY_WIDE_ROLES:
        return Site.objects.all()
    staff = staff_of(actor)
    if staff is None:
        return Site.objects.none()
    return Site.objects.filter(memberships__staff=staff).distinct()


def site_for_user(actor: Actor, code: str) -> Site:
    """One of the actor's sites by code; any other code is ``NotFoundError``."""
    site = None if "\x00" in code else sites_for_user(actor).filter(code=code).first()
    if site is None:
        raise NotFoundError(f"site {code!r} not found")
    return site


def staff_by_username(username: str) -> Staff:
    """The staff record of a user name (``NotFoundError`` when there is none)."""
    staff = Staff.objects.select_related("user").filter(user__username=username).first()
    if staff is None:
        raise NotFoundError(f"user {username!r} not found")
    return staff
