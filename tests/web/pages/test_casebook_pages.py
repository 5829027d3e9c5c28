"""The casebook pages: schedule and CRF summary on the subject page, CRF entry and correction.

Per role: who sees the pages (CRF view), who enters (CRF entry), 403 for the others, 404 for
another site's subject. Saving goes through the CRF service (records, audit events with the
reason on a correction, edit-check queries); invalid input re-renders the form with the field's
error and stores nothing. Derived values on the pages: CTCAE v5.0 grades (baseline-dependent after
the first TACE, domain.md 6.2), the 24-hour SAE clock (6.6), out-of-window visits (1.5).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from tests.web.conftest import OTHER_SITE, Trial
from tests.web.crf.conftest import Randomized
from tests.web.crf.conftest import randomize as randomize  # the fixture, for these tests

from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.audit.selectors import record_history
from ikctrial.web.crf.selectors import FORM_MODELS
from ikctrial.web.pages.crf_forms import CRF_FORMS
from ikctrial.web.queries.models import DataQuery
from ikctrial.web.sites.permissions import PERMISSIONS, Action, Role

PageClient = Callable[[str], Client]
ZONE = ZoneInfo("Asia/Taipei")  # SITEA's zone: form times are entered and shown in it
VIEWERS = sorted(PERMISSIONS[Action.CRF_VIEW])
SITE_VIEWERS = sorted(PERMISSIONS[Action.CRF_VIEW] - {Role.ADMIN})  # admin sees every site
ENTERERS = sorted(PERMISSIONS[Action.CRF_ENTER])
VIEW_ONLY = sorted(PERMISSIONS[Action.CRF_VIEW] - PERMISSIONS[Action.CRF_ENTER])
NO_CRF = sorted(PERMISSIONS[Action.SUBJECT_VIEW] - PERMISSIONS[Action.CRF_VIEW])
NO_SUBJECT = sorted(set(Role) - PERMISSIONS[Action.SUBJECT_VIEW])
FORMS = sorted(CRF_FORMS)


def text(response: Any) -> str:
    return response.content.decode()


def local(moment: dt.datetime) -> str:
    """A time as a datetime-local input sends it, in the site's zone."""
    return moment.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")


def valid_post(form: str, subject: Randomized) -> dict[str, str]:
    """A valid page POST of each form (what a coordinator types in)."""
    return {
        "visit": {"code": "randomization", "done_on": subject.day(0)},
        "lab_result": {
            "collected_on": subject.day(0),
            "test": "ALT",
            "value": "150",
            "unit": "U/L",
            "uln": "40",
        },
        "vital_signs": {
            "measured_at": local(timezone.now() - dt.timedelta(hours=1)),
            "timepoint": "visit",
            "systolic_mmhg": "128",
            "diastolic_mmhg": "82",
            "temperature_c": "36.8",
        },
        "immune_panel": {
            "collected_on": subject.day(0),
            "analyte": "CD8",
            "value": "24.5",
            "unit": "percent_lymphocytes",
        },
        "tace_procedure": {
            "performed_on": subject.day(1),
            "technique": "cTACE",
            "chemotherapy_agent": "doxorubicin",
            "dose_mg": "50",
            "complete": "on",
        },
        "concomitant_medication": {
            "name": "entecavir",
            "indication": "hepatitis B",
            "start_date": subject.day(-10),
            "ongoing": "on",
        },
        "adverse_event": {
            "verbatim_term": "fever after TACE",
            "ctcae_term": "Fever",
            "grade": "2",
            "onset_date": subject.day(2),
            "ongoing": "on",
            "relatedness_ikc": "unlikely",
            "relatedness_tace": "probably",
            "outcome": "recovering",
        },
        "study_exit": {
            "status": "withdrawn",
            "exit_date": subject.day(20),
            "reason": "consent_withdrawn",
            "last_contact_date": subject.day(20),
        },
    }[form]


def url(subject: Randomized, form: str, record: int | str | None = None) -> str:
    base = f"/subjects/{subject.subject_id}/crf/{form}/"
    return base if record is None else f"{base}{record}/"


