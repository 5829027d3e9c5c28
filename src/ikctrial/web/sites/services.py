"""Writes of sites, staff and tokens: one transaction each, audited, validated before saving."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import transaction

from ikctrial.errors import InputError
from ikctrial.web.audit.context import audit_context
from ikctrial.web.errors import ConflictError
from ikctrial.web.sites.defaults import DEFAULT_SITE_TIMEZONE
from ikctrial.web.sites.models import ApiToken, Site, SiteMembership, Staff
from ikctrial.web.sites.permissions import Action, Role
from ikctrial.web.sites.selectors import Actor, authorize, staff_by_username, token_digest
from ikctrial.web.validation import input_error_from_django, save_validated

TOKEN_PREFIX = "ikc_"


@transaction.atomic
def site_create(
    *,
    actor: Actor,
    code: str,
    name: str,
    timezone: str = DEFAULT_SITE_TIMEZONE,
    source: str = "api",
) -> Site:
    """Register a participating site."""
    authorize(actor, Action.SITE_MANAGE)
    if Site.objects.filter(code=code).exists():
        raise ConflictError(f"site {code!r} already exists")
    with audit_context(actor=actor, source=source):
        site = Site(code=code, name=name, timezone=timezone)
        save_validated(site)
    return site


@transaction.atomic
def user_create(
    *,
    actor: Actor,
    username: str,
    role: str,
    site_codes: Sequence[str] = (),
    password: str | None = None,
    source: str = "api",
) -> Staff:
    """Create a user with one role and its site memberships (no password: token use only)."""
    authorize(actor, Action.USER_MANAGE)
    if role not in Role.values:
        raise InputError("role", f"{role!r} is not one of {', '.join(Role.values)}")
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise ConflictError(f"user {username!r} already exists")
    sites = []
    for code in dict.fromkeys(site_codes):
        site = Site.objects.filter(code=code).first()
        if site is None:
            raise InputError("site", f"{code!r} is not a registered site")
        sites.append(site)
    user = user_model(username=username)
    try:
        user.full_clean(exclude=["password"])
        if password is not None:
            password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise input_error_from_django(exc) from None
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save()
    with audit_context(actor=actor, source=source):
        staff = Staff(user=user, role=role)
        save_validated(staff)
        for site in sites:
            save_validated(SiteMembership(staff=staff, site=site))
    return staff


@transaction.atomic
def token_create(*, actor: Actor, username: str, source: str = "api") -> tuple[ApiToken, str]:
    """Issue an API token for a user; returns the record and the token, shown only this once."""
    authorize(actor, Action.USER_MANAGE)
    staff = staff_by_username(username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with audit_context(actor=actor, source=source):
        record = ApiToken(staff=staff, digest=token_digest(token), prefix=token[:12])
        save_validated(record)
    return record, token
