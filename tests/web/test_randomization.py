"""Randomization rules (domain.md 9.4; interfaces.md): gating, once only, in error, concealment,
stratum from derived values, slots taken in order, generation once, minimization."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.web.conftest import OPERATOR, Trial, eligible_record

from ikctrial.randomization import permuted_blocks
from ikctrial.web.errors import ConflictError
from ikctrial.web.protocol import current_protocol
from ikctrial.web.randomization.models import AllocationSlot, Randomization, RandomizationList
from ikctrial.web.randomization.services import randomization_generate, subject_randomize

LABS = eligible_record()["labs"]
STRATUM_RECORDS: dict[str, dict[str, Any]] = {
    "bclc=C|child_pugh=A": eligible_record(),
    "bclc=B|child_pugh=A": eligible_record(ecog=0),
    "bclc=B|child_pugh=B": eligible_record(
        ecog=0, labs={**LABS, "bilirubin": {"value": 2.5, "unit": "mg/dL"}}
    ),
    "bclc=C|child_pugh=B": eligible_record(
        labs={**LABS, "bilirubin": {"value": 2.5, "unit": "mg/dL"}}
    ),
}


def _keys(document: Any) -> set[str]:
    """Every key anywhere in a JSON document."""
    if isinstance(document, dict):
        return set(document) | {k for v in document.values() for k in _keys(v)}
    if isinstance(document, list):
        return {k for v in document for k in _keys(v)}
    return set()


def _randomize(trial: Trial, subject_id: int, role: str = "investigator") -> Any:
    return trial.client(role).post(f"/api/v1/subjects/{subject_id}/randomize")


def test_randomize_returns_the_contract(trial: Trial, ready_subject: Callable[..., int]) -> None:
    """interfaces.md: 201 {subject_id, randomization_number, arm, randomized_at}."""
    subject_id = ready_subject()
    response = _randomize(trial, subject_id)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"subject_id", "randomization_number", "arm", "randomized_at"}
    assert body["subject_id"] == subject_id
    assert body["randomization_number"] == 1
    assert body["arm"] in {arm.code for arm in current_protocol().arms}
    shown = trial.client("coordinator").get(f"/api/v1/subjects/{subject_id}").json()
    assert shown["status"] == "randomized"
    assert shown["randomization"]["arm"] == body["arm"]
    assert shown["randomization"]["randomization_number"] == 1


def test_only_once(trial: Trial, ready_subject: Callable[..., int]) -> None:
    """A second randomization answers 409 and allocates nothing."""
    subject_id = ready_subject()
    assert _randomize(trial, subject_id).status_code == 201
    again = _randomize(trial, subject_id)
    assert again.status_code == 409
    assert Randomization.objects.count() == 1


@pytest.mark.parametrize(
    ("record", "consented", "detail"),
    [
        (eligible_record(hiv=True), True, "not eligible"),  # eligible == false
        ({k: v for k, v in eligible_record().items() if k != "hiv"}, True, "undetermined"),
        (eligible_record(), False, "no signed consent"),
    ],
)
def test_not_eligible_or_not_consented_is_422(
    trial: Trial,
    screen: Callable[..., int],
    consent: Callable[[int], None],
    randomization_list: Any,
    record: dict[str, Any],
    consented: bool,
    detail: str,
) -> None:
    """Only eligible == true and consented subjects are randomized; else 422, nothing used."""
    subject_id = screen(record=record)
    if consented:
        consent(subject_id)
    response = _randomize(trial, subject_id)
    assert response.status_code == 422
    assert detail in response.json()["detail"]
    assert not Randomization.objects.exists()
    assert RandomizationList.objects.get(active=True).last_number == 0


def test_no_list_is_409(trial: Trial, screen: Callable[..., int], consent: Any) -> None:
    """Before the statistician generates the list, randomization is refused (409)."""
    subject_id = screen()
    consent(subject_id)
    assert _randomize(trial, subject_id).status_code == 409


@pytest.mark.parametrize("stratum", list(STRATUM_RECORDS))
def test_stratum_from_derived_values_and_slot_order(
    trial: Trial, ready_subject: Callable[..., int], stratum: str
) -> None:
    """The stratum comes from the verdict's derived BCLC and Child-Pugh class; subjects take the
    stratum's slots in order (the arms equal the seeded list recomputed by the core)."""
    protocol = current_protocol()
    stream = [
        "bclc=B|child_pugh=A",
        "bclc=B|child_pugh=B",
        "bclc=C|child_pugh=A",
        "bclc=C|child_pugh=B",
    ].index(stratum)  # the stratum's position among the protocol's strata is its stream
    expected = permuted_blocks(
        arms=[arm.code for arm in protocol.arms],
        ratio=protocol.allocation_ratio,
        block_sizes=protocol.randomization.block_sizes,
        min_length=10,
        seed=20260302,
        stream=stream,
    )
    arms = []
    for _ in range(4):
        subject_id = ready_subject(record=STRATUM_RECORDS[stratum])
        made = subject_randomize(actor=OPERATOR, subject_id=subject_id)
        assert made.stratum.key == stratum
        arms.append(made.arm)
    assert arms == [slot.arm for slot in expected[:4]]
    assert list(Randomization.objects.values_list("number", flat=True)) == [1, 2, 3, 4]


