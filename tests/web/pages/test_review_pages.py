"""Review pages through the Django client: tumor assessments (derived response, sums, nadir,
disagreement), queries (raise, answer, close, listing, CSV), e-signatures and lock, and the
blinded reader, per role, with another site's subject answering 404.

Users are members of SITEA (admin: every site); SITEB is "another site" (tests/web/conftest.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from tests.web.conftest import OTHER_SITE, Trial
from tests.web.crf.conftest import PASSWORD, Randomized, passwords, randomize

from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.central_review.models import CentralRead
from ikctrial.web.crf.models import TumorAssessment, TumorResponse
from ikctrial.web.crf.services import crf_record_save
from ikctrial.web.protocol import current_protocol
from ikctrial.web.queries.models import DataQuery
from ikctrial.web.signatures.models import Signature, SignatureFailure, StudyLock, SubjectLock
from ikctrial.web.sites.permissions import PERMISSIONS, Action, Role

__all__ = ["passwords", "randomize"]

PageClient = Callable[[str], Client]
ENTERERS = sorted(PERMISSIONS[Action.CRF_ENTER] - {Role.ADMIN})
VIEWERS_ONLY = sorted(PERMISSIONS[Action.CRF_VIEW] - PERMISSIONS[Action.CRF_ENTER])
NO_CRF = sorted(set(Role) - PERMISSIONS[Action.CRF_VIEW])
SUBJECT_PAGES = ["tumor/", "tumor/new/", "signatures/", "queries/new/"]
"""Review pages of one subject, below ``/subjects/<id>/``, for the scoping tests."""


def text(response: Any) -> str:
    return response.content.decode()


def lesion_form(
    day: str, recist_mm: int | str, viable_mm: int | str, **extra: Any
) -> dict[str, Any]:
    """The lesion-table form as a browser posts it: one liver target lesion, one non-target."""
    return {
        "assessed_on": day,
        "modality": "CT",
        "new_lesions": "none",
        "target_1_id": "T1",
        "target_1_organ": "liver",
        "target_1_diameter_mm": str(recist_mm),
        "target_1_viable_diameter_mm": str(viable_mm),
        "non_target_1_id": "NT1",
        "non_target_1_organ": "lung",
        "non_target_1_status": "present",
        **extra,
    }


def tumor_record(day: str, recist_mm: int, viable_mm: int) -> dict[str, Any]:
    """The same lesion table as the CRF service takes it (for set-up through the service)."""
    return {
        "assessed_on": day,
        "modality": "CT",
        "target": [
            {
                "id": "T1",
                "organ": "liver",
                "nodal": False,
                "diameter_mm": recist_mm,
                "viable_diameter_mm": viable_mm,
            }
        ],
        "non_target": [{"id": "NT1", "organ": "lung", "status": "present"}],
        "new_lesions": "none",
    }


def save_tumor(trial: Trial, subject: Randomized, day: int, recist: int, viable: int) -> int:
    """Store a time point through the CRF service as the investigator; returns its id."""
    saved = crf_record_save(
        actor=trial.users["investigator"],
        subject_id=subject.subject_id,
        form="tumor_assessment",
        data=tumor_record(subject.day(day), recist, viable),
    )
    return int(saved.record.pk)


def responses_of(assessment_id: int) -> dict[str, TumorResponse]:
    return {r.criteria: r for r in TumorResponse.objects.filter(assessment_id=assessment_id)}


def cells(html: str, css_class: str) -> list[str]:
    """The text of every table cell of a class (sums, nadirs) in the order shown."""
    import re

    return re.findall(rf'<td class="num {css_class}">([^<]*)</td>', html)


# Tumor assessments ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ENTERERS)
def test_tumor_assessment_saved_shows_derived_response_sums_and_nadir(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient, role: str
) -> None:
    """Saving the page stores through the CRF service; the page shows both calls, sum and nadir."""
    subject = randomize()
    client = page_client(role)
    first = client.post(
        f"/subjects/{subject.subject_id}/tumor/new/", lesion_form(subject.day(-20), 50, 40)
    )
    assert first.status_code == 302, text(first)
    second = client.post(
        f"/subjects/{subject.subject_id}/tumor/new/", lesion_form(subject.day(40), 48, 20)
    )
    assert second.status_code == 302
    assessment = TumorAssessment.objects.get(
        subject_id=subject.subject_id, assessed_on=subject.day(40)
    )
    assert second["Location"] == f"/subjects/{subject.subject_id}/tumor/{assessment.pk}/"
    page = text(client.get(second["Location"]))
    calls = responses_of(assessment.pk)
    assert calls["RECIST1.1"].target_response == "SD"
    assert calls["mRECIST"].target_response == "PR"
    assert cells(page, "sum") == ["48", "20"]
    assert cells(page, "nadir") == ["50", "40"]
    assert "RECIST1.1" in page
    assert "mRECIST" in page
    listing = text(client.get(f"/subjects/{subject.subject_id}/tumor/"))
    assert subject.day(40) in listing


def test_preview_derives_without_saving_htmx_and_without_javascript(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """The htmx partial and the no-JavaScript "check" show the call of the table as it stands."""
    subject = randomize()
    save_tumor(trial, subject, -20, 50, 40)
    client = page_client("coordinator")
    events = AuditEvent.objects.count()
    form = lesion_form(subject.day(40), 20, 0)
    partial = client.post(f"/subjects/{subject.subject_id}/tumor/preview/", form)
    assert partial.status_code == 200
    body = text(partial)
    assert "<html" not in body
    assert cells(body, "sum") == ["20", "0"]
    assert cells(body, "nadir") == ["50", "40"]
    assert "PR" in body
    check = client.post(f"/subjects/{subject.subject_id}/tumor/new/", {**form, "action": "check"})
    assert check.status_code == 200
    assert cells(text(check), "sum") == ["20", "0"]
    assert TumorAssessment.objects.filter(subject_id=subject.subject_id).count() == 1
    assert AuditEvent.objects.count() == events


def test_invalid_lesion_table_shows_the_field_and_stores_nothing(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """A row without an organ, or a negative diameter: 422 naming the field, nothing stored."""
    subject = randomize()
    client = page_client("coordinator")
    url = f"/subjects/{subject.subject_id}/tumor/new/"
    zero_only = client.post(
        url, lesion_form(subject.day(-20), 50, 40, target_2_viable_diameter_mm="0")
    )
    assert zero_only.status_code == 422
    assert 'href="#id_target_2_id"' in text(zero_only)
    no_organ = client.post(url, lesion_form(subject.day(-20), 50, 40, target_1_organ=""))
    assert no_organ.status_code == 422
    assert 'href="#id_target_1_organ"' in text(no_organ)
    negative = client.post(url, lesion_form(subject.day(-20), -5, 40))
    assert negative.status_code == 422
    assert 'href="#id_target_1_diameter_mm"' in text(negative)
    assert not TumorAssessment.objects.filter(subject_id=subject.subject_id).exists()


def test_correction_needs_reason(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """A saved time point is corrected only with a reason, which the audit trail keeps."""
    subject = randomize()
    assessment_id = save_tumor(trial, subject, -20, 50, 40)
    client = page_client("investigator")
    url = f"/subjects/{subject.subject_id}/tumor/{assessment_id}/"
    refused = client.post(url, lesion_form(subject.day(-20), 52, 40))
    assert refused.status_code == 422
    assert 'href="#id_reason"' in text(refused)
    assert TumorAssessment.objects.get(pk=assessment_id).target[0]["diameter_mm"] == 50
    done = client.post(url, lesion_form(subject.day(-20), 52, 40, reason="re-measured on MRI"))
    assert done.status_code == 302
    assert TumorAssessment.objects.get(pk=assessment_id).target[0]["diameter_mm"] == 52
    assert AuditEvent.objects.filter(
        model="crf.tumorassessment", object_pk=str(assessment_id), reason="re-measured on MRI"
    ).exists()


@pytest.mark.parametrize("role", VIEWERS_ONLY)
def test_viewers_see_the_response_but_cannot_enter(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient, role: str
) -> None:
    """crf.view without crf.enter: the page shows the calls, no form; a POST is 403."""
    subject = randomize()
    assessment_id = save_tumor(trial, subject, -20, 50, 40)
    client = page_client(role)
    page = client.get(f"/subjects/{subject.subject_id}/tumor/{assessment_id}/")
    assert page.status_code == 200
    assert cells(text(page), "sum") == ["50", "40"]
    assert 'name="target_1_id"' not in text(page)
    post = client.post(
        f"/subjects/{subject.subject_id}/tumor/new/", lesion_form(subject.day(40), 1, 1)
    )
    assert post.status_code == 403
    assert TumorAssessment.objects.filter(subject_id=subject.subject_id).count() == 1


@pytest.mark.parametrize("role", NO_CRF)
@pytest.mark.parametrize("path", SUBJECT_PAGES)
def test_roles_without_crf_view_get_404(
    trial: Trial,
    randomize: Callable[..., Randomized],
    page_client: PageClient,
    role: str,
    path: str,
) -> None:
    """Roles that see no subject (or no CRF) learn nothing about the subject."""
    subject = randomize()
    status = page_client(role).get(f"/subjects/{subject.subject_id}/{path}").status_code
    assert status in {403, 404}
    if role in {Role.STATISTICIAN, Role.READER}:
        assert status == 404


@pytest.mark.parametrize("role", ["investigator", "coordinator", "data_manager", "monitor"])
@pytest.mark.parametrize("path", SUBJECT_PAGES)
def test_another_sites_subject_is_404(
    trial: Trial,
    randomize: Callable[..., Randomized],
    page_client: PageClient,
    role: str,
    path: str,
) -> None:
    """Every review page of another site's subject answers 404."""
    subject = randomize(OTHER_SITE)
    assert page_client(role).get(f"/subjects/{subject.subject_id}/{path}").status_code == 404


