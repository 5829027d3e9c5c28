"""The site pages, per role: site scoping (404, never listed), invalid forms that store nothing,
the screening check (htmx and without JavaScript), consent, randomization and the visit schedule.

Users are members of SITEA (admin: every site); SITEB is "another site" (tests/web/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from tests.web.conftest import OPERATOR, OTHER_SITE, OWN_SITE, Trial, eligible_record
from tests.web.crf.conftest import Randomized
from tests.web.crf.conftest import randomize as randomize  # the fixture, for these tests
from tests.web.pages.conftest import eligible_form

from ikctrial.web.consent.models import Consent
from ikctrial.web.crf.services import crf_record_save
from ikctrial.web.randomization.models import Randomization
from ikctrial.web.sites.permissions import PERMISSIONS, Action, Role
from ikctrial.web.subjects.models import Subject

PageClient = Callable[[str], Client]
VIEWERS = sorted(PERMISSIONS[Action.SUBJECT_VIEW] - {Role.ADMIN})
NON_VIEWERS = sorted(set(Role) - PERMISSIONS[Action.SUBJECT_VIEW])
SCREENERS = sorted(PERMISSIONS[Action.SUBJECT_SCREEN])
NON_SCREENERS = sorted(PERMISSIONS[Action.SUBJECT_VIEW] - PERMISSIONS[Action.SUBJECT_SCREEN])


def text(response: Any) -> str:
    return response.content.decode()


@pytest.mark.parametrize(
    "url", ["/", "/subjects/", "/subjects/1/", f"/sites/{OWN_SITE}/screen/", "/accounts/password/"]
)
def test_pages_need_login(db: None, url: str) -> None:
    """Every page sends an anonymous visitor to the login page."""
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_logout_and_password_change(trial: Trial) -> None:
    """Django auth views: log in with a password, change it, log out."""
    from ikctrial.web.sites.services import user_create

    user_create(
        actor="test-operator",
        username="dr_chen",
        role="investigator",
        site_codes=[OWN_SITE],
        password="Liver-2026-chen",
    )
    client = Client()
    assert "Log in" in text(client.get("/accounts/login/"))
    bad = client.post("/accounts/login/", {"username": "dr_chen", "password": "wrong"})
    assert bad.status_code == 200
    assert "correct username and password" in text(bad)
    good = client.post("/accounts/login/", {"username": "dr_chen", "password": "Liver-2026-chen"})
    assert good.status_code == 302
    assert good["Location"] == "/"
    assert "dr_chen" in text(client.get("/"))
    changed = client.post(
        "/accounts/password/",
        {
            "old_password": "Liver-2026-chen",
            "new_password1": "Taipei-hcc-2026!",
            "new_password2": "Taipei-hcc-2026!",
        },
    )
    assert changed.status_code == 302
    assert changed["Location"] == "/accounts/password/done/"
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302
    assert Client().login(username="dr_chen", password="Taipei-hcc-2026!")


@pytest.mark.parametrize("role", VIEWERS)
def test_dashboard_counts_own_sites_only(
    trial: Trial, screen: Callable[..., int], page_client: PageClient, role: str
) -> None:
    """The dashboard counts the user's sites only; another site is neither shown nor counted."""
    screen(OWN_SITE)
    screen(OWN_SITE, eligible_record(ecog=3))  # fails I6
    screen(OTHER_SITE)
    page = text(page_client(role).get("/"))
    assert OWN_SITE in page
    assert OTHER_SITE not in page
    row = re.search(rf"{OWN_SITE}</a>.*?</tr>", page, re.S)
    assert row is not None
    counts = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row.group(0))]
    # in total, eligible, undetermined; screened, screen_failed, consented, randomized, in error;
    # on treatment, completed, withdrawn, overdue visits; open queries
    assert counts == [2, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]


