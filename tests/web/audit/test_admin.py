"""The Django admin (``/admin/``) is one more audited path (issue: "through any path including bulk
operations and the admin"): a change there needs a reason and leaves an audit event with source
``admin``; nothing is added or deleted there; only the admin role gets in; the concealed list is
not registered."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from tests.web.conftest import OWN_SITE, Trial

from ikctrial.web.audit.admin import AuditedModelAdmin, AuditEventAdmin, edc_admin_site
from ikctrial.web.audit.models import AuditedModel, AuditEvent
from ikctrial.web.audit.services import verify_chain
from ikctrial.web.randomization.models import AllocationSlot, RandomizationList, Stratum
from ikctrial.web.sites.models import Site, Staff
from ikctrial.web.subjects.models import Subject


def _admin(trial: Trial, role: str = "admin") -> Client:
    client = Client()
    client.force_login(trial.users[role])
    return client


def _site_form(site: Site, **changes: Any) -> dict[str, Any]:
    return {"name": site.name, "timezone": site.timezone, **changes}


def test_every_registered_model_is_audited_and_the_list_is_not_registered() -> None:
    """Walks the admin registry: audited models only, through the audited admin class."""
    registry = edc_admin_site._registry
    assert registry, "the admin registers nothing"
    for model, model_admin in registry.items():
        if model is AuditEvent:
            assert isinstance(model_admin, AuditEventAdmin)
            continue
        assert issubclass(model, AuditedModel), model
        assert isinstance(model_admin, AuditedModelAdmin), model
    for concealed in (RandomizationList, Stratum, AllocationSlot):
        assert concealed not in registry


@pytest.mark.parametrize("role", ["coordinator", "qa", "data_manager", "statistician"])
def test_only_the_admin_role_gets_in(trial: Trial, role: str) -> None:
    """Other roles are sent to the admin's login page; the admin role sees the index."""
    assert _admin(trial).get("/admin/").status_code == 200
    response = _admin(trial, role).get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("role", ["admin", "coordinator", "data_manager"])
def test_sign_in_with_a_password_is_for_the_admin_role(trial: Trial, role: str) -> None:
    """The admin's login page lets the admin role in (no Django ``is_staff`` needed), no other."""
    user = trial.users[role]
    user.set_password("correct horse battery staple")
    user.save()
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": user.username, "password": "correct horse battery staple", "next": "/admin/"},
    )
    if role == "admin":
        assert response.status_code == 302
        assert client.get("/admin/").status_code == 200
    else:
        assert response.status_code == 200  # the form again, with the error
        assert response.context["form"].errors
        assert client.get("/admin/").status_code == 302


def test_a_change_needs_a_reason_and_is_audited(trial: Trial) -> None:
    """Without a reason the form refuses and nothing changes; with one, an ``admin`` event."""
    site = Site.objects.get(code=OWN_SITE)
    url = f"/admin/sites/site/{site.pk}/change/"
    client = _admin(trial)
    events = AuditEvent.objects.count()
    refused = client.post(url, _site_form(site, name="Renamed hospital"))
    assert refused.status_code == 200  # the form again, with the error
    assert "reason_for_change" in refused.context["adminform"].form.errors
    assert Site.objects.get(pk=site.pk).name == site.name
    assert AuditEvent.objects.count() == events
    reason = "hospital renamed after the merger"
    done = client.post(url, _site_form(site, name="Renamed hospital", reason_for_change=reason))
    assert done.status_code == 302, done.content[:500]
    assert Site.objects.get(pk=site.pk).name == "Renamed hospital"
    event = AuditEvent.objects.latest("id")
    assert (event.model, event.object_pk, event.action) == ("sites.site", str(site.pk), "update")
    assert (event.actor, event.source, event.reason) == ("u_admin", "admin", reason)
    assert event.changes == {"name": [site.name, "Renamed hospital"]}
    assert verify_chain().ok


def test_a_role_change_is_audited(trial: Trial) -> None:
    """ICH E6(R3): role and access changes are audited like data."""
    staff = Staff.objects.get(user__username="u_monitor")
    response = _admin(trial).post(
        f"/admin/sites/staff/{staff.pk}/change/",
        {"role": "data_manager", "active": "on", "reason_for_change": "new assignment"},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.filter(model="sites.staff", object_pk=str(staff.pk)).latest("id")
    assert event.changes == {"role": ["monitor", "data_manager"]}
    assert event.source == "admin"


def test_nothing_is_added_or_deleted_and_clinical_records_are_read_only(
    trial: Trial, screen: Any
) -> None:
    """Add and delete pages answer 403; a subject's page is read-only (a POST is 403)."""
    subject_id = screen()
    site = Site.objects.get(code=OWN_SITE)
    client = _admin(trial)
    assert client.get("/admin/sites/site/add/").status_code == 403
    assert client.post(f"/admin/sites/site/{site.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"/admin/subjects/subject/{subject_id}/change/").status_code == 200
    before = Subject.objects.get(pk=subject_id).subject_ref
    posted = client.post(
        f"/admin/subjects/subject/{subject_id}/change/",
        {"subject_ref": "EDITED", "reason_for_change": "typo"},
    )
    assert posted.status_code == 403
    assert Subject.objects.get(pk=subject_id).subject_ref == before
    assert Site.objects.filter(pk=site.pk).exists()
    assert client.get("/admin/randomization/allocationslot/").status_code == 404


def test_the_trail_is_read_only_in_the_admin(trial: Trial) -> None:
    """The audit events can be read, never changed or deleted."""
    event = AuditEvent.objects.earliest("id")
    client = _admin(trial)
    assert client.get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200
    assert client.post(f"/admin/audit/auditevent/{event.pk}/change/", {}).status_code == 403
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    assert verify_chain().ok
