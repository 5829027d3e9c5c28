"""API of sites and the signed-in user: who am I, which sites do I see."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from ikctrial.web.sites.selectors import role_of, sites_for_user

router = Router(tags=["sites"])


class SiteOut(Schema):
    """A site."""

    code: str
    name: str
    timezone: str


class MeOut(Schema):
    """The signed-in user, its role and its sites."""

    username: str
    role: str | None
    sites: list[str]


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> MeOut:
    """The user the token belongs to."""
    user = request.auth
    sites = [site.code for site in sites_for_user(user)]
    return MeOut(username=user.get_username(), role=role_of(user), sites=sites)


@router.get("/sites", response=list[SiteOut])
def site_list(request: HttpRequest) -> list[SiteOut]:
    """The sites whose subjects the user sees."""
    return [
        SiteOut(code=s.code, name=s.name, timezone=s.timezone) for s in sites_for_user(request.auth)
    ]
