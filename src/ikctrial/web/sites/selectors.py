"""Reads of sites and staff; site scoping: the ONE place deciding which sites a user sees."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeAlias

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import router
from django.db.models import QuerySet

from ikctrial.web import rows
from ikctrial.web.errors import ForbiddenError, NotFoundError
from ikctrial.web.sites.models import ApiToken, Site, SiteMembership, Staff
from ikctrial.web.sites.permissions import STUDY_WIDE_ROLES, role_may

# An actor is a signed-in user, or (a string) the operator of the command line, who already holds
# the database and so every right; the string is what the audit trail records.
Actor: TypeAlias = "AbstractBaseUser | str"


def token_digest(token: str) -> str:
    """The stored form of an API token (SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@lru_cache(maxsize=8)
def _token_sql(using: str) -> str:
    """The token's staff member and user, in one statement (every API request runs it)."""
    user = get_user_model()
    return (
        f"SELECT {rows.column_list(Staff, using)}, {rows.column_list(user, using)} "
        f"FROM {rows.table(ApiToken, using)} "
        f"JOIN {rows.table(Staff, using)} "
        f"ON {rows.column(Staff, 'id', using)} = {rows.column(ApiToken, 'staff', using)} "
        f"JOIN {rows.table(user, using)} "
        f"ON {rows.column(user, 'id', using)} = {rows.column(Staff, 'user', using)} "
        f"WHERE {rows.column(ApiToken, 'digest', using)} = %s "
        f"AND {rows.column(ApiToken, 'revoked_at', using)} IS NULL"
    )


def staff_for_token(token: str) -> Staff | None:
    """The active staff member holding a valid (unrevoked) token, with its user, or None."""
    using = router.db_for_read(ApiToken)
    row = rows.fetch_one(_token_sql(using), [token_digest(token)], using)
    if row is None:
        return None
    staff = rows.build(Staff, row, using=using)
    user = rows.build(get_user_model(), row, rows.width(Staff), using)
    link = Staff._meta.get_field("user")
    link.set_cached_value(staff, user)
    link.remote_field.set_cached_value(user, staff)
    if not staff.active or not user.is_active:
        return None
    return staff


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


@dataclass(frozen=True)
class SiteScope:
    """Which sites an actor sees: every site, or the memberships of one staff member, or none."""

    every_site: bool
    staff_id: int | None
    """Whose memberships count (with ``every_site`` false); None: no site at all."""


def site_scope(actor: Actor) -> SiteScope:
    """All sites for the command line and study-wide roles, else the actor's memberships."""
    if isinstance(actor, str) or role_of(actor) in STUDY_WIDE_ROLES:
        return SiteScope(every_site=True, staff_id=None)
    staff = staff_of(actor)
    return SiteScope(every_site=False, staff_id=None if staff is None else staff.pk)


def sites_for_user(actor: Actor) -> QuerySet[Site]:
    """The sites whose subjects the actor sees (``site_scope``), as a queryset."""
    scope = site_scope(actor)
    if scope.every_site:
        return Site.objects.all()
    if scope.staff_id is None:
        return Site.objects.none()
    return Site.objects.filter(memberships__staff_id=scope.staff_id).distinct()


def site_scope_sql(scope: SiteScope, site_column: str, using: str = "default") -> str:
    """The same scope as a SQL condition on a site-id column (``%s``: ``site_scope_params``)."""
    if scope.every_site:
        return "1 = 1"
    if scope.staff_id is None:
        return "1 = 0"
    memberships = (
        f"SELECT {rows.column(SiteMembership, 'site', using)} "
        f"FROM {rows.table(SiteMembership, using)} "
        f"WHERE {rows.column(SiteMembership, 'staff', using)} = %s"
    )
    return f"{site_column} IN ({memberships})"


def site_scope_params(scope: SiteScope) -> list[int]:
    """The parameters of ``site_scope_sql``."""
    return [] if scope.every_site or scope.staff_id is None else [scope.staff_id]


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