def stored(form: str) -> int:
    return FORM_MODELS[form].objects.count()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("role", VIEWERS)
def test_pages_render_for_viewers(
    trial: Trial,
    randomize: Callable[..., Randomized],
    page_client: PageClient,
    role: str,
    form: str,
) -> None:
    """Every CRF viewer sees the list and a saved record; only site staff get the entry form."""
    subject = randomize()
    entered = page_client(Role.COORDINATOR).post(
        url(subject, form, "new"), valid_post(form, subject)
    )
    assert entered.status_code == 302
    record = FORM_MODELS[form].objects.get()
    client = page_client(role)
    listing = client.get(url(subject, form))
    assert listing.status_code == 200
    assert str(CRF_FORMS[form].title) in text(listing)
    assert f'href="{url(subject, form, record.pk)}"' in text(listing)
    shown = client.get(url(subject, form, record.pk))
    assert shown.status_code == 200
    entry = client.get(url(subject, form, "new"))
    if role in ENTERERS:
        assert entry.status_code == 200
        assert "Save" in text(entry)
        assert "Reason for the change" in text(shown)
    else:
        assert entry.status_code == 403
        assert "Save the correction" not in text(shown)
        assert client.post(url(subject, form, record.pk), {}).status_code == 403


@pytest.mark.parametrize("role", NO_CRF)
def test_roles_without_crf_access_are_403(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient, role: str
) -> None:
    """Roles that see the subject but not its CRFs: 403, and no casebook on the subject page."""
    subject = randomize()
    client = page_client(role)
    for form in FORMS:
        assert client.get(url(subject, form)).status_code == 403
        assert client.get(url(subject, form, "new")).status_code == 403
    page = text(client.get(f"/subjects/{subject.subject_id}/"))
    assert "Visit schedule" in page  # the calendar is not CRF data
    assert "Case report forms" not in page


@pytest.mark.parametrize("role", [*NO_SUBJECT, *SITE_VIEWERS])
def test_other_site_subject_is_404(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient, role: str
) -> None:
    """Another site's subject (and, for the statistician, any subject) answers 404; no save."""
    other = randomize(OTHER_SITE)
    own = randomize()
    client = page_client(role)
    for form in FORMS:
        assert client.get(url(other, form)).status_code == 404
        assert client.get(url(other, form, "new")).status_code == 404
        assert client.post(url(other, form, "new"), valid_post(form, other)).status_code == 404
        if role in NO_SUBJECT:
            assert client.get(url(own, form)).status_code == 404
    assert all(stored(form) == 0 for form in FORMS)


