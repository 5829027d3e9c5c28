"""The unsafe bedside cases each give zero infusions, and the blocked attempt is recorded.

Each case is one of the issue's list (domain.md 8.6 hard blocks): wrong patient, wrong chain of
identity, unreleased lot, failed QC, expired by one minute, already infused, the same user verifying
twice, a TACE-arm subject. The bedside check is stored with its reasons; asking to record the
infusion of a blocked check answers 409 and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from ikctrial.errors import InputError
from ikctrial.product.identifiers import UnitKind, chain_of_identity_id
from ikctrial.web.errors import ConflictError
from ikctrial.web.product.models import BedsideCheck, CustodyEvent, Infusion, OosDeviation
from ikctrial.web.product.services import blood_draw_record

from .conftest import FACILITY, IDENTIFIERS, World, event, randomize_in

pytestmark = pytest.mark.django_db


def failed_checks(check: Any) -> set[str]:
    return {f["check"] for f in check.failures}


def assert_blocked(world: World, check: Any, expected: str) -> None:
    """Blocked for ``expected``, recorded, and no infusion can be recorded from it."""
    assert not check.allowed
    assert expected in failed_checks(check), check.failures
    assert BedsideCheck.objects.filter(pk=check.pk, allowed=False).exists()
    with pytest.raises(ConflictError):
        world.infuse(check.pk)
    assert Infusion.objects.count() == 0
    assert not CustodyEvent.objects.filter(event_type="infused").exists()


def test_wrong_patient_wristband_blocks(world: World) -> None:
    """8.6 check 1: the wristband is another patient's (hard block)."""
    world.at(3)
    check = world.check(wristband=("LIN Wei-Ting", "1962-03-05"))
    assert_blocked(world, check, "patient_identity")


def test_wrong_chain_of_identity_blocks(world: World) -> None:
    """8.6 check 3: the scanned bag carries another CoI (a valid id, wrong therapy)."""
    year = world.harvest.year
    other = chain_of_identity_id(FACILITY, year, 999).unit(UnitKind.COLLECTION, 1)
    foreign_bag = other.unit(UnitKind.CULTURE, 1).unit(UnitKind.LOT, 1).unit(UnitKind.BAG, 1)
    world.at(3)
    check = world.check(bag_label=str(foreign_bag))
    assert_blocked(world, check, "product_identity")
    assert any("not the subject's CoI" in f["reason"] for f in check.failures)


def test_mistyped_bag_label_blocks(world: World) -> None:
    """8.3: one mistyped character fails the MOD 37-2 check; the check is blocked, not a 500."""
    typo = world.bag_id[:-1] + ("A" if world.bag_id[-1] != "A" else "B")
    world.at(3)
    check = world.check(bag_label=typo)
    assert_blocked(world, check, "product_identity")


def test_unreleased_lot_blocks(world_factory: Callable[..., World]) -> None:
    """8.6 check 4: no release record (QUARANTINE) and the bag never left the lab."""
    world = world_factory(release=False)
    world.at(3)
    check = world.check()
    assert_blocked(world, check, "release_status")
    assert "custody" in failed_checks(check)


def test_failed_qc_rejects_the_lot_and_blocks(world_factory: Callable[..., World]) -> None:
    """8.2: viability 60 % < 70 % rejects the lot automatically, as an OOS deviation."""
    world = world_factory(qc={"viability": "60"})
    release = world.extra["release"]
    assert release.status == "REJECTED"
    assert any("Viability" in r or "viability" in r for r in release.refusals), release.refusals
    assert OosDeviation.objects.filter(qc_result__test_code="viability").count() == 1
    world.at(3)
    check = world.check()
    assert_blocked(world, check, "release_status")


def test_missing_qc_result_refuses_release(world_factory: Callable[..., World]) -> None:
    """8.2: a required test without a result refuses the release (lot stays in QUARANTINE)."""
    world = world_factory(qc={"endotoxin": ""})
    release = world.extra["release"]
    assert release.status == "QUARANTINE"
    assert any("no result" in r for r in release.refusals), release.refusals


def test_expired_by_one_minute_blocks_the_check(world: World) -> None:
    """8.5: at expiry + 1 min the bedside check is a hard block."""
    world.clock.set(world.harvest + dt.timedelta(hours=24, minutes=1))
    check = world.check()
    assert_blocked(world, check, "expiry")


def test_infusion_starting_one_minute_after_expiry_is_refused(world: World) -> None:
    """8.5: the infusion must start before expiry, even after an allowed check."""
    world.at(23.5)
    check = world.check()
    assert check.allowed, check.failures
    with pytest.raises(InputError, match="expired"):
        world.infuse(check.pk, start_hours=24 + 1 / 60)
    assert Infusion.objects.count() == 0


def test_already_infused_bag_blocks_a_second_infusion(world: World) -> None:
    """8.6: a bag is infused once; a new check is blocked, the used check cannot be reused."""
    world.at(3)
    first = world.check()
    world.infuse(first.pk)
    world.at(4)
    second = world.check()
    assert not second.allowed
    assert "already_infused" in failed_checks(second), second.failures
    with pytest.raises(ConflictError):
        world.infuse(first.pk, start_hours=4.5)
    with pytest.raises(ConflictError):
        world.infuse(second.pk, start_hours=4.5)
    assert Infusion.objects.count() == 1


