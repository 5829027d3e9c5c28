"""The IKC product pages: roles and site scoping, the full life cycle through the forms, every
unsafe bedside case blocked with its reason, invalid input that stores nothing, translations.

The product services' clock is the test's (``conftest.Clock``); times are posted with their UTC
offset, as a browser in any time zone would send them after conversion.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from tests.web.conftest import OPERATOR, OTHER_SITE
from tests.web.pages import test_translations

import ikctrial.web.product
from ikctrial.product.identifiers import UnitKind, chain_of_identity_id
from ikctrial.web.audit.services import verify_chain
from ikctrial.web.product.models import (
    BedsideCheck,
    BedsideVerification,
    CustodyEvent,
    Infusion,
    LotRelease,
    OosDeviation,
    ProductUnit,
    QcResult,
    Therapy,
)
from ikctrial.web.product.services import blood_draw_record
from ikctrial.web.sites.permissions import PERMISSIONS, Action, Role

from .conftest import (
    FACILITY,
    IDENTIFIERS,
    PASSING_QC,
    PASSWORD,
    World,
    backdate_randomization,
    event,
    harvest_moment,
    randomize_in,
)

pytestmark = pytest.mark.django_db

VIEWERS = sorted(PERMISSIONS[Action.PRODUCT_VIEW] - {Role.ADMIN})
NON_VIEWERS = sorted(set(Role) - PERMISSIONS[Action.PRODUCT_VIEW])
BEDSIDE = sorted(PERMISSIONS[Action.PRODUCT_ADMINISTER])
NOT_BEDSIDE = sorted(PERMISSIONS[Action.PRODUCT_VIEW] - PERMISSIONS[Action.PRODUCT_ADMINISTER])
LOCALE = Path(ikctrial.web.product.__file__).parent / "locale" / "zh_Hant" / "LC_MESSAGES"


def text(response: Any) -> str:
    """The page as the user reads it (entities decoded)."""
    return html.unescape(response.content.decode())


def stamp(moment: dt.datetime) -> str:
    """A datetime as a form posts it, with its UTC offset."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S%z")


