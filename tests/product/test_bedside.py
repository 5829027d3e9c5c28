"""Two-person bedside verification (domain.md 8.6): every unsafe case blocks, with its reason.

The scenario (tests/product/conftest.py) is a correct infusion 1 of subject S-001 on 2026-01-26;
each case changes one input and names the 8.6 check (or 1.3/1.4/8.5 rule) that must catch it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikctrial.product.bedside import (
    OVERRIDE_MEANING,
    SOFT_CHECKS,
    BedsideCheck,
    InvestigatorOverride,
    PatientIdentifiers,
    Severity,
)
from ikctrial.product.custody import CustodyEventType
from ikctrial.product.identifiers import UnitKind, chain_of_identity_id
from ikctrial.product.release import (
    EXCEPTIONAL_APPROVAL_MEANING,
    EXCEPTIONAL_REQUEST_MEANING,
    PATIENT_INFORMED_MEANING,
    ExceptionalRelease,
    LotRecord,
    QcResult,
    ReleaseStatus,
    release_decision,
)

E = CustodyEventType
OTHER_PATIENT = PatientIdentifiers("WANG Jun", "1958-07-14")
OTHER_DOB = PatientIdentifiers("CHEN Mei-Ling", "1958-07-15")

Case = Callable[[Any], dict[str, Any]]


def _one_verifier(s: Any, **changes: Any) -> list[Any]:
    """Verifier nurse1 with ``changes``, and a correct second verifier."""
    return [
        s.verification("nurse1", "coordinator", **changes),
        s.verification("inv1", "investigator"),
    ]


def _events_plus(s: Any, *extra: Any) -> Any:
    return s.custody([*s.events(), *extra])


def _with_event(s: Any, event_id: str, **changes: Any) -> Any:
    return s.custody(
        [dataclasses.replace(e, **changes) if e.event_id == event_id else e for e in s.events()]
    )


def _expiry(s: Any) -> Any:
    return s.harvest + timedelta(hours=24)


def _other_coi_bag(s: Any) -> str:
    other = chain_of_identity_id("G1234", 2026, 124)
    return str(
        other.unit(UnitKind.COLLECTION, 1)
        .unit(UnitKind.CULTURE, 1)
        .unit(UnitKind.LOT, 1)
        .unit(UnitKind.BAG, 1)
    )


def _misread(label: str) -> str:
    """The bag label with one data character changed (a misread)."""
    index = label.index("-") + 2
    return label[:index] + ("1" if label[index] != "1" else "2") + label[index + 1 :]


def _twelve_given() -> dict[int, date]:
    return {n: date(2025, 6, 1) + timedelta(days=7 * n) for n in range(1, 13)}


def _other_coi_lot(s: Any) -> LotRecord:
    other = chain_of_identity_id("G1234", 2026, 124)
    lot = other.unit(UnitKind.COLLECTION, 1).unit(UnitKind.CULTURE, 1).unit(UnitKind.LOT, 1)
    return LotRecord(lot, frozenset({"tech1"}), s.harvest)


HARD_CASES: list[tuple[str, Case, BedsideCheck]] = [
    (
        "8.6 #3 release record is for another patient's lot",
        lambda s: {"release": s.release(lot=_other_coi_lot(s))},
        BedsideCheck.PRODUCT_IDENTITY,
    ),
    (
        "8.6 #1 wrong patient on wristband",
        lambda s: {"verifications": _one_verifier(s, wristband=OTHER_PATIENT)},
        BedsideCheck.PATIENT_IDENTITY,
    ),
    (
        "8.6 #1 second identifier (DOB) differs on bag label",
        lambda s: {"verifications": _one_verifier(s, bag_label_patient=OTHER_DOB)},
        BedsideCheck.PATIENT_IDENTITY,
    ),
    (
        "8.6 #3 / 8.3 bag of another patient's CoI",
        lambda s: {"verifications": _one_verifier(s, bag_label=_other_coi_bag(s))},
        BedsideCheck.PRODUCT_IDENTITY,
    ),
    (
        "8.6 #3 another bag of the same lot",
        lambda s: {"verifications": _one_verifier(s, bag_label=str(s.lot.unit(UnitKind.BAG, 2)))},
        BedsideCheck.PRODUCT_IDENTITY,
    ),
    (
        "8.3 misread bag label fails its check character",
        lambda s: {"verifications": _one_verifier(s, bag_label=_misread(str(s.bag)))},
        BedsideCheck.PRODUCT_IDENTITY,
    ),
    (
        "8.6 #3 bag made for another infusion",
        lambda s: {"bag": s.bag_record(infusion_number=2)},
        BedsideCheck.PRODUCT_IDENTITY,
    ),
    (
        "8.6 #3 bag issued to another subject",
        lambda s: {"bag": s.bag_record(subject_id="S-002")},
        BedsideCheck.PRODUCT_IDENTITY,
    ),
    ("8.6 hard: no release record", lambda s: {"release": None}, BedsideCheck.RELEASE_STATUS),
    (
        "8.6 hard: QUARANTINE (release refused, test missing)",
        lambda s: {"release": s.release(s.qc_results(endotoxin=None))},
        BedsideCheck.RELEASE_STATUS,
    ),
    (
        "8.6 hard: REJECTED (failed QC, viability 60 %)",
        lambda s: {"release": s.release(s.qc_results(viability="60"))},
        BedsideCheck.RELEASE_STATUS,
    ),
    (
        "8.6 hard: released by the manufacturer = refused",
        lambda s: {
            "release": s.release(
                signer=s.signature("tech1", "qa", "approved for release", s.at(26, 8))
            )
        },
        BedsideCheck.RELEASE_STATUS,
    ),
    (
        "8.5 expired by one minute",
        lambda s: {
            "now": _expiry(s) + timedelta(minutes=1),
            "clinical": s.clinical(labs_drawn_on=date(2026, 1, 25)),
        },
        BedsideCheck.EXPIRY,
    ),
    (
        "8.5 expired at exactly expiry_ts (must start before)",
        lambda s: {"now": _expiry(s), "clinical": s.clinical(labs_drawn_on=date(2026, 1, 25))},
        BedsideCheck.EXPIRY,
    ),
    (
        "8.6 hard: bag already infused",
        lambda s: {"custody": _events_plus(s, s.event("e13", E.INFUSED, s.at(26, 9, 30)))},
        BedsideCheck.ALREADY_INFUSED,
    ),
    (
        "8.6 hard: bag destroyed",
        lambda s: {"custody": _events_plus(s, s.event("e13", E.DESTROYED, s.at(26, 9, 30)))},
        BedsideCheck.CUSTODY,
    ),
    (
        "8.6 hard: same user verifies twice",
        lambda s: {
            "verifications": [
                s.verification("nurse1", "coordinator"),
                s.verification("nurse1", "coordinator"),
            ]
        },
        BedsideCheck.VERIFIERS,
    ),
    (
        "8.6 hard: fewer than two verifiers",
        lambda s: {"verifications": [s.verification("nurse1", "coordinator")]},
        BedsideCheck.VERIFIERS,
    ),
    (
        "8.6 #8 verification signed by someone else",
        lambda s: {
            "verifications": _one_verifier(
                s, signature=s.signature("inv1", "investigator", "verified for administration")
            )
        },
        BedsideCheck.VERIFIERS,
    ),
    (
        "8.6 #8 signature meaning is not 'verified for administration'",
        lambda s: {
            "verifications": _one_verifier(
                s, signature=s.signature("nurse1", "coordinator", "reviewed")
            )
        },
        BedsideCheck.VERIFIERS,
    ),
    ("8.6 #2 TACE-arm subject", lambda s: {"subject": s.subject(arm="TACE")}, BedsideCheck.IKC_ARM),
    (
        "8.6 #2 consent withdrawn",
        lambda s: {"subject": s.subject(consent_active=False)},
        BedsideCheck.CONSENT,
    ),
    (
        "8.6 #2 IKC discontinued",
        lambda s: {"subject": s.subject(ikc_discontinued=True)},
        BedsideCheck.IKC_DISCONTINUED,
    ),
    (
        "8.6 #2 12 infusions already given",
        lambda s: {"subject": s.subject(infusions_given=_twelve_given())},
        BedsideCheck.INFUSION_COUNT,
    ),
    (
        "8.6 #6 temperature excursion in transport (9.5 °C)",
        lambda s: {"custody": _with_event(s, "e10", temperature_c=Decimal("9.5"))},
        BedsideCheck.CUSTODY,
    ),
    (
        "8.6 #6 data logger saw 1.2 °C on the way",
        lambda s: {"custody": _with_event(s, "e11", logger_id="DL-7", logger_min_c=Decimal("1.2"))},
        BedsideCheck.CUSTODY,
    ),
    (
        "8.4 bag not yet received at the ward",
        lambda s: {"custody": s.custody(s.events()[:10])},
        BedsideCheck.CUSTODY,
    ),
    (
        "8.6 #3 custody state of another unit",
        lambda s: {
            "custody": s.custody().__class__(
                **{**s.custody().__dict__, "unit": s.lot.unit(UnitKind.BAG, 2)}
            )
        },
        BedsideCheck.PRODUCT_IDENTITY,
    ),
    (
        "8.6 #6 bag not intact",
        lambda s: {"verifications": _one_verifier(s, bag_intact=False)},
        BedsideCheck.CONTAINER,
    ),
    (
        "8.6 #6 appearance not acceptable",
        lambda s: {"verifications": _one_verifier(s, appearance_acceptable=False)},
        BedsideCheck.CONTAINER,
    ),
    (
        "8.6 #7 safety hold in force",
        lambda s: {"clinical": s.clinical(safety_hold=True)},
        BedsideCheck.SAFETY_HOLD,
    ),
]


@pytest.mark.parametrize(("rule", "case", "check"), HARD_CASES, ids=[c[0] for c in HARD_CASES])
def test_hard_blocks(scenario: Any, rule: str, case: Case, check: BedsideCheck) -> None:
    decision = scenario.bedside(**case(scenario))
    assert not decision.allowed, rule
    failing = [f for f in decision.failures if f.check is check]
    assert failing, (rule, decision.failures)
    assert all(f.severity is Severity.HARD and f.reason for f in failing)
    # No override lifts a hard block, even one covering every soft check.
    everything = InvestigatorOverride(
        frozenset(SOFT_CHECKS),
        "medical need",
        scenario.signature("inv1", "investigator", OVERRIDE_MEANING),
    )
    assert not scenario.bedside(**case(scenario), override=everything).allowed


SOFT_CASES: list[tuple[str, Case, set[BedsideCheck]]] = [
    (
        "8.6 #7 fever: 38.0 °C (>= 38.0)",
        lambda s: {"clinical": s.clinical(body_temperature_c=Decimal("38.0"))},
        {BedsideCheck.FEVER},
    ),
    (
        "8.6 #7 temperature not recorded",
        lambda s: {"clinical": s.clinical(body_temperature_c=None)},
        {BedsideCheck.FEVER},
    ),
    (
        "8.6 #7 vital signs not acceptable",
        lambda s: {"clinical": s.clinical(vital_signs_acceptable=False)},
        {BedsideCheck.VITAL_SIGNS},
    ),
    (
        "1.4 TACE on 01-28: blackout 01-26..02-04; infusion 1 moves to 02-05, so also early",
        lambda s: {"subject": s.subject(tace_dates=(date(2026, 1, 10), date(2026, 1, 28)))},
        {BedsideCheck.TACE_BLACKOUT, BedsideCheck.SCHEDULE},
    ),
    (
        "1.4 TACE on 01-19: blackout ends 01-26 (7 days after, inclusive)",
        lambda s: {"subject": s.subject(tace_dates=(date(2026, 1, 10), date(2026, 1, 19)))},
        {BedsideCheck.TACE_BLACKOUT},
    ),
    (
        "1.3 pre-infusion labs out of range",
        lambda s: {"clinical": s.clinical(labs_within_limits=False)},
        {BedsideCheck.PRE_INFUSION_LABS},
    ),
    (
        "1.3 labs older than 3 days",
        lambda s: {"clinical": s.clinical(labs_drawn_on=date(2026, 1, 22))},
        {BedsideCheck.PRE_INFUSION_LABS},
    ),
    (
        "1.3 infusion 1 early (window 01-27..02-02)",
        lambda s: {"subject": s.subject(randomization_date=date(2026, 1, 9))},
        {BedsideCheck.SCHEDULE},
    ),
    (
        "1.4 infusion 1 four days late (window 01-16..01-22)",
        lambda s: {"subject": s.subject(randomization_date=date(2025, 12, 29))},
        {BedsideCheck.SCHEDULE},
    ),
]


@pytest.mark.parametrize(("rule", "case", "checks"), SOFT_CASES, ids=[c[0] for c in SOFT_CASES])
def test_soft_blocks_need_a_signed_investigator_override(
    scenario: Any, rule: str, case: Case, checks: set[BedsideCheck]
) -> None:
    blocked = scenario.bedside(**case(scenario))
    assert not blocked.allowed, rule
    assert {f.check for f in blocked.failures} == checks, blocked.failures
    assert all(f.severity is Severity.SOFT for f in blocked.failures)
    signed = scenario.signature("inv1", "investigator", OVERRIDE_MEANING)
    override = InvestigatorOverride(frozenset(checks), "benefit outweighs risk", signed)
    allowed = scenario.bedside(**case(scenario), override=override)
    assert allowed.allowed, allowed.override_problems
    assert all(f.overridden for f in allowed.failures)


@pytest.mark.parametrize(
    ("rule", "role", "meaning", "reason", "checks"),
    [
        (
            "8.6 override only by an investigator",
            "coordinator",
            OVERRIDE_MEANING,
            "why",
            {BedsideCheck.FEVER},
        ),
        (
            "9.2 11.50 the signature must mean an override",
            "investigator",
            "reviewed",
            "why",
            {BedsideCheck.FEVER},
        ),
        (
            "8.6 override needs a reason",
            "investigator",
            OVERRIDE_MEANING,
            "  ",
            {BedsideCheck.FEVER},
        ),
        (
            "8.6 override must cover the failing check",
            "investigator",
            OVERRIDE_MEANING,
            "why",
            {BedsideCheck.TACE_BLACKOUT},
        ),
    ],
)
def test_invalid_override_keeps_the_block(
    scenario: Any, rule: str, role: str, meaning: str, reason: str, checks: set[BedsideCheck]
) -> None:
    override = InvestigatorOverride(
        frozenset(checks), reason, scenario.signature("inv1", role, meaning)
    )
    decision = scenario.bedside(
        clinical=scenario.clinical(body_temperature_c=Decimal("38.4")), override=override
    )
    assert not decision.allowed, rule
    assert not any(f.overridden for f in decision.failures)


def test_override_naming_a_hard_check_is_refused(scenario: Any) -> None:
    override = InvestigatorOverride(
        frozenset({BedsideCheck.FEVER, BedsideCheck.EXPIRY}),
        "why",
        scenario.signature("inv1", "investigator", OVERRIDE_MEANING),
    )
    decision = scenario.bedside(
        clinical=scenario.clinical(body_temperature_c=Decimal("38.4")), override=override
    )
    assert not decision.allowed
    assert any("hard blocks cannot be overridden: expiry" in p for p in decision.override_problems)


def test_fever_boundary_37_9_passes(scenario: Any) -> None:
    # domain.md 8.6 #7: temperature < 38.0 °C passes.
    assert scenario.bedside(clinical=scenario.clinical(body_temperature_c=Decimal("37.9"))).allowed


def test_one_minute_before_expiry_is_allowed(scenario: Any) -> None:
    # domain.md 8.5: the infusion must start before expiry_ts.
    now = scenario.harvest + timedelta(hours=24) - timedelta(minutes=1)
    decision = scenario.bedside(
        now=now, clinical=scenario.clinical(labs_drawn_on=date(2026, 1, 25))
    )
    assert decision.allowed, decision.failures


def test_all_failures_are_reported_at_once(scenario: Any) -> None:
    decision = scenario.bedside(
        verifications=_one_verifier(scenario, wristband=OTHER_PATIENT),
        subject=scenario.subject(arm="TACE"),
        now=scenario.harvest + timedelta(hours=24, minutes=1),
        clinical=scenario.clinical(
            body_temperature_c=Decimal("38.5"), labs_drawn_on=date(2026, 1, 25)
        ),
    )
    checks = {f.check for f in decision.failures}
    assert {
        BedsideCheck.PATIENT_IDENTITY,
        BedsideCheck.IKC_ARM,
        BedsideCheck.EXPIRY,
        BedsideCheck.FEVER,
    } <= checks
    expired = next(f for f in decision.failures if f.check is BedsideCheck.EXPIRY)
    assert "1 min ago" in expired.reason


def test_shelf_life_not_configured_blocks_with_a_clear_reason(scenario: Any, protocol: Any) -> None:
    # domain.md 8.5: no production default; without it expiry cannot be computed.
    unset = protocol.product.model_copy(update={"shelf_life_hours": None})
    release = release_decision(
        unset,
        scenario.lot_record(),
        scenario.qc_results(),
        signature=scenario.signature("qa1", "qa", "approved for release", scenario.at(26, 8)),
    )
    decision = scenario.bedside(release=release)
    reasons = [f.reason for f in decision.failures if f.check is BedsideCheck.EXPIRY]
    assert len(reasons) == 1
    assert "shelf_life_hours is not set" in reasons[0]
    assert not decision.allowed


def test_exceptional_release_with_complete_approvals_may_be_infused(scenario: Any) -> None:
    # domain.md 8.6 #4: EXCEPTIONAL_RELEASE with complete approvals passes the status check.
    s = scenario
    exceptional = ExceptionalRelease(
        "no alternative therapy; dose slightly low",
        s.signature("inv1", "investigator", EXCEPTIONAL_REQUEST_MEANING, s.at(26, 7)),
        s.signature("qa2", "qa", EXCEPTIONAL_APPROVAL_MEANING, s.at(26, 7, 30)),
        s.signature("inv1", "investigator", PATIENT_INFORMED_MEANING, s.at(26, 7, 45)),
    )
    release = s.release(s.qc_results(viable_cell_dose="9.5e8"), exceptional=exceptional)
    assert release.status is ReleaseStatus.EXCEPTIONAL_RELEASE
    assert s.bedside(release=release).allowed


IDENTITY_FIELDS = (
    "wristband.first",
    "wristband.second",
    "bag_label_patient.first",
    "bag_label_patient.second",
    "bag_label",
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    field=st.sampled_from(IDENTITY_FIELDS),
    verifier=st.sampled_from([0, 1]),
    text=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=30),
)
def test_any_single_mismatching_identifier_blocks(
    scenario: Any, field: str, verifier: int, text: str
) -> None:
    """domain.md 8.3/8.6: any identity mismatch, by either verifier, is a hard block."""
    verifications = [
        scenario.verification("nurse1", "coordinator"),
        scenario.verification("inv1", "investigator"),
    ]
    v = verifications[verifier]
    if field == "bag_label":
        if text.upper() == str(scenario.bag):
            return
        changed = dataclasses.replace(v, bag_label=text)
    else:
        record, part = field.split(".")
        current = getattr(v, record)
        if " ".join(text.split()).casefold() == " ".join(getattr(current, part).split()).casefold():
            return
        changed = dataclasses.replace(v, **{record: dataclasses.replace(current, **{part: text})})
    verifications[verifier] = changed
    decision = scenario.bedside(verifications=verifications)
    assert not decision.allowed
    assert any(
        f.severity is Severity.HARD
        and f.check in {BedsideCheck.PATIENT_IDENTITY, BedsideCheck.PRODUCT_IDENTITY}
        for f in decision.failures
    )


def test_identifiers_compare_without_case_or_spacing(scenario: Any) -> None:
    typed = PatientIdentifiers("  chen   mei-ling ", "1958-07-14")
    decision = scenario.bedside(verifications=_one_verifier(scenario, wristband=typed))
    assert decision.allowed


def test_bag_label_typed_in_eye_readable_form_is_accepted(scenario: Any) -> None:
    label = str(scenario.bag).lower()
    assert scenario.bedside(verifications=_one_verifier(scenario, bag_label=label)).allowed


def test_preliminary_sterility_failure_blocks(scenario: Any) -> None:
    # domain.md 8.2: an in-process sterility sample with growth rejects the lot.
    results = [r for r in scenario.qc_results() if r.test_code != "sterility"]
    results.append(QcResult("sterility", "growth", "tech2", scenario.at(24, 9), preliminary=True))
    decision = scenario.bedside(release=scenario.release(results))
    assert decision.failed(BedsideCheck.RELEASE_STATUS)
    assert not decision.allowed
