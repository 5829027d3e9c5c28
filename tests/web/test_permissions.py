"""The permission matrix, end to end through the API: every role x action x own/other site.

The expected table below is written out independently of ``ikctrial.web.sites.permissions`` (and of
docs/permissions.md, which ``test_docs_permissions`` keeps equal to the code), so a change to the
code's table that is not intended fails here. Site scoping (interfaces.md): another site's subject
answers 404; a role without the right answers 403 on its own site; a role that cannot see subjects
at all gets 404 for any subject.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.web.conftest import OPERATOR, OTHER_SITE, OWN_SITE, Trial, eligible_record

from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.consent.models import Consent
from ikctrial.web.randomization.models import Randomization
from ikctrial.web.sites.permissions import Role
from ikctrial.web.subjects.models import Subject

ALL = set(Role.values)
EXPECTED_ALLOWED: dict[str, set[str]] = {
    "subject.view": ALL - {"statistician", "reader"},
    "subject.screen": {"investigator", "coordinator", "admin"},
    "consent.record": {"investigator", "coordinator", "admin"},
    "subject.randomize": {"investigator", "coordinator", "admin"},
    "randomization.mark_error": {"investigator", "data_manager", "admin"},
    "screening_log.view": {"investigator", "coordinator", "data_manager", "monitor", "admin"},
    "randomization.view_log": {"statistician", "admin"},
    "randomization.generate": {"statistician", "admin"},
    "site.manage": {"admin"},
    "user.manage": {"admin"},
    "audit.view": {"qa", "data_manager", "admin"},
}
SUBJECT_VIEWERS = EXPECTED_ALLOWED["subject.view"]


def test_code_table_is_the_expected_table() -> None:
    """For the EDC core's actions, the enforced table is exactly the one written out here."""
    from ikctrial.web.sites.permissions import PERMISSIONS

    enforced = {action: set(PERMISSIONS[action]) for action in EXPECTED_ALLOWED}
    assert enforced == EXPECTED_ALLOWED


def _counts() -> tuple[int, int, int]:
    return Subject.objects.count(), Consent.objects.count(), Randomization.objects.count()


def _prepare(action: str, site: str, fx: dict[str, Callable[..., int]]) -> int | None:
    """The subject the action applies to, in the state the action needs."""
    if action == "subject.screen":
        return None
    if action in {"subject.view", "subject.correct", "consent.record"}:
        return fx["screen"](site)
    subject_id = fx["ready"](site)
    if action == "randomization.mark_error":
        from ikctrial.web.randomization.services import subject_randomize

        subject_randomize(actor=OPERATOR, subject_id=subject_id)
    return subject_id


def _call(trial: Trial, role: str, action: str, site: str, subject_id: int | None) -> int:
    """Perform ``action`` through the API as ``role``; the HTTP status."""
    client = trial.client(role)
    if action == "subject.view":
        response = client.get(f"/api/v1/subjects/{subject_id}")
    elif action == "subject.screen":
        response = client.post(
            f"/api/v1/sites/{site}/subjects", eligible_record(), content_type="application/json"
        )
    elif action == "consent.record":
        response = client.post(
            f"/api/v1/subjects/{subject_id}/consent",
            {"version": "1.0", "signed_on": "2026-03-01", "signed_by": "Dr. Lin"},
            content_type="application/json",
        )
    elif action == "subject.correct":
        response = client.put(
            f"/api/v1/subjects/{subject_id}/screening",
            {"record": eligible_record(ecog=0), "reason": "ECOG transcribed wrongly"},
            content_type="application/json",
        )
    elif action == "subject.randomize":
        response = client.post(f"/api/v1/subjects/{subject_id}/randomize")
    else:
        response = client.post(
            f"/api/v1/subjects/{subject_id}/randomization/error",
            {"reason": "randomized before the eligibility confirmation was signed"},
            content_type="application/json",
        )
    return int(response.status_code)


SUCCESS = {
    "subject.view": 200,
    "subject.screen": 201,
    "subject.correct": 200,  # PUT /subjects/{id}/screening needs subject.screen
    "consent.record": 201,
    "subject.randomize": 201,
    "randomization.mark_error": 200,
}


def _expected(action: str, role: str, where: str) -> int:
    if role == "admin":
        return SUCCESS[action]
    if where == "other":
        return 404
    if action != "subject.screen" and role not in SUBJECT_VIEWERS:
        return 404
    right = "subject.screen" if action == "subject.correct" else action
    return SUCCESS[action] if role in EXPECTED_ALLOWED[right] else 403


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("action", list(SUCCESS))
def test_site_scoped_action(
    trial: Trial,
    screen: Callable[..., int],
    ready_subject: Callable[..., int],
    action: str,
    where: str,
) -> None:
    """Every role gets success, 403 or 404 on its own / another site; a refusal changes nothing."""
    site = OWN_SITE if where == "own" else OTHER_SITE
    fixtures = {"screen": screen, "ready": ready_subject}
    got: dict[str, tuple[int, bool]] = {}
    for role in Role.values:
        subject_id = _prepare(action, site, fixtures)
        before = _counts()
        events = AuditEvent.objects.count()
        status = _call(trial, role, action, site, subject_id)
        unchanged = _counts() == before and AuditEvent.objects.count() == events
        if action == "subject.correct":
            record = Subject.objects.get(pk=subject_id).screening_record
            unchanged = record == eligible_record() and AuditEvent.objects.count() == events
        if action == "randomization.mark_error":
            state = Randomization.objects.get(subject_id=subject_id).status
            unchanged = state == "randomized"
        got[role] = (status, unchanged)
    read_only = action == "subject.view"
    expected = {
        role: (status, read_only or status >= 400)
        for role, status in ((role, _expected(action, role, where)) for role in Role.values)
    }
    assert got == expected