class Pages:
    """Signed-in browsers per role, posting the product forms at moments of the test clock."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.clients: dict[str, Client] = {}

    def as_(self, role: str) -> Client:
        if role not in self.clients:
            client = Client()
            client.force_login(self.world.user(role))
            self.clients[role] = client
        return self.clients[role]

    def post(self, role: str, url: str, data: dict[str, Any]) -> Any:
        return self.as_(role).post(url, data)

    def event(self, role: str, unit_id: str, kind: str, hours: float, **extra: Any) -> Any:
        """Post a custody event ``hours`` after the harvest (the clock set to then)."""
        when = self.world.at(hours)
        data = {"event_type": kind, "occurred_at": stamp(when), "location": "cell lab", **extra}
        data.setdefault("condition", "received in acceptable condition")
        response = self.post(role, f"/product/units/{unit_id}/events/", data)
        assert response.status_code == 302, text(response)
        return response

    def derive(self, parent_id: str, **data: Any) -> str:
        """Derive a unit on the parent's page; the new unit's id (from the redirect)."""
        response = self.post("cell_lab", f"/product/units/{parent_id}/derive/", data)
        assert response.status_code == 302, text(response)
        return str(response["Location"].rstrip("/").rsplit("/", 1)[1])

    def verify(self, role: str, subject_id: int | None = None, **changes: Any) -> Any:
        """One verifier's entries on the bedside page (matching defaults, any replaced)."""
        data = {
            "wristband_1": IDENTIFIERS[0],
            "wristband_2": IDENTIFIERS[1],
            "bag_label_patient_1": IDENTIFIERS[0],
            "bag_label_patient_2": IDENTIFIERS[1],
            "bag_label": self.world.bag_id,
            "bag_intact": "on",
            "appearance_acceptable": "on",
            "password": PASSWORD,
            **changes,
        }
        subject = subject_id or self.world.subject_id
        return self.post(role, f"/subjects/{subject}/bedside/verify/", data)

    def check(
        self,
        verifiers: tuple[str, str] = ("pharmacist", "investigator"),
        *,
        subject_id: int | None = None,
        bag_id: str | None = None,
        **entries: Any,
    ) -> tuple[Any, BedsideCheck]:
        """Both verifications and the check (by the first verifier): the page and the check."""
        subject = subject_id or self.world.subject_id
        for role in verifiers:
            assert self.verify(role, subject, **entries).status_code == 302
        used = BedsideCheck.objects.values_list("first_id", "second_id")
        taken = {pk for pair in used for pk in pair}
        pending = BedsideVerification.objects.filter(subject_id=subject).exclude(pk__in=taken)
        day = self.world.harvest.date()
        data = {
            "verification_ids": [v.pk for v in pending.order_by("id")],
            "bag_id": bag_id or self.world.bag_id,
            "body_temperature_c": "36.8",
            "vital_signs_acceptable": "yes",
            "labs_drawn_on": (day - dt.timedelta(days=1)).isoformat(),
            "labs_within_limits": "yes",
        }
        response = self.as_(verifiers[0]).post(
            f"/subjects/{subject}/bedside/check/", data, follow=True
        )
        check = BedsideCheck.objects.order_by("-id").first()
        assert check is not None
        return response, check

    def infuse(self, check_id: int, role: str = "investigator", **changes: Any) -> Any:
        """Post the infusion of a check: 30 min from 3 h 10 min after the harvest."""
        start = self.world.harvest + dt.timedelta(hours=3, minutes=10)
        self.world.clock.set(start + dt.timedelta(minutes=40))
        data = {
            "started_at": stamp(start),
            "stopped_at": stamp(start + dt.timedelta(minutes=30)),
            "volume_infused_ml": "100",
            "location": "ward 7",
            "temperature_c": "6.0",
            **changes,
        }
        return self.post(role, f"/product/bedside-checks/{check_id}/infusion/", data)


@pytest.fixture
def pages(world: World) -> Pages:
    """Browsers on the default world: a released bag received at the ward."""
    return Pages(world)


# Roles and site scoping.


def unit_urls(world: World) -> list[str]:
    return [
        f"/subjects/{world.subject_id}/product/",
        f"/product/units/{world.bag_id}/",
        f"/product/units/{world.bag_id}/timeline/",
        f"/product/lots/{world.lot_id}/",
        "/product/",
    ]


@pytest.mark.parametrize("role", VIEWERS)
def test_product_pages_render_for_every_viewing_role(pages: Pages, role: str) -> None:
    """Subject, unit, timeline, lot and exposure pages answer 200 to each role with product.view."""
    for url in unit_urls(pages.world):
        response = pages.as_(role).get(url)
        assert response.status_code == 200, (url, response.status_code)
    assert pages.world.bag_id in text(
        pages.as_(role).get(f"/subjects/{pages.world.subject_id}/product/")
    )


@pytest.mark.parametrize("role", NON_VIEWERS)
def test_roles_without_product_view_are_refused(pages: Pages, role: str) -> None:
    """A role that may not read product records gets 403 (or 404 when it sees no subject)."""
    for url in unit_urls(pages.world):
        assert pages.as_(role).get(url).status_code in {403, 404}, url


@pytest.mark.parametrize("role", BEDSIDE)
def test_bedside_page_for_bedside_roles(pages: Pages, role: str) -> None:
    """Site staff and the pharmacist open the bedside page (no patient identifier shown)."""
    response = pages.as_(role).get(f"/subjects/{pages.world.subject_id}/bedside/")
    assert response.status_code == 200
    assert IDENTIFIERS[0] not in text(response)