def test_dashboard_counts_treatment_end_of_study_and_overdue_visits(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """Randomized subjects split into on treatment, completed and withdrawn (the end-of-study
    form); overdue visits are those of the subjects on treatment, as their casebooks show them."""
    exits = [
        None,
        {"status": "completed"},
        {"status": "withdrawn", "reason": "consent_withdrawn"},
    ]
    subjects = []
    for exit_data in exits:
        subject = randomize()
        if exit_data is not None:
            on = subject.day(20)
            crf_record_save(
                actor=OPERATOR,
                subject_id=subject.subject_id,
                form="study_exit",
                data={**exit_data, "exit_date": on, "last_contact_date": on},
            )
        subjects.append(subject)
    client = page_client(Role.MONITOR)
    schedule = client.get(f"/subjects/{subjects[0].subject_id}/").context["schedule"]
    overdue = sum(1 for row in schedule if row["status"] == "overdue")
    assert overdue > 0  # randomized weeks ago, nothing recorded since
    row = re.search(rf"{OWN_SITE}</a>.*?</tr>", text(client.get("/")), re.S)
    assert row is not None
    counts = [int(n) for n in re.findall(r'<td class="num">(?:<span[^>]*>)?(\d+)', row.group(0))]
    assert counts[3:] == [0, 0, 0, 3, 0, 1, 1, 1, overdue, 0]


def test_admin_dashboard_sees_every_site(
    trial: Trial, screen: Callable[..., int], page_client: PageClient
) -> None:
    """The study-wide admin sees both sites."""
    screen(OTHER_SITE)
    page = text(page_client(Role.ADMIN).get("/"))
    assert OWN_SITE in page
    assert OTHER_SITE in page


def test_dashboard_counts_open_queries_of_own_sites(
    trial: Trial, ready_subject: Callable[..., int], page_client: PageClient
) -> None:
    """Open data queries per site; another site's query is not counted."""
    from ikctrial.web.queries.models import DataQuery
    from ikctrial.web.queries.services import query_raise
    from ikctrial.web.randomization.services import subject_randomize

    zones = {OWN_SITE: ZoneInfo("Asia/Taipei"), OTHER_SITE: ZoneInfo("UTC")}
    for site in (OWN_SITE, OWN_SITE, OTHER_SITE):
        subject_id = ready_subject(site)
        made = subject_randomize(actor=OPERATOR, subject_id=subject_id)
        randomized_on = made.randomized_at.astimezone(zones[site]).date()
        visit = crf_record_save(
            actor=OPERATOR,
            subject_id=subject_id,
            form="visit",
            data={"code": "first_tace", "done_on": randomized_on.isoformat()},
        )
        query_raise(
            actor=OPERATOR,
            subject_id=subject_id,
            form="visit",
            record_id=visit.record.pk,
            field="done_on",
            text="Please confirm the date.",
        )
    assert DataQuery.objects.filter(status=DataQuery.Status.OPEN).count() == 3
    page = text(page_client(Role.MONITOR).get("/"))
    row = re.search(rf"{OWN_SITE}</a>.*?</tr>", page, re.S)
    assert row is not None
    counts = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row.group(0))]
    assert counts[-1] == 2


@pytest.mark.parametrize("role", VIEWERS)
def test_subject_list_and_page_scoped_to_site(
    trial: Trial, screen: Callable[..., int], page_client: PageClient, role: str
) -> None:
    """Another site's subject is not listed and its page is 404, for every role."""
    own, other = screen(OWN_SITE), screen(OTHER_SITE)
    client = page_client(role)
    listing = text(client.get("/subjects/"))
    assert f"{OWN_SITE}-0001" in listing
    assert f"{OTHER_SITE}-0001" not in listing
    assert client.get(f"/subjects/{own}/").status_code == 200
    assert client.get(f"/subjects/{other}/").status_code == 404
    assert client.get(f"/subjects/{other}/randomize/").status_code == 404
    assert client.post(f"/subjects/{other}/consent/", {}).status_code == 404
    assert client.get(f"/sites/{OTHER_SITE}/screen/").status_code == 404


@pytest.mark.parametrize("role", NON_VIEWERS)
def test_roles_without_subject_access_see_none(
    trial: Trial, screen: Callable[..., int], page_client: PageClient, role: str
) -> None:
    """The statistician sees no subject record at all (permissions matrix)."""
    own = screen(OWN_SITE)
    client = page_client(role)
    assert f"{OWN_SITE}-0001" not in text(client.get("/subjects/"))
    assert client.get(f"/subjects/{own}/").status_code == 404


