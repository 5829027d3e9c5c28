"""Case report forms through the API: scoping, roles, dates, derivations and the audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from tests.web.conftest import OTHER_SITE, Trial
from tests.web.crf.conftest import Randomized, post_form, put_form

from ikctrial.web.audit.selectors import record_history
from ikctrial.web.crf.models import AdverseEvent, LabResult, TumorAssessment, Visit, VitalSigns
from ikctrial.web.crf.selectors import sae_clock
from ikctrial.web.subjects.models import Subject


def _lab(day: str, value: float | int, **extra: Any) -> dict[str, Any]:
    return {"collected_on": day, "test": "ALT", "value": value, "unit": "U/L", "uln": 40, **extra}


def _ae(**extra: Any) -> dict[str, Any]:
    return {
        "verbatim_term": "fever after TACE",
        "ctcae_term": "Fever",
        "grade": 2,
        "onset_date": "2026-03-05",
        "relatedness_ikc": "unlikely",
        "relatedness_tace": "probably",
        "outcome": "recovering",
        **extra,
    }


def test_other_site_subject_is_404_and_nothing_stored(
    trial: Trial, randomize: Callable[..., Randomized]
) -> None:
    """interfaces.md: another site's subject answers 404, for reading and for entry."""
    other = randomize(OTHER_SITE)
    assert (
        post_form(
            trial, "coordinator", other.subject_id, "lab_result", _lab(other.day(0), 30)
        ).status_code
        == 404
    )
    assert (
        trial.client("monitor")
        .get(f"/api/v1/subjects/{other.subject_id}/crf/lab_result")
        .status_code
        == 404
    )
    assert LabResult.objects.count() == 0


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("investigator", 201),
        ("coordinator", 201),
        ("admin", 201),
        ("monitor", 403),
        ("data_manager", 403),
        ("qa", 403),
        ("cell_lab", 403),
        ("statistician", 404),  # sees no subject at all (docs/permissions.md)
    ],
)
def test_entry_roles(
    trial: Trial, randomize: Callable[..., Randomized], role: str, status: int
) -> None:
    """crf.enter is for site staff (and admin); a refusal stores nothing."""
    subject = randomize()
    response = post_form(
        trial,
        role,
        subject.subject_id,
        "vital_signs",
        {"measured_at": timezone.now().isoformat(), "temperature_c": 37.2},
    )
    assert response.status_code == status
    assert VitalSigns.objects.count() == (1 if status == 201 else 0)


