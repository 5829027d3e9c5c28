"""The product API (``/api/v1/``): the bedside through HTTP, documents, labels, error codes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ikctrial.web.product.models import BedsideCheck, Infusion

from .conftest import IDENTIFIERS, PASSWORD, World

pytestmark = pytest.mark.django_db
API = "/api/v1"


def post(world: World, role: str, path: str, body: dict[str, Any]) -> Any:
    return world.trial.client(role).post(f"{API}{path}", body, content_type="application/json")


def get(world: World, role: str, path: str) -> Any:
    return world.trial.client(role).get(f"{API}{path}")


def verification_body(world: World, **changes: Any) -> dict[str, Any]:
    body = {
        "password": PASSWORD,
        "wristband": list(IDENTIFIERS),
        "bag_label_patient": list(IDENTIFIERS),
        "bag_label": world.bag_id,
        "bag_intact": True,
        "appearance_acceptable": True,
    }
    body.update(changes)
    return body


def bedside_over_http(world: World, **changes: Any) -> Any:
    """Two verifiers, each with their own token, then the check."""
    ids = []
    for role in ("pharmacist", "coordinator"):
        response = post(
            world,
            role,
            f"/subjects/{world.subject_id}/bedside-verifications",
            verification_body(world, **changes),
        )
        assert response.status_code == 201, response.content
        assert "wristband" not in response.json()  # entries are not shown to anyone
        ids.append(response.json()["verification_id"])
    clinical = {
        "body_temperature_c": "36.9",
        "vital_signs_acceptable": True,
        "labs_drawn_on": (world.harvest.date() - dt.timedelta(days=1)).isoformat(),
        "labs_within_limits": True,
    }
    return post(
        world,
        "pharmacist",
        f"/subjects/{world.subject_id}/bedside-checks",
        {"bag_id": world.bag_id, "verification_ids": ids, "clinical": clinical},
    )


def infusion_body(world: World) -> dict[str, Any]:
    start = world.harvest + dt.timedelta(hours=3, minutes=10)
    return {
        "started_at": start.isoformat(),
        "stopped_at": (start + dt.timedelta(minutes=30)).isoformat(),
        "volume_infused_ml": "50",
        "location": "ward 7",
        "temperature_c": "6.0",
        "reactions": [
            {
                "description": "chills and fever 38.4 °C",
                "ctcae_grade": 1,
                "onset_at": (start + dt.timedelta(minutes=20)).isoformat(),
                "outcome": "recovered",
            }
        ],
    }


def test_bedside_and_infusion_over_http_with_a_reaction(world: World) -> None:
    """Verify, check, infuse half the bag: cells = 5e9 x 50/100; the reaction becomes an AE."""
    world.at(3)
    check = bedside_over_http(world)
    assert check.status_code == 201, check.content
    assert check.json()["allowed"], check.json()["failures"]
    world.clock.set(world.harvest + dt.timedelta(hours=4))
    response = post(
        world,
        "investigator",
        f"/product/bedside-checks/{check.json()['check_id']}/infusion",
        infusion_body(world),
    )
    assert response.status_code == 201, response.content
    infusion = response.json()
    assert infusion["cells_infused"] == "2500000000"
    assert infusion["infusion_number"] == 1
    assert len(infusion["adverse_event_ids"]) == 1
    again = post(
        world,
        "investigator",
        f"/product/bedside-checks/{check.json()['check_id']}/infusion",
        infusion_body(world),
    )
    assert again.status_code == 409
    exposure = get(world, "data_manager", "/product/exposure").json()
    row = next(r for r in exposure if r["subject_id"] == world.subject_id)
    assert (row["given"], row["planned"], row["cumulative_cells"]) == (1, 12, "2500000000")
    assert row["infusions_with_reactions"] == 1


def test_blocked_check_over_http_is_recorded_and_infusion_refused(world: World) -> None:
    """A wrong wristband: 201 with allowed false and the reason; the infusion answers 409."""
    world.at(3)
    check = bedside_over_http(world, wristband=["LIN Wei-Ting", "1962-03-05"])
    assert check.status_code == 201
    assert not check.json()["allowed"]
    assert {f["check"] for f in check.json()["failures"]} == {"patient_identity"}
    response = post(
        world,
        "investigator",
        f"/product/bedside-checks/{check.json()['check_id']}/infusion",
        infusion_body(world),
    )
    assert response.status_code == 409
    assert BedsideCheck.objects.filter(allowed=False).count() == 1
    assert Infusion.objects.count() == 0


def test_documents_timeline_and_accounting(world: World) -> None:
    """The subject's CoI and ledger, a unit, the timeline and the lot accounting."""
    product = get(world, "monitor", f"/subjects/{world.subject_id}/product")
    assert product.status_code == 200
    assert len(product.json()["units"]) == 4
    assert product.json()["ledger"][0]["event_type"] == "collected"
    bag = get(world, "qa", f"/product/units/{world.bag_id}").json()
    assert bag["custody_status"] == "at_ward"
    assert bag["release_status"] == "RELEASED_PENDING_FINAL_STERILITY"
    world.at(3)
    check = world.check()
    world.infuse(check.pk)
    timeline = get(world, "qa", f"/product/units/{world.bag_id}/timeline").json()
    milestones = [m["event_type"] for m in timeline["milestones"]]
    assert milestones[0] == "collected"
    assert milestones[-1] == "infused"
    vein_to_vein = dt.timedelta(days=14, hours=3, minutes=10).total_seconds() / 3600
    assert timeline["vein_to_vein_hours"] == pytest.approx(vein_to_vein)
    assert sum(s["duration_hours"] for s in timeline["steps"]) == pytest.approx(vein_to_vein)
    accounting = get(world, "qa", f"/product/lots/{world.lot_id}/accounting").json()
    assert accounting["balanced"]
    assert accounting["counts"]["infused"] == 1
    subject = get(world, "qa", f"/subjects/{world.subject_id}/product/accounting").json()
    assert subject["counts"]["infused"] == 1