def test_in_error_is_a_status_with_reason(trial: Trial, ready_subject: Callable[..., int]) -> None:
    """Randomized in error: recorded with reason (kept for ITT), never deleted; needs a reason."""
    from ikctrial.web.audit.models import AuditEvent

    subject_id = ready_subject()
    arm = _randomize(trial, subject_id).json()["arm"]
    client = trial.client("data_manager")
    url = f"/api/v1/subjects/{subject_id}/randomization/error"
    blank = client.post(url, {"reason": "  "}, content_type="application/json")
    assert blank.status_code == 422
    reason = "consent form version not approved by the ethics committee at signing"
    marked = client.post(url, {"reason": reason}, content_type="application/json")
    assert marked.status_code == 200
    assert marked.json()["status"] == "randomized_in_error"
    assert marked.json()["arm"] == arm
    again = client.post(url, {"reason": reason}, content_type="application/json")
    assert again.status_code == 409
    row = Randomization.objects.get(subject_id=subject_id)
    assert (row.status, row.error_reason, row.arm) == ("randomized_in_error", reason, arm)
    shown = trial.client("investigator").get(f"/api/v1/subjects/{subject_id}").json()
    assert shown["status"] == "randomized_in_error"
    assert shown["randomization"]["error_reason"] == reason
    event = AuditEvent.objects.filter(model="randomization.randomization", action="update").get()
    assert event.reason == reason
    assert _randomize(trial, subject_id).status_code == 409


def test_mark_error_before_randomization_is_409(
    trial: Trial, ready_subject: Callable[..., int]
) -> None:
    """Nothing to mark before an allocation exists."""
    response = trial.client("investigator").post(
        f"/api/v1/subjects/{ready_subject()}/randomization/error",
        {"reason": "wrong subject"},
        content_type="application/json",
    )
    assert response.status_code == 409


def test_api_never_reveals_upcoming_allocations(
    trial: Trial, ready_subject: Callable[..., int]
) -> None:
    """Concealment: no endpoint exposes slots; before randomization no arm appears anywhere; the
    allocation log holds only allocations made."""
    subject_id = ready_subject()
    schema = trial.client("admin").get("/api/v1/openapi.json").json()
    assert not [path for path in schema["paths"] if "slot" in path or "list" in path]
    for role in ("investigator", "coordinator", "data_manager", "monitor", "admin"):
        shown = trial.client(role).get(f"/api/v1/subjects/{subject_id}").json()
        assert shown["randomization"] is None, role
        assert "arm" not in _keys(shown), role
        assert "arm" not in _keys(trial.client(role).get("/api/v1/subjects").json()), role
    assert trial.client("statistician").get("/api/v1/randomizations").json() == []
    _randomize(trial, subject_id)
    log = trial.client("statistician").get("/api/v1/randomizations").json()
    assert len(log) == 1
    assert AllocationSlot.objects.count() > 1


def test_generate_once_then_replace_only_before_first_randomization(
    trial: Trial, ready_subject: Callable[..., int], randomization_list: Any
) -> None:
    """A second list is refused unless replacing; replacing keeps the old list (inactive) and is
    refused once a subject is randomized."""
    with pytest.raises(ConflictError, match="already exists"):
        randomization_generate(actor=OPERATOR, seed=1, size=4)
    summary = randomization_generate(actor=OPERATOR, seed=1, size=4, replace=True)
    assert summary.replaced_list_id == randomization_list.list_id
    assert RandomizationList.objects.filter(active=False).count() == 1
    subject_randomize(actor=OPERATOR, subject_id=ready_subject())
    with pytest.raises(ConflictError, match="already randomized"):
        randomization_generate(actor=OPERATOR, seed=2, size=4, replace=True)
    assert RandomizationList.objects.get(active=True).pk == summary.list_id


def test_statistician_generates_and_site_roles_cannot(trial: Trial) -> None:
    """randomization.generate: statistician (and admin) only."""
    from ikctrial.web.errors import ForbiddenError

    with pytest.raises(ForbiddenError):
        randomization_generate(actor=trial.users["investigator"], seed=3, size=4)
    summary = randomization_generate(actor=trial.users["statistician"], seed=3, size=4)
    assert RandomizationList.objects.get(pk=summary.list_id).generated_by == "u_statistician"


def test_minimization_when_the_protocol_says_so(
    trial: Trial,
    screen: Callable[..., int],
    consent: Callable[[int], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """method == minimization: no slots; with p_best = 1 allocation alternates within a stratum
    after the first (random) tie, so the two arms never differ by more than one."""
    import ikctrial.web.randomization.services as services

    protocol = current_protocol()
    minimizing = protocol.model_copy(
        update={
            "randomization": protocol.randomization.model_copy(
                update={"method": "minimization", "minimization_probability": 1.0}
            )
        }
    )
    monkeypatch.setattr(services, "current_protocol", lambda: minimizing)
    summary = randomization_generate(actor=OPERATOR, seed=99)
    assert summary.method == "minimization"
    assert summary.slots_per_stratum == {}
    assert not AllocationSlot.objects.exists()
    arms = []
    for _ in range(6):
        subject_id = screen()
        consent(subject_id)
        arms.append(subject_randomize(actor=OPERATOR, subject_id=subject_id).arm)
        counts = [arms.count(arm.code) for arm in protocol.arms]
        assert max(counts) - min(counts) <= 1
    assert arms[0] != arms[1]