@pytest.mark.parametrize("role", Role.values)
def test_screening_log_shows_own_sites_only(
    trial: Trial, screen: Callable[..., int], role: str
) -> None:
    """The screening log: own site's subjects only (admin: all); 403 for roles without it."""
    own = screen(OWN_SITE)
    other = screen(OTHER_SITE)
    response = trial.client(role).get("/api/v1/screening-log")
    if role not in EXPECTED_ALLOWED["screening_log.view"]:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    listed = {row["subject_id"] for row in response.json()}
    assert listed == ({own, other} if role == "admin" else {own})


@pytest.mark.parametrize("role", Role.values)
def test_allocation_log_is_concealed(
    trial: Trial, ready_subject: Callable[..., int], role: str
) -> None:
    """Only statistician and admin read the allocation log (all sites); others get 403."""
    from ikctrial.web.randomization.services import subject_randomize

    for site in (OWN_SITE, OTHER_SITE):
        subject_randomize(actor=OPERATOR, subject_id=ready_subject(site))
    response = trial.client(role).get("/api/v1/randomizations")
    if role not in EXPECTED_ALLOWED["randomization.view_log"]:
        assert response.status_code == 403
        assert "arm" not in response.content.decode()
        return
    assert response.status_code == 200
    assert sorted(row["site"] for row in response.json()) == [OWN_SITE, OTHER_SITE]


@pytest.mark.parametrize("role", Role.values)
def test_site_and_user_management(trial: Trial, role: str) -> None:
    """Creating sites and users (services; the CLI operator always may) is the admin's alone."""
    from ikctrial.web.errors import ForbiddenError
    from ikctrial.web.sites.services import site_create, user_create

    user = trial.users[role]
    if role in EXPECTED_ALLOWED["site.manage"]:
        assert site_create(actor=user, code="NEW1", name="New").code == "NEW1"
        assert user_create(actor=user, username="newbie", role="qa").role == "qa"
        return
    with pytest.raises(ForbiddenError):
        site_create(actor=user, code="NEW1", name="New")
    with pytest.raises(ForbiddenError):
        user_create(actor=user, username="newbie", role="qa")


def test_unauthenticated_and_bad_token(trial: Trial, screen: Callable[..., int]) -> None:
    """No token or an unknown token answers 401 with a JSON detail."""
    from django.test import Client

    subject_id = screen()
    assert Client().get(f"/api/v1/subjects/{subject_id}").status_code == 401
    bad = Client(HTTP_AUTHORIZATION="Bearer ikc_not-a-token")
    response = bad.get(f"/api/v1/subjects/{subject_id}")
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


@pytest.mark.parametrize("role", Role.values)
def test_subject_list_is_site_scoped(trial: Trial, screen: Callable[..., int], role: str) -> None:
    """GET /subjects: own sites only (admin: all; statistician: none), also filtered by site."""
    own, other = screen(OWN_SITE), screen(OTHER_SITE)
    client = trial.client(role)
    response = client.get("/api/v1/subjects")
    assert response.status_code == 200
    listed = {row["subject_id"] for row in response.json()}
    if role not in SUBJECT_VIEWERS:
        assert listed == set()
    else:
        assert listed == ({own, other} if role == "admin" else {own})
    filtered = {
        row["subject_id"] for row in client.get(f"/api/v1/subjects?site={OTHER_SITE}").json()
    }
    assert filtered == ({other} if role == "admin" else set())


@pytest.mark.parametrize("role", Role.values)
def test_audit_trail_readers(trial: Trial, role: str) -> None:
    """audit.view: GET /audit, /audit/verify, /audit/export for qa, data_manager, admin only."""
    client = trial.client(role)
    allowed = role in EXPECTED_ALLOWED["audit.view"]
    for path in ("/api/v1/audit", "/api/v1/audit/verify", "/api/v1/audit/export?format=csv"):
        assert client.get(path).status_code == (200 if allowed else 403), path


@pytest.mark.parametrize("role", Role.values)
def test_list_generation_by_role(trial: Trial, role: str) -> None:
    """randomization.generate: statistician and admin; any other role is refused, nothing made."""
    from ikctrial.web.errors import ForbiddenError
    from ikctrial.web.randomization.models import RandomizationList
    from ikctrial.web.randomization.services import randomization_generate

    user = trial.users[role]
    if role in EXPECTED_ALLOWED["randomization.generate"]:
        randomization_generate(actor=user, seed=5, size=2)
        assert RandomizationList.objects.get().generated_by == f"u_{role}"
        return
    with pytest.raises(ForbiddenError):
        randomization_generate(actor=user, seed=5, size=2)
    assert not RandomizationList.objects.exists()
