"""21 CFR Part 11 signatures, freeze and lock: re-authentication, meaning, name, time, link."""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone
from tests.web.conftest import Trial
from tests.web.crf.conftest import PASSWORD, Randomized, post_form

from ikctrial.web.audit.selectors import record_history
from ikctrial.web.crf.models import VitalSigns
from ikctrial.web.signatures.models import Signature, SignatureFailure


def _vitals(temperature: float = 37.0) -> dict[str, object]:
    return {"measured_at": timezone.now().isoformat(), "temperature_c": temperature}


def _post(trial: Trial, role: str, url: str, body: dict[str, str]) -> object:
    return trial.client(role).post(f"/api/v1{url}", body, content_type="application/json")


def test_wrong_password_signs_nothing(
    passwords: Trial, randomize: Callable[..., Randomized]
) -> None:
    """11.200: the password is re-entered and checked; a wrong one is refused, nothing stored."""
    subject = randomize()
    response = _post(
        passwords,
        "investigator",
        f"/subjects/{subject.subject_id}/signatures",
        {"password": "guess"},
    )
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert Signature.objects.count() == 0


def test_casebook_signature_has_name_time_meaning_and_link(
    passwords: Trial, randomize: Callable[..., Randomized]
) -> None:
    """11.50 name, time and meaning on the record and in the audit trail; 11.70: a later change
    shows the signature as superseded."""
    subject = randomize()
    post_form(passwords, "coordinator", subject.subject_id, "vital_signs", _vitals())
    assert (
        _post(
            passwords,
            "coordinator",
            f"/subjects/{subject.subject_id}/signatures",
            {"password": PASSWORD},
        ).status_code
        == 403
    )  # type: ignore[attr-defined]
    signed = _post(
        passwords,
        "investigator",
        f"/subjects/{subject.subject_id}/signatures",
        {"password": PASSWORD, "meaning": "approval"},
    )
    assert signed.status_code == 201  # type: ignore[attr-defined]
    body = signed.json()  # type: ignore[attr-defined]
    assert body["signer_name"] == "Investigator Tester"
    assert body["meaning_text"] == "Approved"
    assert body["signed_at"]
    assert len(body["content_hash"]) == 64
    [event] = record_history("signatures.signature", body["id"])
    assert event.actor == "u_investigator"
    assert "electronic signature (approval)" in event.reason
    state = (
        passwords.client("monitor").get(f"/api/v1/subjects/{subject.subject_id}/signatures").json()
    )
    assert state["signatures"][0]["superseded"] is False
    post_form(passwords, "coordinator", subject.subject_id, "vital_signs", _vitals(37.5))
    state = (
        passwords.client("monitor").get(f"/api/v1/subjects/{subject.subject_id}/signatures").json()
    )
    assert state["signatures"][0]["superseded"] is True


def test_lock_refuses_changes_until_recorded_unlock(
    passwords: Trial, randomize: Callable[..., Randomized]
) -> None:
    """A locked casebook refuses every change (409) until a signed unlock with a reason."""
    subject = randomize()
    url = f"/subjects/{subject.subject_id}"
    assert (
        _post(passwords, "investigator", f"{url}/lock", {"password": PASSWORD}).status_code == 403
    )  # type: ignore[attr-defined]
    assert (
        _post(passwords, "data_manager", f"{url}/lock", {"password": PASSWORD}).status_code == 201
    )  # type: ignore[attr-defined]
    for role in ("coordinator", "investigator", "admin"):
        refused = post_form(passwords, role, subject.subject_id, "vital_signs", _vitals())
        assert refused.status_code == 409
        assert "unlock" in refused.json()["detail"]
    assert VitalSigns.objects.count() == 0
    assert (
        _post(passwords, "data_manager", f"{url}/unlock", {"password": PASSWORD})
        .json()["detail"]
        .startswith("reason:")
    )  # type: ignore[attr-defined]
    unlocked = _post(
        passwords,
        "data_manager",
        f"{url}/unlock",
        {"password": PASSWORD, "reason": "late lab result to enter"},
    )
    assert unlocked.status_code == 201  # type: ignore[attr-defined]
    assert (
        post_form(
            passwords, "coordinator", subject.subject_id, "vital_signs", _vitals()
        ).status_code
        == 201
    )
    actions = list(Signature.objects.values_list("action", "reason"))
    assert actions == [("lock", ""), ("unlock", "late lab result to enter")]