@pytest.mark.parametrize("role", NOT_BEDSIDE)
def test_bedside_forms_refused_to_other_roles(pages: Pages, role: str) -> None:
    """The cell lab, QA, data manager and monitor may not verify or record an infusion (403)."""
    subject = pages.world.subject_id
    assert pages.as_(role).get(f"/subjects/{subject}/bedside/").status_code == 403
    assert pages.verify(role).status_code == 403
    assert BedsideVerification.objects.count() == 0


def test_forms_of_other_roles_answer_403_and_store_nothing(pages: Pages) -> None:
    """QC by QA, release by the cell lab, a blood draw by the pharmacist: 403, nothing stored."""
    world = pages.world
    before = (QcResult.objects.count(), LotRelease.objects.count(), ProductUnit.objects.count())
    qc = {"test_code": "viability", "value": "90"}
    assert pages.post("qa", f"/product/lots/{world.lot_id}/qc/", qc).status_code == 403
    release = {"password": PASSWORD}
    assert (
        pages.post("cell_lab", f"/product/lots/{world.lot_id}/release/", release).status_code == 403
    )
    draw = {"facility": FACILITY, "patient_identifier_1": "A", "patient_identifier_2": "B"}
    url = f"/subjects/{world.subject_id}/product/blood-draw/"
    assert pages.post("pharmacist", url, draw).status_code == 403
    after = (QcResult.objects.count(), LotRelease.objects.count(), ProductUnit.objects.count())
    assert after == before


def test_another_sites_subject_and_product_are_404(
    pages: Pages, ready_subject: Callable[..., int]
) -> None:
    """A subject and units of SITEB are not found for SITEA users, on every page and form."""
    world = pages.world
    other = randomize_in("IKC_TACE", lambda: ready_subject(OTHER_SITE))
    collection = blood_draw_record(
        actor=OPERATOR,
        subject_id=other,
        facility=FACILITY,
        patient_identifier_1="WANG Li",
        patient_identifier_2="1950-02-02",
        data=event(world.at(3), "ward 2"),
    )
    unit = collection.unit_id
    for role in ("coordinator", "cell_lab", "qa", "pharmacist", "investigator"):
        client = pages.as_(role)
        for url in (
            f"/subjects/{other}/product/",
            f"/subjects/{other}/bedside/",
            f"/product/units/{unit}/",
            f"/product/units/{unit}/timeline/",
            f"/product/units/{unit}/label.png",
            f"/product/lots/{unit}/",
        ):
            assert client.get(url).status_code == 404, (role, url)
        data = {"event_type": "received", "occurred_at": stamp(world.at(3)), "location": "lab"}
        assert client.post(f"/product/units/{unit}/events/", data).status_code == 404
    assert CustodyEvent.objects.filter(unit=collection).count() == 1
    study_wide = pages.as_("admin").get(f"/subjects/{other}/product/")
    assert unit in text(study_wide)


def test_malformed_unit_id_in_the_url_is_404(pages: Pages) -> None:
    """A unit id with a wrong check character names no unit."""
    typo = pages.world.bag_id[:-1] + ("A" if pages.world.bag_id[-1] != "A" else "B")
    assert pages.as_("cell_lab").get(f"/product/units/{typo}/").status_code == 404
    assert pages.as_("cell_lab").get(f"/product/lots/{pages.world.bag_id}/").status_code == 404