@pytest.mark.parametrize("role", NON_SCREENERS)
def test_screening_form_forbidden_to_other_roles(
    trial: Trial, page_client: PageClient, role: str
) -> None:
    """Roles that may view but not screen get 403 on the form and store nothing."""
    client = page_client(role)
    assert client.get(f"/sites/{OWN_SITE}/screen/").status_code == 403
    assert client.post(f"/sites/{OWN_SITE}/screen/", eligible_form()).status_code == 403
    assert not Subject.objects.exists()


@pytest.mark.parametrize("role", SCREENERS)
def test_screening_saves_through_the_service(
    trial: Trial, page_client: PageClient, role: str
) -> None:
    """A valid form creates the subject (with the engine's verdict) and shows its page."""
    client = page_client(role)
    assert "Check eligibility" in text(client.get(f"/sites/{OWN_SITE}/screen/"))
    response = client.post(f"/sites/{OWN_SITE}/screen/", {**eligible_form(), "action": "save"})
    subject = Subject.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/subjects/{subject.pk}/"
    assert subject.verdict.eligible is True
    assert subject.screening_record["labs"]["albumin"] == {"value": 3.4, "unit": "g/dL"}
    assert subject.screened_by == trial.users[role].get_username()
    page = text(client.get(response["Location"]))
    assert f"{OWN_SITE}-0001" in page
    assert "I7_consent" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"screening_date": ""}, "screening_date", "This field is required"),
        ({"largest_mm": "big"}, "largest_mm", "Enter a number"),
        # core: albumin above 7 g/dL is impossible (interfaces.md "Eligibility")
        ({"albumin_value": "9"}, "albumin_value", "above 7 g/dL (impossible)"),
        # core: birth date after the screening date
        ({"birth_date": "2027-01-01"}, "birth_date", "is after the screening date"),
        # core: partial-date syntax
        ({"birth_date": "14/07/1958"}, "birth_date", "14/07/1958"),
        ({"therapy_2_end_date": "2025-01-01"}, "therapy_2_type", "Choose the therapy type"),
        ({"therapy_1_end_date": "soon"}, "therapy_1_end_date", "soon"),
    ],
)
def test_invalid_screening_rerenders_with_field_error(
    trial: Trial, page_client: PageClient, changes: dict[str, str], field: str, message: str
) -> None:
    """Invalid input: 422, the form again with the error on its field, nothing stored."""
    client = page_client(Role.COORDINATOR)
    form = {**eligible_form(**changes), "action": "save"}
    response = client.post(f"/sites/{OWN_SITE}/screen/", form)
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert f'id="id_{field}"' in text(response)
    assert 'aria-invalid="true"' in text(response)
    assert not Subject.objects.exists()


def test_check_without_javascript_previews_and_stores_nothing(
    trial: Trial, page_client: PageClient
) -> None:
    """The "check" button without htmx posts the whole form: the page shows the verdict."""
    response = page_client(Role.COORDINATOR).post(
        f"/sites/{OWN_SITE}/screen/", {**eligible_form(), "action": "check"}
    )
    assert response.status_code == 200
    verdict = response.context["verdict"]
    assert verdict["eligible"] is True
    assert verdict["derived"]["child_pugh"]["score"] == 6  # interfaces.md example
    assert verdict["derived"]["bclc"] == "C"
    assert "Save screening" in text(response)
    assert not Subject.objects.exists()