@pytest.mark.parametrize(
    ("form", "data", "field"),
    [
        ("lab_result", _lab("2026-02-27", 30), "collected_on"),  # before consent 2026-03-01
        ("adverse_event", _ae(onset_date="2026-02-28"), "onset_date"),
        ("tace_procedure", {"performed_on": "2026-03-02", "technique": "cTACE"}, "performed_on"),
        ("lab_result", _lab("2999-01-01", 30), "collected_on"),  # in the future
        ("lab_result", _lab("2026-03-05", 30, unit="mg/L"), "unit"),  # not an ALT unit
        ("lab_result", _lab("2026-03-05", -3), "value"),
        ("lab_result", {**_lab("2026-03-05", 30), "colour": "red"}, "colour"),
        ("adverse_event", _ae(hospitalization=True), "site_aware_at"),  # SAE without awareness
        ("adverse_event", _ae(grade=5), "grade"),
        ("adverse_event", _ae(ongoing=False, end_date="2026-03-04"), "end_date"),
        ("visit", {"code": "imaging_99", "done_on": "2026-03-05"}, "code"),
        ("study_exit", {"status": "completed", "exit_date": "2026-03-05"}, "exit_date"),
        ("study_exit", {"status": "withdrawn", "exit_date": "2026-10-01"}, "reason"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    trial: Trial, randomize: Callable[..., Randomized], form: str, data: dict[str, Any], field: str
) -> None:
    """Bad input answers 422 with the field named, and nothing is stored."""
    subject = randomize()
    response = post_form(trial, "coordinator", subject.subject_id, form, data)
    assert response.status_code == 422, response.content
    assert (
        response.json()["detail"].startswith(f"{field}:")
        or f".{field}:" in response.json()["detail"]
    )
    assert LabResult.objects.count() + AdverseEvent.objects.count() + Visit.objects.count() == 0


def test_tace_before_randomization_is_refused(
    trial: Trial, randomize: Callable[..., Randomized]
) -> None:
    """TACE is protocol treatment from day 0 (domain.md 1.3): a date before RANDDT is 422."""
    subject = randomize()
    response = post_form(
        trial,
        "coordinator",
        subject.subject_id,
        "tace_procedure",
        {"performed_on": subject.day(-1), "technique": "cTACE"},
    )
    assert response.status_code == 422
    assert "before the randomization date" in response.json()["detail"]


def test_visit_out_of_window_is_kept_and_flagged(
    trial: Trial, randomize: Callable[..., Randomized]
) -> None:
    """domain.md 1.5: a visit outside its window is kept and flagged OUT_OF_WINDOW."""
    subject = randomize()
    ok = post_form(
        trial,
        "coordinator",
        subject.subject_id,
        "visit",
        {"code": "randomization", "done_on": subject.day(0)},
    )
    late = post_form(
        trial,
        "coordinator",
        subject.subject_id,
        "visit",
        {"code": "screening", "done_on": subject.day(-29)},
    )
    assert ok.status_code == 201
    assert late.status_code == 201
    assert ok.json()["out_of_window"] is False
    assert ok.json()["study_day"] == 1
    assert late.json()["out_of_window"] is True
    assert late.json()["study_day"] == -29
    calendar = trial.client("monitor").get(f"/api/v1/subjects/{subject.subject_id}/visits").json()
    by_code = {row["code"]: row for row in calendar}
    assert by_code["screening"]["status"] == "out_of_window"
    assert by_code["imaging_1"]["target_date"] == subject.day(56)
    assert by_code["imaging_1"]["window_start"] == subject.day(49)


def test_screening_and_randomization_are_done_on_the_subjects_own_dates(
    trial: Trial, randomize: Callable[..., Randomized]
) -> None:
    """Nobody records screening and randomization twice: the calendar takes the subject's dates."""
    subject = randomize()
    calendar = trial.client("monitor").get(f"/api/v1/subjects/{subject.subject_id}/visits").json()
    by_code = {row["code"]: row for row in calendar}
    assert by_code["randomization"]["done_on"] == subject.day(0)
    assert by_code["randomization"]["status"] == "done"
    stored = Subject.objects.get(pk=subject.subject_id).screening_date
    assert by_code["screening"]["done_on"] == stored.isoformat()
    assert by_code["first_tace"]["done_on"] is None  # a procedure visit still needs its record


@pytest.mark.parametrize(
    ("baseline_alt", "later_alt", "later_grade"),
    [
        # domain.md 6.2, ALT with a normal baseline (BL <= ULN = 40): multiples of ULN
        (30, 120, 1),  # ULN < x <= 3 ULN
        (30, 121, 2),  # 3 ULN < x <= 5 ULN
        (30, 800, 3),  # 5 ULN < x <= 20 ULN
        (30, 801, 4),  # x > 20 ULN
        # abnormal baseline (BL = 100 > ULN): multiples of BL, 1.5 BL <= x <= 3 BL is grade 1
        (100, 149, 0),
        (100, 150, 1),
        (100, 301, 2),
    ],
)
def test_lab_graded_against_baseline(
    trial: Trial,
    randomize: Callable[..., Randomized],
    baseline_alt: int,
    later_alt: int,
    later_grade: int,
) -> None:
    """CTCAE v5.0 grade stored on save; BL = last value on/before the first TACE (6.2)."""
    subject = randomize()
    base = post_form(
        trial, "coordinator", subject.subject_id, "lab_result", _lab(subject.day(-3), baseline_alt)
    )
    assert base.status_code == 201, base.content
    assert base.json()["baseline_value"] is None  # baseline-period: graded on its normal range
    assert base.json()["ctcae_term"] == "Alanine aminotransferase increased"
    assert base.json()["ctcae_grade"] == (0 if baseline_alt <= 40 else 1)
    tace = {"performed_on": subject.day(2), "technique": "cTACE"}
    assert (
        post_form(trial, "coordinator", subject.subject_id, "tace_procedure", tace).status_code
        == 201
    )
    later = post_form(
        trial, "coordinator", subject.subject_id, "lab_result", _lab(subject.day(10), later_alt)
    )
    assert later.status_code == 201, later.content
    assert later.json()["baseline_value"] == baseline_alt
    assert later.json()["ctcae_grade"] == later_grade
    assert later.json()["ctcae_version"] == "5.0"


def test_lab_regraded_when_first_tace_moves_baseline(
    trial: Trial, randomize: Callable[..., Randomized]
) -> None:
    """A value before the first TACE is baseline; entering an earlier TACE re-derives (6.2)."""
    subject = randomize()
    post_form(trial, "coordinator", subject.subject_id, "lab_result", _lab(subject.day(-3), 30))
    post_form(trial, "coordinator", subject.subject_id, "lab_result", _lab(subject.day(3), 100))
    later = post_form(
        trial, "coordinator", subject.subject_id, "lab_result", _lab(subject.day(10), 150)
    ).json()
    # no TACE yet: cut-off RANDDT, BL = 30 (normal), 150 > 3 ULN -> grade 2
    assert later["baseline_value"] == 30
    assert later["ctcae_grade"] == 2
    tace = {"performed_on": subject.day(5), "technique": "DEB-TACE"}
    assert (
        post_form(trial, "coordinator", subject.subject_id, "tace_procedure", tace).status_code
        == 201
    )
    # first TACE on day 5: BL = 100 (day 3, abnormal), 150 = 1.5 BL -> grade 1
    stored = LabResult.objects.get(pk=later["id"])
    assert stored.baseline_value == 100
    assert stored.ctcae_grade == 1
    reasons = {e.reason for e in record_history("crf.labresult", later["id"])}
    assert "derived values re-computed after a change to the subject's data" in reasons


def test_sae_clock_due_24h_after_awareness(
    trial: Trial, randomize: Callable[..., Randomized]
) -> None:
    """domain.md 6.6: an SAE's investigator report is due 24 h after first awareness."""
    subject = randomize()
    aware = (timezone.now() - dt.timedelta(hours=30)).replace(microsecond=0)
    response = post_form(
        trial,
        "investigator",
        subject.subject_id,
        "adverse_event",
        _ae(
            onset_date=subject.day(-2),
            hospitalization=True,
            site_aware_at=aware.isoformat(),
            grade=3,
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["serious"] is True
    assert body["related_tace"] is True
    assert body["related_ikc"] is False
    assert dt.datetime.fromisoformat(body["sae_due_at"]) == aware + dt.timedelta(hours=24)
    assert body["sae_clock"]["state"] == "overdue"
    assert body["sae_clock"]["overdue"] is True
    assert -6 * 3600 - 60 <= body["sae_clock"]["remaining_seconds"] <= -6 * 3600 + 60
    event = AdverseEvent.objects.get(pk=body["id"])
    on_time = event.sae_due_at - dt.timedelta(minutes=1)
    event.sae_reported_at = on_time
    assert sae_clock(event)["state"] == "reported_on_time"  # type: ignore[index]
    assert sae_clock(event, now=on_time) is not None


def test_serious_event_listing_is_site_scoped(
    trial: Trial, randomize: Callable[..., Randomized]
) -> None:
    """The SAE listing shows the user's sites' serious events with their clocks, urgent first."""
    own, other = randomize(), randomize(OTHER_SITE)
    aware = timezone.now().replace(microsecond=0)
    for subject, hours in ((own, 2), (own, 20), (other, 1)):
        event = _ae(
            onset_date=subject.day(-2),
            life_threatening=True,
            site_aware_at=(aware - dt.timedelta(hours=hours)).isoformat(),
            grade=4,
        )
        assert (
            post_form(trial, "admin", subject.subject_id, "adverse_event", event).status_code == 201
        )
    post_form(trial, "investigator", own.subject_id, "adverse_event", _ae(onset_date=own.day(-1)))
    rows = trial.client("monitor").get("/api/v1/serious-adverse-events").json()
    assert [row["subject_id"] for row in rows] == [own.subject_id, own.subject_id]
    assert rows[0]["sae_clock"]["remaining_seconds"] < rows[1]["sae_clock"]["remaining_seconds"]
    assert all(row["sae_clock"]["state"] == "due" for row in rows)
    assert trial.client("pharmacist").get("/api/v1/serious-adverse-events").status_code == 403


def test_non_serious_event_has_no_clock(trial: Trial, randomize: Callable[..., Randomized]) -> None:
    """Severity (grade) is not seriousness (6.6): a grade 3 non-serious AE has no report clock."""
    subject = randomize()
    body = post_form(
        trial, "investigator", subject.subject_id, "adverse_event", _ae(grade=3)
    ).json()
    assert body["serious"] is False
    assert body["sae_due_at"] is None
    assert body["sae_clock"] is None


def _tumor(
    day: str, recist_mm: int | None, viable_mm: int | None, new: str = "none"
) -> dict[str, Any]:
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
        "non_target": [],
        "new_lesions": new,
    }


def test_recist_and_mrecist_derived_on_save(
    trial: Trial, randomize: Callable[..., Randomized]
) -> None:
    """domain.md 3.8 pattern: size stable (RECIST SD) while viable tumor shrinks (mRECIST PR/CR)."""
    subject = randomize()
    first = post_form(
        trial,
        "investigator",
        subject.subject_id,
        "tumor_assessment",
        _tumor(subject.day(-20), 50, 40),
    )
    assert first.status_code == 201, first.content
    second = post_form(
        trial,
        "investigator",
        subject.subject_id,
        "tumor_assessment",
        _tumor(subject.day(0), 48, 20),
    )
    assert second.status_code == 201, second.content
    calls = {r["criteria"]: r for r in second.json()["responses"]}
    assert calls["RECIST1.1"]["sum_mm"] == 48
    assert calls["RECIST1.1"]["nadir_mm"] == 50
    assert calls["RECIST1.1"]["pct_change_from_baseline"] == -4.0
    assert calls["RECIST1.1"]["target_response"] == "SD"
    assert calls["mRECIST"]["sum_mm"] == 20
    assert calls["mRECIST"]["pct_change_from_baseline"] == -50.0
    assert calls["mRECIST"]["target_response"] == "PR"
    document = (
        trial.client("monitor").get(f"/api/v1/subjects/{subject.subject_id}/tumor-response").json()
    )
    assert {s["criteria"] for s in document["summaries"]} == {"RECIST1.1", "mRECIST"}


def test_investigator_disagreement_kept_next_to_derived(
    trial: Trial, randomize: Callable[..., Randomized]
) -> None:
    """The investigator's call and reason are stored; the derived call stays as it was."""
    subject = randomize()
    post_form(
        trial,
        "investigator",
        subject.subject_id,
        "tumor_assessment",
        _tumor(subject.day(-20), 50, 40),
    )
    second = post_form(
        trial,
        "investigator",
        subject.subject_id,
        "tumor_assessment",
        _tumor(subject.day(0), 48, 20),
    ).json()
    url = f"/api/v1/subjects/{subject.subject_id}/tumor-response/{second['id']}/RECIST1.1"
    body = {"investigator_response": "PR", "reason": "necrosis on MRI read by two radiologists"}
    assert (
        trial.client("coordinator").put(url, body, content_type="application/json").status_code
        == 403
    )
    response = trial.client("investigator").put(url, body, content_type="application/json")
    assert response.status_code == 200
    point = next(a for a in response.json()["assessments"] if a["id"] == second["id"])
    recist = next(r for r in point["responses"] if r["criteria"] == "RECIST1.1")
    assert recist["target_response"] == "SD"
    assert recist["investigator_response"] == "PR"
    assert recist["disagreement_reason"].startswith("necrosis")


def test_correction_needs_reason_and_is_audited(
    trial: Trial, randomize: Callable[..., Randomized]
) -> None:
    """A change after first save needs a reason; the audit trail keeps old, new and the reason."""
    subject = randomize()
    created = post_form(
        trial, "coordinator", subject.subject_id, "lab_result", _lab(subject.day(-3), 30)
    ).json()
    no_reason = put_form(
        trial,
        "coordinator",
        subject.subject_id,
        "lab_result",
        created["id"],
        _lab(subject.day(-3), 35),
        " ",
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"].startswith("reason:")
    fixed = put_form(
        trial,
        "coordinator",
        subject.subject_id,
        "lab_result",
        created["id"],
        _lab(subject.day(-3), 35),
        "transcription error",
    )
    assert fixed.status_code == 200
    assert fixed.json()["value"] == 35
    events = list(record_history("crf.labresult", created["id"]))
    assert [e.action for e in events] == ["create", "update"]
    assert events[1].reason == "transcription error"
    assert events[1].actor == "u_coordinator"
    assert events[1].changes == {"value": ["30.0000", "35.0000"]}


def test_unknown_form_is_404(trial: Trial, randomize: Callable[..., Randomized]) -> None:
    """A form that does not exist answers 404."""
    subject = randomize()
    assert post_form(trial, "coordinator", subject.subject_id, "horoscope", {}).status_code == 404
    assert TumorAssessment.objects.count() == 0


def test_progression_against_nadir_stored(
    trial: Trial, randomize: Callable[..., Randomized]
) -> None:
    """domain.md 2.5: PD is >= 20 % and >= 5 mm above the nadir (here 30 -> 40 mm), dated."""
    subject = randomize()
    for day, size in ((-10, 50), (20, 30), (40, 40)):
        saved = post_form(
            trial,
            "investigator",
            subject.subject_id,
            "tumor_assessment",
            _tumor(subject.day(day), size, size),
        )
        assert saved.status_code == 201, saved.content
    calls = {r["criteria"]: r for r in saved.json()["responses"]}
    recist = calls["RECIST1.1"]
    assert recist["nadir_mm"] == 30
    assert recist["sum_mm"] == 40
    assert recist["pct_change_from_nadir"] == 33.33
    assert recist["overall_response"] == "PD"
    document = trial.client("investigator").get(
        f"/api/v1/subjects/{subject.subject_id}/tumor-response"
    )
    summary = {s["criteria"]: s for s in document.json()["summaries"]}["RECIST1.1"]
    assert summary["progression_date"] == subject.day(40)
    assert summary["best_pct_change"] == -40.0


@pytest.mark.parametrize(
    ("form", "data"),
    [
        ("visit", {"code": "randomization", "done_on": "{day0}"}),
        ("tumor_assessment", _tumor("{day0}", 50, 40)),
        ("study_exit", {"status": "completed", "exit_date": "{day0}"}),
    ],
)
def test_second_record_of_a_unique_form_is_409(
    trial: Trial, randomize: Callable[..., Randomized], form: str, data: dict[str, Any]
) -> None:
    """One visit per code, one scan per date, one exit per subject: a second is a conflict."""
    subject = randomize()
    body = {key: subject.day(0) if value == "{day0}" else value for key, value in data.items()}
    assert post_form(trial, "coordinator", subject.subject_id, form, body).status_code == 201
    again = post_form(trial, "coordinator", subject.subject_id, form, body)
    assert again.status_code == 409
    assert "already recorded" in again.json()["detail"]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("investigator", 200),
        ("coordinator", 200),
        ("qa", 200),
        ("data_manager", 200),
        ("monitor", 200),
        ("admin", 200),
        ("cell_lab", 403),
        ("pharmacist", 403),
        ("statistician", 404),
    ],
)
def test_reading_roles(
    trial: Trial, randomize: Callable[..., Randomized], role: str, status: int
) -> None:
    """crf.view: site staff, QA, data management, monitoring (docs/permissions.md)."""
    subject = randomize()
    url = f"/api/v1/subjects/{subject.subject_id}/crf/adverse_event"
    assert trial.client(role).get(url).status_code == status


def test_no_entry_before_consent(trial: Trial, screen: Callable[..., int]) -> None:
    """A screened subject without a signed consent has no study data yet (409)."""
    subject_id = screen()
    response = post_form(trial, "coordinator", subject_id, "lab_result", _lab("2026-03-02", 30))
    assert response.status_code == 409
    assert LabResult.objects.count() == 0