def test_pages_need_login(pages: Pages) -> None:
    """An anonymous visitor is sent to the login page."""
    response = Client().get(f"/product/units/{pages.world.bag_id}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# The full life cycle through the pages.


@pytest.fixture
def fresh(
    trial: Any, world_factory: Callable[..., World], ready_subject: Callable[..., int], clock: Any
) -> Pages:
    """A randomized IKC-arm subject with nothing drawn yet (``world_factory`` set the passwords)."""
    harvest = harvest_moment()
    subject_id = randomize_in("IKC_TACE", ready_subject)
    backdate_randomization(subject_id, harvest.astimezone(ZoneInfo("Asia/Taipei")).date())
    return Pages(World(trial=trial, clock=clock, subject_id=subject_id, harvest=harvest))


def manufacture_through_pages(pages: Pages) -> None:
    """Blood draw to a released bag received at the ward, every step posted on a page."""
    world = pages.world
    start = -14 * 24
    draw_at = world.at(start)
    response = pages.post(
        "coordinator",
        f"/subjects/{world.subject_id}/product/blood-draw/",
        {
            "facility": FACILITY,
            "patient_identifier_1": IDENTIFIERS[0],
            "patient_identifier_2": IDENTIFIERS[1],
            "occurred_at": stamp(draw_at),
            "location": "ward 7",
            "condition": "received in acceptable condition",
        },
    )
    assert response.status_code == 302, text(response)
    collection = response["Location"].rstrip("/").rsplit("/", 1)[1]
    world.collection_id = collection
    pages.event("cell_lab", collection, "received", start + 3)
    culture = pages.derive(collection)
    for hours, kind, step in (
        (6, "culture_started", "ifn_gamma"),
        (30, "cytokine_added", "anti_cd3_il2"),
        (78, "media_added", "il2_feed"),
        (270, "qc_sampled", "in_process_sterility"),
    ):
        pages.event("cell_lab", culture, kind, start + hours, step=step)
    world.lot_id = pages.derive(culture)
    pages.event("cell_lab", world.lot_id, "harvested", 0)
    world.bag_id = pages.derive(
        world.lot_id, infusion_number="1", bag_volume_ml="100", viable_cells="5000000000"
    )
    pages.event("cell_lab", world.lot_id, "qc_sampled", 0.5)
    results = [*PASSING_QC.items(), ("sterility", "no growth")]
    for code, value in results:
        data = {"test_code": code, "value": value}
        if code == "sterility":
            data["preliminary"] = "on"
        response = pages.post("cell_lab", f"/product/lots/{world.lot_id}/qc/", data)
        assert response.status_code == 302, text(response)
    world.at(1)
    response = pages.as_("qa").post(
        f"/product/lots/{world.lot_id}/release/", {"password": PASSWORD}, follow=True
    )
    assert "released, final sterility pending" in text(response)
    pages.event("cell_lab", world.bag_id, "shipped", 1.5, temperature_c="5.0")
    pages.event("pharmacist", world.bag_id, "received_at_ward", 2, location="ward 7")


def test_full_life_cycle_through_the_pages(fresh: Pages) -> None:
    """Draw, custody, QC, release, two-person bedside check, infusion: one infusion recorded, the
    timeline, reconciliation and exposure pages show it, and the audit chain verifies."""
    pages = fresh
    manufacture_through_pages(pages)
    world = pages.world
    therapy = Therapy.objects.get(subject_id=world.subject_id)
    assert world.bag_id.startswith(therapy.coi_id)
    lot_page = text(pages.as_("qa").get(f"/product/lots/{world.lot_id}/"))
    assert "Expires" in lot_page
    expiry = (world.harvest + dt.timedelta(hours=24)).astimezone(ZoneInfo("Asia/Taipei"))
    assert expiry.strftime("%Y-%m-%d %H:%M") in lot_page
    assert "ifn_gamma" in lot_page
    label = pages.as_("pharmacist").get(f"/product/units/{world.bag_id}/label.png")
    assert label["Content-Type"] == "image/png"
    assert label.content.startswith(b"\x89PNG")
    pdf = pages.as_("pharmacist").get(f"/product/units/{world.bag_id}/label.pdf")
    assert pdf.content.startswith(b"%PDF")
    world.at(3)
    response, check = pages.check()
    assert check.allowed, check.failures
    assert "Record the infusion" in text(response)
    recorded = pages.infuse(check.pk)
    assert recorded.status_code == 302, text(recorded)
    assert Infusion.objects.filter(subject_id=world.subject_id).count() == 1
    infusion = Infusion.objects.get()
    assert infusion.cells_infused == Decimal("5000000000")
    assert infusion.bedside_check.first.verifier_username == "u_pharmacist"
    assert infusion.bedside_check.second.verifier_username == "u_investigator"
    page = text(pages.as_("investigator").get(f"/product/bedside-checks/{check.pk}/"))
    assert "Infusion 1 recorded" in page
    assert "Record the infusion" not in page
    timeline = text(pages.as_("monitor").get(f"/product/units/{world.bag_id}/timeline/"))
    assert "Vein-to-vein time" in timeline
    assert "14 d 3.2 h" in timeline  # blood drawn H - 14 d, infusion started H + 3 h 10 min
    summary = text(pages.as_("monitor").get(f"/subjects/{world.subject_id}/product/"))
    assert "every unit accounted for" in summary
    exposure = text(pages.as_("data_manager").get("/product/"))
    assert "<strong>1</strong>" in exposure
    assert ">12<" in exposure
    assert verify_chain().ok


def test_custody_correction_is_a_reversing_event_with_a_reason(pages: Pages) -> None:
    """A mistaken event stays on the ledger; the correction reverses it and says why."""
    world = pages.world
    pages.event("pharmacist", world.bag_id, "stored", 2.5, location="ward 7 fridge")
    stored = CustodyEvent.objects.get(event_type="stored")
    url = f"/product/units/{world.bag_id}/reversal/"
    base = {"reverses": stored.pk, "occurred_at": stamp(world.at(2.6)), "location": "ward 7"}
    base["condition"] = "received in acceptable condition"
    count = CustodyEvent.objects.count()
    missing = pages.post("pharmacist", url, base)
    assert missing.status_code == 422
    assert 'id="id_reason_error"' in missing.content.decode()
    assert CustodyEvent.objects.count() == count
    done = pages.as_("pharmacist").post(url, {**base, "reason": "wrong bag scanned"}, follow=True)
    assert CustodyEvent.objects.count() == count + 1
    reversal = CustodyEvent.objects.get(event_type="reversal")
    assert reversal.reverses_id == stored.pk
    assert reversal.reason == "wrong bag scanned"
    assert CustodyEvent.objects.filter(pk=stored.pk, event_type="stored").exists()
    page = text(done)
    assert "reversed" in page
    assert "wrong bag scanned" in page
    assert verify_chain().ok


# Unsafe bedside cases through the pages: each blocked, the reason shown, zero infusions.


def assert_blocked_on_page(pages: Pages, response: Any, check: Any, expected: str) -> None:
    """The check is recorded blocked for ``expected``; its page says why; no infusion goes in."""
    assert not check.allowed
    codes = {f["check"] for f in check.failures}
    assert expected in codes, check.failures
    page = text(response)
    assert "blocked: do not infuse" in page
    for failure in check.failures:
        assert failure["reason"] in page
    assert "Record the infusion" not in page
    refused = pages.infuse(check.pk)
    assert refused.status_code == 409
    assert "blocked this infusion" in text(refused)
    assert Infusion.objects.count() == 0
    assert not CustodyEvent.objects.filter(event_type="infused").exists()


def test_wrong_patient_is_blocked(pages: Pages) -> None:
    pages.world.at(3)
    response, check = pages.check(wristband_1="LIN Wei-Ting", wristband_2="1962-03-05")
    assert_blocked_on_page(pages, response, check, "patient_identity")


def test_wrong_chain_of_identity_is_blocked(pages: Pages) -> None:
    other = chain_of_identity_id(FACILITY, pages.world.harvest.year, 999)
    bag = other.unit(UnitKind.COLLECTION, 1).unit(UnitKind.CULTURE, 1).unit(UnitKind.LOT, 1)
    foreign = str(bag.unit(UnitKind.BAG, 1))
    pages.world.at(3)
    response, check = pages.check(bag_label=foreign, bag_id=foreign)
    assert_blocked_on_page(pages, response, check, "product_identity")


def test_unreleased_lot_is_blocked(world_factory: Callable[..., World]) -> None:
    pages = Pages(world_factory(release=False))
    pages.world.at(3)
    response, check = pages.check()
    assert_blocked_on_page(pages, response, check, "release_status")


def test_failed_qc_is_refused_and_blocked(world_factory: Callable[..., World]) -> None:
    pages = Pages(world_factory(qc={"viability": "60"}))
    lot = text(pages.as_("qa").get(f"/product/lots/{pages.world.lot_id}/"))
    assert "rejected" in lot
    assert "Refused because" in lot
    assert "Deviations (out of specification)" in lot
    assert OosDeviation.objects.count() == 1
    pages.world.at(3)
    response, check = pages.check()
    assert_blocked_on_page(pages, response, check, "release_status")


def test_expired_by_one_minute_is_blocked(pages: Pages) -> None:
    pages.world.clock.set(pages.world.harvest + dt.timedelta(hours=24, minutes=1))
    response, check = pages.check()
    assert_blocked_on_page(pages, response, check, "expiry")


def test_already_infused_bag_is_blocked(pages: Pages) -> None:
    pages.world.at(3)
    _, first = pages.check()
    assert first.allowed, first.failures
    assert pages.infuse(first.pk).status_code == 302
    pages.world.at(4)
    response, second = pages.check()
    assert not second.allowed
    assert "already_infused" in {f["check"] for f in second.failures}
    assert "blocked: do not infuse" in text(response)
    for check in (first, second):
        assert pages.infuse(check.pk).status_code == 409
    assert Infusion.objects.count() == 1


def test_same_user_verifying_twice_is_blocked(pages: Pages) -> None:
    pages.world.at(3)
    response, check = pages.check(("pharmacist", "pharmacist"))
    assert_blocked_on_page(pages, response, check, "verifiers")


def test_tace_arm_subject_gets_no_coi_and_is_blocked(
    pages: Pages, ready_subject: Callable[..., int]
) -> None:
    tace = randomize_in("TACE", ready_subject)
    draw = {
        "facility": FACILITY,
        "patient_identifier_1": "WANG Li",
        "patient_identifier_2": "1950-02-02",
        "occurred_at": stamp(pages.world.at(3)),
        "location": "ward 7",
        "condition": "received in acceptable condition",
    }
    refused = pages.post("coordinator", f"/subjects/{tace}/product/blood-draw/", draw)
    assert refused.status_code == 409
    assert "not the IKC arm" in text(refused)
    assert not Therapy.objects.filter(subject_id=tace).exists()
    response, check = pages.check(subject_id=tace)
    assert_blocked_on_page(pages, response, check, "ikc_arm")


# Invalid input re-renders the form with the field's error and stores nothing.


def counts() -> tuple[int, ...]:
    models = (Therapy, ProductUnit, CustodyEvent, QcResult, LotRelease)
    others = (BedsideVerification, BedsideCheck, Infusion)
    return tuple(m.objects.count() for m in (*models, *others))


@pytest.mark.parametrize(
    ("role", "path", "data", "field"),
    [
        (
            "coordinator",
            "/subjects/{subject}/product/blood-draw/",
            {"facility": FACILITY, "patient_identifier_1": "X", "location": "w"},
            "patient_identifier_2",
        ),
        (
            "coordinator",
            "/subjects/{subject}/product/blood-draw/",
            {
                "facility": FACILITY,
                "patient_identifier_1": IDENTIFIERS[0],
                "patient_identifier_2": IDENTIFIERS[1],
                "occurred_at": "{future}",
                "location": "ward 7",
                "condition": "received in acceptable condition",
            },
            "occurred_at",
        ),
        (
            "cell_lab",
            "/product/lots/{lot}/qc/",
            {"test_code": "viability", "value": "high"},
            "value",
        ),
        ("cell_lab", "/product/lots/{lot}/qc/", {"test_code": "", "value": "90"}, "test_code"),
        ("cell_lab", "/product/units/{lot}/derive/", {"bag_volume_ml": "100"}, "infusion_number"),
        (
            "pharmacist",
            "/product/units/{bag}/events/",
            {"event_type": "stored", "occurred_at": "yesterday", "location": "w"},
            "occurred_at",
        ),
        (
            "pharmacist",
            "/product/units/{bag}/events/",
            {
                "event_type": "quarantined",
                "occurred_at": "{now}",
                "location": "w",
                "condition": "received in acceptable condition",
            },
            "reason",
        ),
        ("qa", "/product/lots/{lot}/release/", {"password": "wrong"}, "password"),
        ("pharmacist", "/subjects/{subject}/bedside/verify/", {"password": PASSWORD}, "bag_label"),
    ],
)
def test_invalid_input_shows_the_field_error_and_stores_nothing(
    pages: Pages, role: str, path: str, data: dict[str, Any], field: str
) -> None:
    """Each form: status 4xx, the error on its field (or above the form), nothing stored."""
    world = pages.world
    now = stamp(world.at(3))
    url = path.format(subject=world.subject_id, lot=world.lot_id, bag=world.bag_id)
    moments = {"{now}": now, "{future}": stamp(world.at(5))}
    world.at(3)
    posted = {k: moments.get(v, v) if isinstance(v, str) else v for k, v in data.items()}
    before = counts()
    response = pages.post(role, url, posted)
    assert response.status_code in {403, 409, 422}, text(response)
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page, page
    assert counts() == before


def test_check_with_one_verification_shows_the_error(pages: Pages) -> None:
    """The check needs two verifications: re-rendered with the error, no check recorded."""
    pages.world.at(3)
    assert pages.verify("pharmacist").status_code == 302
    only = BedsideVerification.objects.get()
    data = {"verification_ids": [only.pk], "bag_id": pages.world.bag_id}
    response = pages.post("pharmacist", f"/subjects/{pages.world.subject_id}/bedside/check/", data)
    assert response.status_code == 422
    assert "two verifications are needed" in text(response)
    assert BedsideCheck.objects.count() == 0


def test_infusion_without_stop_time_stores_nothing(pages: Pages) -> None:
    """The infusion form re-renders with the stop time's error; no infusion, no custody event."""
    pages.world.at(3)
    _, check = pages.check()
    assert check.allowed, check.failures
    response = pages.infuse(check.pk, stopped_at="")
    assert response.status_code == 422
    assert 'id="id_stopped_at_error"' in response.content.decode()
    assert Infusion.objects.count() == 0
    assert not CustodyEvent.objects.filter(event_type="infused").exists()


def test_verifications_partial_lists_waiting_verifiers_only(pages: Pages) -> None:
    """The htmx partial names the verifications waiting for a check, not their entries."""
    pages.world.at(3)
    pages.verify("pharmacist")
    url = f"/subjects/{pages.world.subject_id}/bedside/verifications/"
    partial = text(pages.as_("investigator").get(url, HTTP_HX_REQUEST="true"))
    assert "u_pharmacist" in partial
    assert IDENTIFIERS[0] not in partial
    assert "<html" not in partial


# Translations of the product pages.


def test_product_catalog_meets_the_pages_standard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every product string translated with its placeholders; the .mo compiled from the .po."""
    monkeypatch.setattr(test_translations, "MESSAGES", LOCALE)
    test_translations.test_every_string_translated_with_its_placeholders()
    test_translations.test_compiled_catalog_matches_the_po()


def test_product_pages_in_traditional_chinese(pages: Pages) -> None:
    """The lot page switches to zh-Hant with the language cookie."""
    client = pages.as_("qa")
    client.cookies["django_language"] = "zh-hant"
    page = text(client.get(f"/product/lots/{pages.world.lot_id}/"))
    assert "批次紀錄" in page


def test_signing_password_keeps_its_spaces() -> None:
    """A password is compared as typed (as the casebook signature form does): a trimmed one
    would refuse a user whose password starts or ends with a space."""
    from ikctrial.web.product.forms import SignForm

    form = SignForm({"password": "  spaced out  "})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["password"] == "  spaced out  "