def test_same_user_verifying_twice_blocks(world: World) -> None:
    """8.6 check 8: two verifications by one user are not two verifiers (hard block)."""
    world.at(3)
    check = world.check(("pharmacist", "pharmacist"))
    assert_blocked(world, check, "verifiers")


def test_tace_arm_subject_gets_no_coi_and_no_infusion(
    world: World, ready_subject: Callable[..., int]
) -> None:
    """Issue 1 and 8.6 check 2: no CoI for a TACE-arm subject; the IKC bag is blocked there."""
    tace_subject = randomize_in("TACE", ready_subject)
    with pytest.raises(ConflictError, match="not the IKC arm"):
        blood_draw_record(
            actor=world.user("coordinator"),
            subject_id=tace_subject,
            facility=FACILITY,
            patient_identifier_1="WANG Li",
            patient_identifier_2="1950-02-02",
            data=event(world.at(3), "ward 7"),
        )
    check = world.check(subject_id=tace_subject, wristband=IDENTIFIERS)
    assert_blocked(world, check, "ikc_arm")


def test_fever_is_a_soft_block(world: World) -> None:
    """8.6 check 7: fever >= 38.0 °C blocks (soft: an investigator override is needed)."""
    from .conftest import good_clinical

    world.at(3)
    clinical = good_clinical(world.harvest.date())
    fever = type(clinical)(**{**clinical.__dict__, "body_temperature_c": 38.2})
    check = world.check(clinical=fever)
    assert_blocked(world, check, "fever")
    assert {f["severity"] for f in check.failures} == {"soft"}


def test_a_verification_serves_one_check_only(world: World) -> None:
    """Each check needs fresh, independent verifications."""
    from ikctrial.web.product.services import bedside_check

    world.at(3)
    check = world.check(wristband=("LIN Wei-Ting", "1962-03-05"))
    with pytest.raises(ConflictError, match="verify again"):
        bedside_check(
            actor=world.user("pharmacist"),
            subject_id=world.subject_id,
            bag_id=world.bag_id,
            verification_ids=[check.first_id, check.second_id],
            clinical=check_clinical(world),
        )


def check_clinical(world: World) -> Any:
    from .conftest import good_clinical

    return good_clinical(world.harvest.date())


def test_investigator_override_clears_a_soft_block(world: World) -> None:
    """8.6: fever is overridden by an investigator's e-signed override with a reason."""
    from ikctrial.web.product.services import bedside_check, bedside_override

    from .conftest import PASSWORD, good_clinical

    world.at(3)
    clinical = good_clinical(world.harvest.date())
    fever = type(clinical)(**{**clinical.__dict__, "body_temperature_c": 38.2})
    override = bedside_override(
        actor=world.user("investigator"),
        subject_id=world.subject_id,
        checks=["fever"],
        reason="tumour fever, infectious cause excluded",
        password=PASSWORD,
    )
    ids = [world.verify("pharmacist"), world.verify("coordinator")]
    check = bedside_check(
        actor=world.user("pharmacist"),
        subject_id=world.subject_id,
        bag_id=world.bag_id,
        verification_ids=ids,
        clinical=fever,
        override_id=override.pk,
    )
    assert check.allowed, check.failures
    assert check.failures == [
        {
            "check": "fever",
            "severity": "soft",
            "reason": check.failures[0]["reason"],
            "overridden": True,
        }
    ]
    assert world.infuse(check.pk).infusion_number == 1


def test_hard_blocks_cannot_be_overridden(world: World) -> None:
    """8.6: an override naming a hard block is refused before anything is signed."""
    from ikctrial.web.product.services import bedside_override

    from .conftest import PASSWORD

    with pytest.raises(InputError, match="not a soft block"):
        bedside_override(
            actor=world.user("investigator"),
            subject_id=world.subject_id,
            checks=["expiry"],
            reason="urgent",
            password=PASSWORD,
        )


def test_override_signed_by_a_non_investigator_does_not_clear(world: World) -> None:
    """8.6: only an investigator's override counts; a pharmacist's leaves the check blocked."""
    from ikctrial.web.product.services import bedside_check, bedside_override

    from .conftest import PASSWORD, good_clinical

    world.at(3)
    clinical = good_clinical(world.harvest.date())
    fever = type(clinical)(**{**clinical.__dict__, "body_temperature_c": 38.2})
    override = bedside_override(
        actor=world.user("pharmacist"),
        subject_id=world.subject_id,
        checks=["fever"],
        reason="feels fine",
        password=PASSWORD,
    )
    ids = [world.verify("pharmacist"), world.verify("coordinator")]
    check = bedside_check(
        actor=world.user("pharmacist"),
        subject_id=world.subject_id,
        bag_id=world.bag_id,
        verification_ids=ids,
        clinical=fever,
        override_id=override.pk,
    )
    assert_blocked(world, check, "override")