@pytest.mark.parametrize(
    ("changes", "eligible", "criterion", "result"),
    [
        ({}, True, "I1_age", "pass"),
        ({"ecog": "3"}, False, "I6_ecog", "fail"),  # 5.1 I6: 3 fails
        ({"hiv": ""}, None, "E2_hiv_htlv", "unknown"),  # 5.1 E2: missing -> unknown
        ({"birth_date": "2010-01-01"}, False, "I1_age", "fail"),  # 5.1 I1: age 16
    ],
)
def test_htmx_check_renders_criteria_and_derived(
    trial: Trial,
    page_client: PageClient,
    changes: dict[str, str],
    eligible: bool | None,
    criterion: str,
    result: str,
) -> None:
    """The htmx partial: per-criterion results and derived Child-Pugh, ALBI, BCLC; no save."""
    response = page_client(Role.INVESTIGATOR).post(
        f"/sites/{OWN_SITE}/screen/check/", eligible_form(**changes), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body  # a fragment for htmx to swap in
    verdict = response.context["verdict"]
    assert verdict["eligible"] is eligible
    assert {c["id"]: c["result"] for c in verdict["criteria"]}[criterion] == result
    assert "-1.9798" in body  # ALBI of the example (interfaces.md)
    assert not Subject.objects.exists()


def test_htmx_check_shows_errors_in_the_fragment(trial: Trial, page_client: PageClient) -> None:
    """Bad input in the htmx check lists the field's error (linked to the field)."""
    response = page_client(Role.INVESTIGATOR).post(
        f"/sites/{OWN_SITE}/screen/check/", eligible_form(inr_value="20")
    )
    body = text(response)
    assert response.status_code == 200
    assert 'href="#id_inr_value"' in body
    assert "above 15" in body
    assert "verdict" not in response.context or not response.context["verdict"]


def test_consent_form_records_and_rejects(
    trial: Trial, screen: Callable[..., int], page_client: PageClient
) -> None:
    """Consent after the screening date re-renders with the field's error; a valid one saves."""
    subject_id = screen()
    client = page_client(Role.COORDINATOR)
    late = {"version": "1.0", "signed_on": "2026-03-03", "signed_by": "Dr. Lin"}
    response = client.post(f"/subjects/{subject_id}/consent/", late)
    assert response.status_code == 422
    assert "after the screening date" in " ".join(
        response.context["consent_form"].errors["signed_on"]
    )
    assert not Consent.objects.exists()
    missing = client.post(f"/subjects/{subject_id}/consent/", {**late, "signed_by": ""})
    assert missing.status_code == 422
    assert not Consent.objects.exists()
    ok = client.post(f"/subjects/{subject_id}/consent/", {**late, "signed_on": "2026-03-01"})
    assert ok.status_code == 302
    consent = Consent.objects.get()
    assert consent.recorded_by == "u_coordinator"
    assert consent.signed_by == "Dr. Lin"
    assert "Consent recorded" in text(client.get(ok["Location"]))


def test_consent_forbidden_to_monitor(
    trial: Trial, screen: Callable[..., int], page_client: PageClient
) -> None:
    """A monitor sees the subject but gets no consent form, and a POST is 403."""
    subject_id = screen()
    client = page_client(Role.MONITOR)
    assert "Record consent" not in text(client.get(f"/subjects/{subject_id}/"))
    body = {"version": "1.0", "signed_on": "2026-03-01", "signed_by": "x"}
    assert client.post(f"/subjects/{subject_id}/consent/", body).status_code == 403
    assert not Consent.objects.exists()


def test_randomize_confirm_then_arm_number_and_schedule(
    trial: Trial, ready_subject: Callable[..., int], page_client: PageClient
) -> None:
    """Confirmation page first; after POST the arm and number show, with the visit schedule."""
    subject_id = ready_subject()
    client = page_client(Role.INVESTIGATOR)
    assert "Randomize…" in text(client.get(f"/subjects/{subject_id}/"))
    confirm = client.get(f"/subjects/{subject_id}/randomize/")
    assert "Confirm randomization" in text(confirm)
    assert not Randomization.objects.exists()
    done = client.post(f"/subjects/{subject_id}/randomize/")
    assert done.status_code == 302
    made = Randomization.objects.get(subject_id=subject_id)
    page = client.get(done["Location"])
    body = text(page)
    arm_name = {"IKC_TACE": "IKC + TACE", "TACE": "TACE alone"}[made.arm]
    assert f"Randomized: number {made.number}, arm {arm_name}." in body
    schedule = page.context["schedule"]
    codes = [row["visit"].code for row in schedule]
    assert codes[:4] == ["screening", "immune_baseline", "randomization", "first_tace"]
    assert ("infusion_12" in codes) is (made.arm == "IKC_TACE")  # domain.md 1.2
    randomized_on = made.randomized_at.astimezone(ZoneInfo("Asia/Taipei")).date()
    imaging = next(row for row in schedule if row["visit"].code == "imaging_1")
    assert imaging["visit"].target_date == randomized_on + dt.timedelta(days=56)
    assert imaging["visit"].target_date.isoformat() in body
    # A visit recorded on its CRF shows as done, with its study day (domain.md 0, 1.5).
    crf_record_save(
        actor=OPERATOR,
        subject_id=subject_id,
        form="visit",
        data={"code": "first_tace", "done_on": randomized_on.isoformat()},
    )
    schedule = client.get(f"/subjects/{subject_id}/").context["schedule"]
    first_tace = next(row for row in schedule if row["visit"].code == "first_tace")
    assert first_tace["status"] == "done"
    assert first_tace["study_day"] == 1
    again = client.post(f"/subjects/{subject_id}/randomize/")
    assert "already randomized" in text(client.get(again["Location"]))
    assert Randomization.objects.count() == 1


def test_randomize_refused_when_not_consented(
    trial: Trial, screen: Callable[..., int], randomization_list: Any, page_client: PageClient
) -> None:
    """No button without consent; a forced POST shows the service's refusal, stores nothing."""
    subject_id = screen()
    client = page_client(Role.COORDINATOR)
    assert "Randomize…" not in text(client.get(f"/subjects/{subject_id}/"))
    response = client.post(f"/subjects/{subject_id}/randomize/", follow=True)
    assert "has no signed consent" in text(response)
    assert not Randomization.objects.exists()


def test_times_in_site_time_zone(
    trial: Trial, screen: Callable[..., int], page_client: PageClient
) -> None:
    """Stored in UTC, shown in the site's zone (SITEA: Asia/Taipei, UTC+8)."""
    subject = Subject.objects.get(pk=screen())
    local = subject.screened_at.astimezone(ZoneInfo("Asia/Taipei"))
    body = text(page_client(Role.INVESTIGATOR).get(f"/subjects/{subject.pk}/"))
    assert local.strftime("%Y-%m-%d %H:%M") in body
    assert "Asia/Taipei" in body


def test_language_switch_to_traditional_chinese(trial: Trial, page_client: PageClient) -> None:
    """set_language stores the choice; the pages (and Django's own strings) then speak zh-Hant."""
    client = page_client(Role.COORDINATOR)
    switched = client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/"})
    assert switched.status_code == 302
    body = text(client.get("/"))
    assert 'lang="zh-hant"' in body
    assert "受試者" in body  # "Subjects"
    assert "u_coordinator (研究協調員)" in body  # the role, translated
    form = text(client.get(f"/sites/{OWN_SITE}/screen/"))
    assert "檢查合格性" in form  # "Check eligibility"
    invalid = client.post(f"/sites/{OWN_SITE}/screen/", eligible_form(screening_date=""))
    assert "這個欄位是必須的" in text(invalid)  # Django's zh-Hant "This field is required."


@pytest.mark.parametrize(
    ("sites", "zone"),
    [
        ([], "Asia/Taipei"),  # no site yet: the trial's default zone
        ([OTHER_SITE], "UTC"),  # SITEB's record says UTC
        ([OWN_SITE, OTHER_SITE], "Asia/Taipei"),  # several sites: the first by code (SITEA)
    ],
)
def test_page_time_zone_from_the_site_record(trial: Trial, sites: list[str], zone: str) -> None:
    """Pages render in the zone of the user's site (first by code), Asia/Taipei without one."""
    from ikctrial.web.sites.services import user_create

    staff = user_create(actor=OPERATOR, username="dm_x", role="data_manager", site_codes=sites)
    client = Client()
    client.force_login(staff.user)
    assert f"shown in the {zone} time zone" in text(client.get("/"))