def test_disagreement_kept_with_reason_next_to_derived(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """The investigator's call and reason are stored and shown; the derived call stays."""
    subject = randomize()
    save_tumor(trial, subject, -20, 50, 40)
    assessment_id = save_tumor(trial, subject, 40, 48, 20)
    url = f"/subjects/{subject.subject_id}/tumor/{assessment_id}/disagree/RECIST1.1/"
    body = {"investigator_response": "PR", "reason": "necrosis on MRI read by two radiologists"}
    assert page_client("coordinator").post(url, body).status_code == 403
    no_reason = page_client("investigator").post(url, {"investigator_response": "PR"})
    assert no_reason.status_code == 422
    assert 'href="#id_RECIST1_1_reason"' in text(no_reason)
    assert responses_of(assessment_id)["RECIST1.1"].investigator_response == ""
    done = page_client("investigator").post(url, body)
    assert done.status_code == 302
    recist = responses_of(assessment_id)["RECIST1.1"]
    assert (recist.target_response, recist.investigator_response) == ("SD", "PR")
    assert recist.disagreement_reason.startswith("necrosis")
    assert recist.disagreement_by == "u_investigator"
    page = text(
        page_client("monitor").get(f"/subjects/{subject.subject_id}/tumor/{assessment_id}/")
    )
    assert "necrosis on MRI" in page
    assert AuditEvent.objects.filter(
        model="crf.tumorresponse", object_pk=str(recist.pk), reason=body["reason"]
    ).exists()


# Queries ----------------------------------------------------------------------------------------


def test_query_raise_answer_close_in_the_audit_trail(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """Data manager raises on a field, the site answers, the monitor closes; each step audited."""
    subject = randomize()
    assessment_id = save_tumor(trial, subject, -20, 50, 40)
    raise_url = f"/subjects/{subject.subject_id}/queries/new/"
    form = {
        "form": "tumor_assessment",
        "record_id": assessment_id,
        "field": "target",
        "text": "T1 on which series?",
    }
    assert page_client("coordinator").post(raise_url, form).status_code == 403
    bad = page_client("data_manager").post(raise_url, {**form, "field": "no_such_field"})
    assert bad.status_code == 422
    assert not DataQuery.objects.exists()
    prefilled = page_client("data_manager").get(
        f"{raise_url}?form=tumor_assessment&record_id={assessment_id}&field=target"
    )
    assert 'value="target"' in text(prefilled)
    raised = page_client("data_manager").post(raise_url, form)
    assert raised.status_code == 302
    query = DataQuery.objects.get()
    assert raised["Location"] == f"/queries/{query.pk}/"
    assert (
        page_client("monitor").post(f"/queries/{query.pk}/answer/", {"answer": "x"}).status_code
        == 403
    )
    answered = page_client("coordinator").post(
        f"/queries/{query.pk}/answer/", {"answer": "series 4, arterial phase"}
    )
    assert answered.status_code == 302
    assert (
        page_client("coordinator").post(f"/queries/{query.pk}/close/", {"note": "ok"}).status_code
        == 403
    )
    closed = page_client("monitor").post(
        f"/queries/{query.pk}/close/", {"note": "confirmed on source"}
    )
    assert closed.status_code == 302
    query.refresh_from_db()
    assert (query.status, query.answered_by, query.closed_by) == (
        "closed",
        "u_coordinator",
        "u_monitor",
    )
    trail = AuditEvent.objects.filter(model="queries.dataquery", object_pk=str(query.pk)).order_by(
        "id"
    )
    assert [event.actor for event in trail] == ["u_data_manager", "u_coordinator", "u_monitor"]
    assert {event.source for event in trail} == {"ui"}
    assert "series 4, arterial phase" in trail[1].reason
    assert "confirmed on source" in trail[2].reason
    page = text(page_client("investigator").get(f"/queries/{query.pk}/"))
    assert "series 4, arterial phase" in page
    assert "confirmed on source" in page


def test_query_listing_filters_and_streamed_csv(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """The listing filters by status; the export streams the same rows as CSV; other site hidden."""
    from ikctrial.web.queries.services import query_answer, query_raise

    own = randomize()
    other = randomize(OTHER_SITE)
    own_id = save_tumor(trial, own, -20, 50, 40)
    other_id = crf_record_save(
        actor="test-operator",
        subject_id=other.subject_id,
        form="tumor_assessment",
        data=tumor_record(other.day(-20), 30, 30),
    ).record.pk
    first = query_raise(
        actor="test-operator",
        subject_id=own.subject_id,
        form="tumor_assessment",
        record_id=own_id,
        field="modality",
        text="CT or MRI?",
    )
    query_raise(
        actor="test-operator",
        subject_id=own.subject_id,
        form="tumor_assessment",
        record_id=own_id,
        field="target",
        text="T1 size?",
    )
    elsewhere = query_raise(
        actor="test-operator",
        subject_id=other.subject_id,
        form="tumor_assessment",
        record_id=other_id,
        field="target",
        text="other site",
    )
    query_answer(actor=trial.users["coordinator"], query_id=first.pk, answer="CT")
    client = page_client("monitor")
    page = text(client.get("/queries/"))
    assert "CT or MRI?" in page
    assert "T1 size?" in page
    assert "other site" not in page
    answered = text(client.get("/queries/?status=answered"))
    assert "CT or MRI?" in answered
    assert "T1 size?" not in answered
    assert "format=csv" in answered
    export = client.get("/queries/?status=open&format=csv")
    assert export.status_code == 200
    assert export.streaming
    assert export["Content-Type"].startswith("text/csv")
    assert "attachment" in export["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [(row["text"], row["status"], row["site"]) for row in rows] == [
        ("T1 size?", "open", "SITEA")
    ]
    assert client.get("/queries/?status=bogus").status_code == 422
    assert client.get(f"/queries/{elsewhere.pk}/").status_code == 404
    assert client.post(f"/queries/{elsewhere.pk}/close/", {"note": "x"}).status_code == 404
    assert page_client("statistician").get("/queries/").status_code == 403
    assert page_client("reader").get("/queries/?format=csv").status_code == 403


# Electronic signatures and lock ----------------------------------------------------------------


def test_signature_needs_the_right_password(
    passwords: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """A wrong password signs nothing (the failure is recorded); the right one stamps name, time,
    meaning on the signature and in the audit trail."""
    subject = randomize()
    url = f"/subjects/{subject.subject_id}/sign/"
    client = page_client("investigator")
    wrong = client.post(url, {"meaning": "approval", "password": "guess"})
    assert wrong.status_code == 403
    assert 'href="#id_password"' in text(wrong)
    assert not Signature.objects.exists()
    assert SignatureFailure.objects.filter(username="u_investigator").count() == 1
    assert (
        page_client("coordinator")
        .post(url, {"meaning": "approval", "password": PASSWORD})
        .status_code
        == 403
    )
    good = client.post(url, {"meaning": "approval", "password": PASSWORD})
    assert good.status_code == 302
    signature = Signature.objects.get()
    assert (signature.signer_name, signature.meaning, signature.scope) == (
        "Investigator Tester",
        "approval",
        "casebook",
    )
    event = AuditEvent.objects.get(model="signatures.signature", object_pk=str(signature.pk))
    assert event.actor == "u_investigator"
    assert "approval" in event.reason
    page = text(client.get(f"/subjects/{subject.subject_id}/signatures/"))
    assert "Investigator Tester" in page
    assert "Approved" in page
    assert "covers the casebook as it is" in page


def test_locked_subject_refuses_edits_until_unlocked_with_reason(
    passwords: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """Lock (signed) -> the page refuses the entry (409, nothing stored); unlock needs a reason."""
    subject = randomize()
    lock_url = f"/subjects/{subject.subject_id}/lock/"
    dm = page_client("data_manager")
    assert (
        page_client("investigator")
        .post(lock_url, {"action": "lock", "password": PASSWORD})
        .status_code
        == 403
    )
    locked = dm.post(lock_url, {"action": "lock", "password": PASSWORD})
    assert locked.status_code == 302
    assert SubjectLock.objects.get(subject_id=subject.subject_id).state == "locked"
    entry = page_client("coordinator").post(
        f"/subjects/{subject.subject_id}/tumor/new/", lesion_form(subject.day(-20), 50, 40)
    )
    assert entry.status_code == 409
    assert "locked" in text(entry)
    assert not TumorAssessment.objects.filter(subject_id=subject.subject_id).exists()
    no_reason = dm.post(lock_url, {"action": "unlock", "password": PASSWORD})
    assert no_reason.status_code == 422
    assert 'href="#id_reason"' in text(no_reason)
    assert SubjectLock.objects.get(subject_id=subject.subject_id).state == "locked"
    unlocked = dm.post(
        lock_url, {"action": "unlock", "password": PASSWORD, "reason": "late lab result to enter"}
    )
    assert unlocked.status_code == 302
    unlock = Signature.objects.get(action="unlock")
    assert unlock.reason == "late lab result to enter"
    assert AuditEvent.objects.filter(
        model="signatures.subjectlock", reason="late lab result to enter"
    ).exists()
    again = page_client("coordinator").post(
        f"/subjects/{subject.subject_id}/tumor/new/", lesion_form(subject.day(-20), 50, 40)
    )
    assert again.status_code == 302


def test_study_lock_refuses_every_subject(
    passwords: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """The whole-study lock (data manager, signed) refuses entries on any subject until unlocked."""
    subject = randomize()
    dm = page_client("data_manager")
    assert page_client("monitor").get("/study/lock/").status_code == 403
    assert dm.post("/study/lock/", {"action": "lock", "password": "guess"}).status_code == 403
    assert not StudyLock.objects.exists()
    assert dm.post("/study/lock/", {"action": "lock", "password": PASSWORD}).status_code == 302
    assert "locked" in text(dm.get("/study/lock/"))
    entry = page_client("investigator").post(
        f"/subjects/{subject.subject_id}/tumor/new/", lesion_form(subject.day(-20), 50, 40)
    )
    assert entry.status_code == 409
    assert dm.post("/study/lock/", {"action": "unlock", "password": PASSWORD}).status_code == 422
    assert (
        dm.post(
            "/study/lock/", {"action": "unlock", "password": PASSWORD, "reason": "query follow-up"}
        ).status_code
        == 302
    )
    entry = page_client("investigator").post(
        f"/subjects/{subject.subject_id}/tumor/new/", lesion_form(subject.day(-20), 50, 40)
    )
    assert entry.status_code == 302


# Blinded independent review --------------------------------------------------------------------


def test_reader_never_sees_arm_or_treatment(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """The reader's pages show lesion identification only; the subject page and API are closed."""
    subject = randomize()
    save_tumor(trial, subject, -20, 50, 40)
    crf_record_save(
        actor="test-operator",
        subject_id=subject.subject_id,
        form="tace_procedure",
        data={
            "performed_on": subject.day(1),
            "technique": "cTACE",
            "chemotherapy_agent": "epirubicin",
        },
    )
    reader = page_client("reader")
    arms = {arm.code for arm in current_protocol().arms} | {
        arm.name for arm in current_protocol().arms
    }
    for url in ("/review/", f"/review/{subject.subject_id}/"):
        page = text(reader.get(url))
        for word in (*arms, "cTACE", "epirubicin", "TACE", "IKC", "andomiz"):
            assert word not in page, (url, word)
    dashboard = text(reader.get("/"))
    assert not [word for word in (*arms, "epirubicin") if word in dashboard]
    assert "T1" in text(reader.get(f"/review/{subject.subject_id}/"))
    assert 'href="/review/"' in text(reader.get("/"))
    assert 'href="/review/"' not in text(page_client("investigator").get("/"))
    assert reader.get(f"/subjects/{subject.subject_id}/").status_code == 404
    assert reader.get(f"/subjects/{subject.subject_id}/tumor/").status_code == 404
    api = Client(HTTP_AUTHORIZATION=f"Bearer {trial.tokens['reader']}")
    assert api.get(f"/api/v1/subjects/{subject.subject_id}").status_code == 404
    assert api.get(f"/api/v1/subjects/{subject.subject_id}/tumor-response").status_code in {
        403,
        404,
    }


def test_reader_enters_own_reads_derived_apart_from_the_site(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """The reader's reads are stored apart, derived by the same engine; the site's stay."""
    subject = randomize()
    site_first = save_tumor(trial, subject, -20, 50, 40)
    save_tumor(trial, subject, 40, 48, 20)
    reader = page_client("reader")
    url = f"/review/{subject.subject_id}/"
    form = lesion_form(subject.day(-20), 60, 50)
    with_afp = reader.post(url, {**form, "afp_within_normal_limits": "yes"})
    assert with_afp.status_code == 302
    assert reader.post(url, lesion_form(subject.day(40), 30, 10)).status_code == 302
    reads = list(CentralRead.objects.filter(subject_id=subject.subject_id).order_by("assessed_on"))
    assert [read.reader for read in reads] == ["u_reader", "u_reader"]
    second = reads[1].responses
    assert (second["RECIST1.1"]["sum_mm"], second["RECIST1.1"]["nadir_mm"]) == (30, 60)
    assert second["RECIST1.1"]["target_response"] == "PR"
    assert second["mRECIST"]["sum_mm"] == 10
    page = text(reader.get(url))
    assert cells(page, "sum") == ["60", "50", "30", "10"]
    assert TumorAssessment.objects.get(pk=site_first).target[0]["diameter_mm"] == 50
    duplicate = reader.post(url, lesion_form(subject.day(40), 31, 10))
    assert duplicate.status_code == 409
    correct = f"/review/{subject.subject_id}/reads/{reads[1].pk}/"
    assert reader.post(correct, lesion_form(subject.day(40), 31, 10)).status_code == 422
    assert (
        reader.post(correct, lesion_form(subject.day(40), 31, 10, reason="re-read")).status_code
        == 302
    )
    reads[1].refresh_from_db()
    assert reads[1].responses["RECIST1.1"]["sum_mm"] == 31


@pytest.mark.parametrize("role", sorted(set(Role) - {Role.READER}))
def test_only_the_reader_reads(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient, role: str
) -> None:
    """Every other role is refused the reader's pages; nothing is stored."""
    subject = randomize()
    save_tumor(trial, subject, -20, 50, 40)
    client = page_client(role)
    assert client.get("/review/").status_code == 403
    assert (
        client.post(
            f"/review/{subject.subject_id}/", lesion_form(subject.day(-20), 1, 1)
        ).status_code
        == 403
    )
    assert not CentralRead.objects.exists()


def test_reader_other_site_is_404_and_lock_applies(
    passwords: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """Another site's subject is 404 for the reader; a locked casebook refuses the read."""
    other = randomize(OTHER_SITE)
    crf_record_save(
        actor="test-operator",
        subject_id=other.subject_id,
        form="tumor_assessment",
        data=tumor_record(other.day(-20), 50, 40),
    )
    reader = page_client("reader")
    assert reader.get(f"/review/{other.subject_id}/").status_code == 404
    own = randomize()
    save_tumor(passwords, own, -20, 50, 40)
    page_client("data_manager").post(
        f"/subjects/{own.subject_id}/lock/", {"action": "freeze", "password": PASSWORD}
    )
    refused = reader.post(f"/review/{own.subject_id}/", lesion_form(own.day(-20), 50, 40))
    assert refused.status_code == 409
    assert not CentralRead.objects.exists()


def test_review_pages_speak_traditional_chinese(
    passwords: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """The review pages render in zh-Hant when the user chooses it."""
    subject = randomize()
    assessment_id = save_tumor(passwords, subject, -20, 50, 40)
    client = page_client("data_manager")
    client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/"})
    tumor = text(client.get(f"/subjects/{subject.subject_id}/tumor/{assessment_id}/"))
    assert "直徑總和" in tumor
    assert "對此時間點提出質疑" in tumor
    assert "簽署並執行" in text(client.get(f"/subjects/{subject.subject_id}/signatures/"))
    assert "匯出 CSV" in text(client.get("/queries/"))