def test_unit_in_stock_then_expired_in_accounting(world: World) -> None:
    """8.5: a bag not infused by expiry counts as expired."""
    assert (
        get(world, "qa", f"/product/lots/{world.lot_id}/accounting").json()["counts"]["in_stock"]
        == 1
    )
    world.clock.set(world.harvest + dt.timedelta(hours=24))
    counts = get(world, "qa", f"/product/lots/{world.lot_id}/accounting").json()["counts"]
    assert counts["expired"] == 1


@pytest.mark.parametrize(("fmt", "magic"), [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_label_png_and_pdf(world: World, fmt: str, magic: bytes) -> None:
    """8.3: a machine-readable label (QR code) of the bag, as PNG or PDF."""
    response = get(world, "pharmacist", f"/product/units/{world.bag_id}/label?format={fmt}")
    assert response.status_code == 200
    assert response.content.startswith(magic)


def test_label_qr_code_encodes_the_unit_id(world: World) -> None:
    """The QR matrix is the segno encoding of the unit id (round trip through segno)."""
    import segno

    from ikctrial.web.product.labels import qr_matrix

    matrix = qr_matrix(world.bag_id)
    expected = segno.make_qr(world.bag_id, error="m")
    assert matrix.shape == (expected.symbol_size(scale=1)[1],) * 2
    assert matrix.sum() == sum(sum(row) for row in expected.matrix_iter(scale=1, border=4))


def test_error_codes(world: World) -> None:
    """422 bad input, 403 role, 404 not visible, 409 state (interfaces.md)."""
    assert get(world, "qa", "/product/units/not-a-unit").status_code == 422
    typo = world.bag_id[:-1] + ("A" if world.bag_id[-1] != "A" else "B")
    assert get(world, "qa", f"/product/units/{typo}").status_code == 422
    qc = {"test_code": "viability", "value": "85"}
    assert post(world, "monitor", f"/product/lots/{world.lot_id}/qc", qc).status_code == 403
    assert get(world, "statistician", f"/product/units/{world.bag_id}").status_code == 404
    bad = {"test_code": "no_such_test", "value": "1"}
    assert post(world, "cell_lab", f"/product/lots/{world.lot_id}/qc", bad).status_code == 422
    text = {"test_code": "viability", "value": "high"}
    assert post(world, "cell_lab", f"/product/lots/{world.lot_id}/qc", text).status_code == 422
    naive = {"occurred_at": "2026-01-01T10:00:00", "location": "x", "event_type": "stored"}
    assert (
        post(world, "pharmacist", f"/product/units/{world.bag_id}/events", naive).status_code == 422
    )
    wrong = {"password": "wrong"}
    assert post(world, "qa", f"/product/lots/{world.lot_id}/release", wrong).status_code == 403


def test_qc_over_http_flags_out_of_specification(world: World) -> None:
    """8.2: an OOS result is kept and flagged with its specification."""
    response = post(
        world,
        "cell_lab",
        f"/product/lots/{world.lot_id}/qc",
        {"test_code": "viability", "value": "65"},
    )
    assert response.status_code == 201
    assert response.json()["out_of_specification"]
    assert response.json()["specification"].startswith(">= 70")


def test_batch_record_lists_steps_by_day_from_culture_start(world: World) -> None:
    """8.1: IFN-gamma day 0, anti-CD3 + IL-2 day 1, IL-2 feed day 3, in-process sample day 11."""
    record = get(world, "qa", f"/product/lots/{world.lot_id}/batch-record").json()
    days = {e["step"]: e["day"] for e in record["events"] if e["step"]}
    assert days == {
        "ifn_gamma": 0,
        "anti_cd3_il2": 1,
        "il2_feed": 3,
        "in_process_sterility": 11,
    }
    assert record["culture_days"] == pytest.approx(14 - 6 / 24)
    assert len(record["qc"]) == 11