def test_unknown_form_and_record_are_404(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """A form without pages here, or another subject's record, is 404."""
    subject, second = randomize(), randomize()
    client = page_client(Role.COORDINATOR)
    assert client.get(url(subject, "no_such_form")).status_code == 404
    client.post(url(second, "lab_result", "new"), valid_post("lab_result", second))
    record = FORM_MODELS["lab_result"].objects.get()
    assert client.get(url(subject, "lab_result", record.pk)).status_code == 404
    assert client.get(url(second, "lab_result", record.pk)).status_code == 200


@pytest.mark.parametrize("form", FORMS)
def test_save_creates_the_record_and_its_audit_event(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient, form: str
) -> None:
    """A valid form saves one record through the service, audited as the user, source ui."""
    subject = randomize()
    response = page_client(Role.COORDINATOR).post(
        url(subject, form, "new"), valid_post(form, subject)
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    record = FORM_MODELS[form].objects.get()
    assert record.subject_id == subject.subject_id
    assert record.entered_by == "u_coordinator"
    model = FORM_MODELS[form]._meta.label_lower
    created = record_history(model, record.pk).get(action=AuditEvent.Action.CREATE)
    assert created.actor == "u_coordinator"
    assert created.source == "ui"
    assert created.reason == ""


@pytest.mark.parametrize(
    ("form", "changes", "field", "message"),
    [
        ("lab_result", {"value": "high"}, "value", "Enter a number"),
        ("lab_result", {"test": "ALT", "unit": "g/dL"}, "unit", "g/dL"),  # core: not an ALT unit
        ("lab_result", {"collected_on": ""}, "collected_on", "This field is required"),
        ("vital_signs", {"temperature_c": "50"}, "temperature_c", "less than or equal to 46"),
        ("vital_signs", {"measured_at": "2099-01-01T08:00"}, "measured_at", "is in the future"),
        ("immune_panel", {"value": "", "below_lloq": "on"}, "lloq", "required when below_lloq"),
        ("tace_procedure", {"technique": "surgery"}, "technique", "Select a valid choice"),
        ("concomitant_medication", {"end_date": "2026-03-01"}, "end_date", "ongoing"),
        ("adverse_event", {"hospitalization": "on"}, "site_aware_at", "24 h clock"),
        ("adverse_event", {"grade": "5"}, "grade", "results_in_death"),
        ("study_exit", {"reason": ""}, "reason", "required for a withdrawal"),
        ("visit", {"code": "infusion_99"}, "code", "Select a valid choice"),
    ],
)
def test_invalid_input_rerenders_with_the_field_error(
    trial: Trial,
    randomize: Callable[..., Randomized],
    page_client: PageClient,
    form: str,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    """422, the form again with the error on its field (marked invalid), nothing stored."""
    subject = randomize()
    events = AuditEvent.objects.count()
    data = {**valid_post(form, subject), **changes}
    response = page_client(Role.INVESTIGATOR).post(url(subject, form, "new"), data)
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert f'id="id_{field}"' in text(response)
    assert 'aria-invalid="true"' in text(response)
    assert stored(form) == 0
    assert AuditEvent.objects.count() == events


def test_correction_needs_a_reason_and_is_audited_with_it(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """Without a reason: 422 on the reason field, unchanged; with one: the update carries it."""
    subject = randomize()
    client = page_client(Role.COORDINATOR)
    client.post(
        url(subject, "concomitant_medication", "new"), valid_post("concomitant_medication", subject)
    )
    record = FORM_MODELS["concomitant_medication"].objects.get()
    edit = client.get(url(subject, "concomitant_medication", record.pk))
    assert edit.context["form"]["name"].value() == "entecavir"
    changed = {**valid_post("concomitant_medication", subject), "dose": "0.5 mg daily"}
    refused = client.post(url(subject, "concomitant_medication", record.pk), changed)
    assert refused.status_code == 422
    assert "change_reason" in refused.context["form"].errors
    record.refresh_from_db()
    assert record.dose == ""
    saved = client.post(
        url(subject, "concomitant_medication", record.pk),
        {**changed, "change_reason": "dose missed on first entry"},
    )
    assert saved.status_code == 302
    record.refresh_from_db()
    assert record.dose == "0.5 mg daily"
    update = record_history("crf.concomitantmedication", record.pk).get(
        action=AuditEvent.Action.UPDATE
    )
    assert update.reason == "dose missed on first entry"
    assert update.actor == "u_coordinator"
    assert update.changes["dose"] == ["", "0.5 mg daily"]


def test_abnormal_lab_shows_its_ctcae_grade_against_the_baseline(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """domain.md 6.2: at baseline ALT 150 (ULN 40) is grade 2 on the ULN; after the first TACE,
    with that abnormal baseline, 240 (1.6 BL, 6 ULN) is grade 1 on the baseline, not 3."""
    subject = randomize()
    client = page_client(Role.COORDINATOR)
    client.post(url(subject, "lab_result", "new"), valid_post("lab_result", subject))
    client.post(url(subject, "tace_procedure", "new"), valid_post("tace_procedure", subject))
    later = {**valid_post("lab_result", subject), "collected_on": subject.day(10), "value": "240"}
    client.post(url(subject, "lab_result", "new"), later)
    listing = text(client.get(url(subject, "lab_result")))
    rows = re.findall(r"<tr>(.*?)</tr>", listing, re.S)[1:]
    assert len(rows) == 2
    assert "grade 2" in rows[0]
    assert "Alanine aminotransferase increased" in rows[0]
    assert "CTCAE v5.0" in rows[0]
    assert "grade 1" in rows[1]
    assert "against the baseline 150" in rows[1]
    subject_page = text(client.get(f"/subjects/{subject.subject_id}/"))
    assert "2 lab values are graded 1 or higher by CTCAE v5.0." in subject_page
    entry = text(client.get(url(subject, "lab_result", "new")))
    assert "Upper limit of normal (ULN)" in entry
    assert "10^9/L" in entry  # the units each test accepts


def test_sae_starts_the_24_hour_clock_and_the_pages_show_it(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """domain.md 6.6: a serious event is due at the sponsor 24 h after the site's awareness."""
    subject = randomize()
    aware = (timezone.now() - dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    client = page_client(Role.INVESTIGATOR)
    data = {
        **valid_post("adverse_event", subject),
        "grade": "3",
        "hospitalization": "on",
        "site_aware_at": local(aware),
    }
    assert client.post(url(subject, "adverse_event", "new"), data).status_code == 302
    event = FORM_MODELS["adverse_event"].objects.get()
    assert event.serious is True
    assert event.sae_due_at == aware + dt.timedelta(hours=24)
    due = (aware + dt.timedelta(hours=24)).astimezone(ZONE).strftime("%Y-%m-%d %H:%M")
    for page in (
        text(client.get(url(subject, "adverse_event"))),
        text(client.get(url(subject, "adverse_event", event.pk))),
        text(client.get(f"/subjects/{subject.subject_id}/")),
    ):
        assert "report due" in page
        assert f"due {due}" in page
        assert re.search(r"2[12] h \d+ min left", page)
    late = {**data, "site_aware_at": local(aware - dt.timedelta(hours=30)), "change_reason": "x"}
    client.post(url(subject, "adverse_event", event.pk), late)
    assert "report overdue" in text(client.get(url(subject, "adverse_event", event.pk)))


def test_edit_check_queries_show_next_to_the_field(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """A failing protocol edit check opens a query on save; the record page shows it by the
    field; correcting the value closes it (queries services)."""
    subject = randomize()
    client = page_client(Role.COORDINATOR)
    hot = {**valid_post("vital_signs", subject), "temperature_c": "43"}
    saved = client.post(url(subject, "vital_signs", "new"), hot, follow=True)
    record = FORM_MODELS["vital_signs"].objects.get()
    query = DataQuery.objects.get(form="vital_signs", record_id=record.pk)
    assert query.field == "temperature_c"
    assert saved.redirect_chain[-1][0] == url(subject, "vital_signs", record.pk)
    body = text(saved)
    assert "The edit checks opened 1 query." in body
    boxes = body.split('<div class="crf-field">')
    temperature = next(box for box in boxes if 'id="id_temperature_c"' in box)
    systolic = next(box for box in boxes if 'id="id_systolic_mmhg"' in box)
    assert query.text in temperature
    assert query.text not in systolic
    summary = text(client.get(f"/subjects/{subject.subject_id}/"))
    row = re.search(r"Vital signs</a></th>.*?</tr>", summary, re.S)
    assert row is not None
    assert '<span class="badge unknown">1</span>' in row.group(0)
    assert "Temperature (°C)" in summary  # the query listed under the field's label
    client.post(
        url(subject, "vital_signs", record.pk),
        {**hot, "temperature_c": "38.1", "change_reason": "transcription error"},
    )
    query.refresh_from_db()
    assert query.status == DataQuery.Status.CLOSED
    assert query.text not in text(client.get(url(subject, "vital_signs", record.pk)))


def test_schedule_flags_an_out_of_window_visit_as_a_deviation(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """domain.md 1.5: a visit recorded outside its window is kept, flagged, shown as a deviation."""
    subject = randomize()
    client = page_client(Role.COORDINATOR)
    before = client.get(f"/subjects/{subject.subject_id}/")
    page = text(before)
    assert f"/subjects/{subject.subject_id}/crf/visit/new/?code=imaging_1" in page
    schedule = before.context["schedule"]
    flagged = {row["visit"].code for row in schedule if row["status"] == "out_of_window"}
    assert flagged <= {"screening"}  # the fixture screens long before it randomizes
    late = {"code": "imaging_1", "done_on": subject.day(59)}  # window: day 49 to 63
    assert client.post(url(subject, "visit", "new"), late).status_code == 302
    early = {"code": "first_tace", "done_on": subject.day(30)}  # window: day 0 to 14
    assert client.post(url(subject, "visit", "new"), early).status_code == 302
    page = client.get(f"/subjects/{subject.subject_id}/")
    rows = {row["visit"].code: row for row in page.context["schedule"]}
    assert rows["imaging_1"]["status"] == "done"
    assert rows["first_tace"]["status"] == "out_of_window"
    deviation = next(
        row
        for row in re.findall(r'<tr class="visit-out_of_window">.*?</tr>', text(page), re.S)
        if "First TACE" in row
    )
    assert "Protocol deviation: done outside the window" in deviation
    visit = FORM_MODELS["visit"].objects.get(code="first_tace")
    assert f'href="{url(subject, "visit", visit.pk)}"' in deviation
    assert "Protocol deviation" in text(client.get(url(subject, "visit")))


def test_refusal_by_the_trial_state_is_shown_and_stores_nothing(
    trial: Trial, ready_subject: Callable[..., int], page_client: PageClient
) -> None:
    """A TACE before randomization is refused by the service (409): shown above the form."""
    subject_id = ready_subject()
    subject = Randomized(subject_id, dt.date(2026, 3, 2), "")
    response = page_client(Role.COORDINATOR).post(
        url(subject, "tace_procedure", "new"), valid_post("tace_procedure", subject)
    )
    assert response.status_code == 409
    assert "not randomized" in " ".join(response.context["form"].non_field_errors())
    assert stored("tace_procedure") == 0


def test_one_exit_per_subject(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """End of study is recorded once: no "new" link after, and a second save is refused (409)."""
    subject = randomize()
    client = page_client(Role.INVESTIGATOR)
    assert (
        client.post(
            url(subject, "study_exit", "new"), valid_post("study_exit", subject)
        ).status_code
        == 302
    )
    listing = text(client.get(url(subject, "study_exit")))
    assert url(subject, "study_exit", "new") not in listing
    assert "withdrawn early" in listing
    again = client.post(url(subject, "study_exit", "new"), valid_post("study_exit", subject))
    assert again.status_code == 409
    assert stored("study_exit") == 1
    assert "End of study recorded: withdrawn early" in text(
        client.get(f"/subjects/{subject.subject_id}/")
    )


def test_visit_form_before_randomization_sends_back_with_the_reason(
    trial: Trial, ready_subject: Callable[..., int], page_client: PageClient
) -> None:
    """The calendar starts at randomization: the visit form redirects with the reason, no save."""
    subject = Randomized(ready_subject(), dt.date(2026, 3, 2), "")
    client = page_client(Role.COORDINATOR)
    for response in (
        client.get(url(subject, "visit", "new"), follow=True),
        client.post(url(subject, "visit", "new"), valid_post("visit", subject), follow=True),
    ):
        assert response.redirect_chain == [(f"/subjects/{subject.subject_id}/", 302)]
        assert "the calendar starts at randomization" in text(response)
    assert stored("visit") == 0


def test_casebook_pages_speak_traditional_chinese(
    trial: Trial, randomize: Callable[..., Randomized], page_client: PageClient
) -> None:
    """The casebook and CRF pages are translated (zh-Hant), codes shown by their labels."""
    subject = randomize()
    client = page_client(Role.INVESTIGATOR)
    client.post(url(subject, "adverse_event", "new"), valid_post("adverse_event", subject))
    client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/"})
    page = text(client.get(f"/subjects/{subject.subject_id}/"))
    assert "病例報告表" in page  # "Case report forms"
    assert "不良事件" in page  # "Adverse events"
    entry = text(client.get(url(subject, "adverse_event", "new")))
    assert "與 IKC 的相關性" in entry  # "Relatedness to IKC"
    assert "很可能相關" in text(client.get(url(subject, "adverse_event")))  # "probably related"