def test_freeze_and_study_lock(passwords: Trial, randomize: Callable[..., Randomized]) -> None:
    """Freeze stops data changes; a study lock stops every subject's; unlocking needs a reason."""
    subject = randomize()
    url = f"/subjects/{subject.subject_id}"
    assert (
        _post(passwords, "data_manager", f"{url}/freeze", {"password": PASSWORD}).status_code == 201
    )  # type: ignore[attr-defined]
    assert (
        post_form(
            passwords, "coordinator", subject.subject_id, "vital_signs", _vitals()
        ).status_code
        == 409
    )
    assert (
        _post(passwords, "data_manager", f"{url}/freeze", {"password": PASSWORD}).status_code == 409
    )  # type: ignore[attr-defined]
    _post(
        passwords,
        "data_manager",
        f"{url}/unlock",
        {"password": PASSWORD, "reason": "query follow-up"},
    )
    assert _post(passwords, "data_manager", "/study/lock", {"password": "nope"}).status_code == 403  # type: ignore[attr-defined]
    assert (
        _post(passwords, "data_manager", "/study/lock", {"password": PASSWORD}).status_code == 201
    )  # type: ignore[attr-defined]
    assert (
        post_form(
            passwords, "coordinator", subject.subject_id, "vital_signs", _vitals()
        ).status_code
        == 409
    )
    assert (
        _post(
            passwords,
            "data_manager",
            "/study/unlock",
            {"password": PASSWORD, "reason": "database re-opened for a DSMB query"},
        ).status_code
        == 201
    )  # type: ignore[attr-defined]
    assert (
        post_form(
            passwords, "coordinator", subject.subject_id, "vital_signs", _vitals()
        ).status_code
        == 201
    )


def test_queries_go_on_when_frozen_but_stop_at_lock(
    passwords: Trial, randomize: Callable[..., Randomized]
) -> None:
    """Freeze: queries still raised and answered; lock: refused (409) until unlocked."""
    subject = randomize()
    record = post_form(
        passwords, "coordinator", subject.subject_id, "vital_signs", _vitals()
    ).json()
    body = {
        "subject_id": subject.subject_id,
        "form": "vital_signs",
        "record_id": record["id"],
        "field": "temperature_c",
        "text": "check source",
    }
    url = f"/subjects/{subject.subject_id}"
    _post(passwords, "data_manager", f"{url}/freeze", {"password": PASSWORD})
    raised = passwords.client("monitor").post(
        "/api/v1/queries", body, content_type="application/json"
    )
    assert raised.status_code == 201
    _post(passwords, "data_manager", f"{url}/lock", {"password": PASSWORD})
    locked = passwords.client("monitor").post(
        "/api/v1/queries", body, content_type="application/json"
    )
    assert locked.status_code == 409
    answer = passwords.client("coordinator").post(
        f"/api/v1/queries/{raised.json()['query_id']}/answer",
        {"answer": "ok"},
        content_type="application/json",
    )
    assert answer.status_code == 409


def test_repeated_failures_are_recorded_and_block_signing(
    passwords: Trial, randomize: Callable[..., Randomized]
) -> None:
    """11.300(d): every wrong password is in the audit trail; three block signing for a while."""
    subject = randomize()
    url = f"/subjects/{subject.subject_id}/signatures"
    for _ in range(3):
        assert _post(passwords, "investigator", url, {"password": "wrong"}).status_code == 403  # type: ignore[attr-defined]
    failures = list(SignatureFailure.objects.all())
    assert [f.username for f in failures] == ["u_investigator"] * 3
    assert all(record_history("signatures.signaturefailure", f.pk).exists() for f in failures)
    blocked = _post(passwords, "investigator", url, {"password": PASSWORD})
    assert blocked.status_code == 403  # type: ignore[attr-defined]
    assert "blocked" in blocked.json()["detail"]  # type: ignore[attr-defined]
    assert Signature.objects.count() == 0
    other = _post(
        passwords, "data_manager", f"/subjects/{subject.subject_id}/freeze", {"password": PASSWORD}
    )
    assert other.status_code == 201  # type: ignore[attr-defined]
