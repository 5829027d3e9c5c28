"""A small trial for the export tests, entered through the real services.

Two randomized subjects of the own site (one IKC + TACE subject with an infusion given, built by
the product tests' fixtures, which are reused here rather than copied) and one of the other site,
with tumor assessments, TACE, labs, the immune panel, vital signs, an adverse event, a
concomitant medication and a visit.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

_spec = importlib.util.spec_from_file_location(
    "product_fixtures", Path(__file__).resolve().parents[1] / "product" / "conftest.py"
)
assert _spec is not None
assert _spec.loader is not None
product_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = product_fixtures
_spec.loader.exec_module(product_fixtures)
test_protocol = product_fixtures.test_protocol
clock = product_fixtures.clock
world_factory = product_fixtures.world_factory

OPERATOR = "test-operator"


@dataclass
class ExportTrial:
    """The subjects of the export tests and their randomization dates."""

    trial: Any
    ikc: int
    control: int
    other_site: int
    randdt: dict[int, dt.date]
    lot_id: str

    def screening_number(self, subject_id: int) -> str:
        from ikctrial.web.subjects.models import Subject

        return Subject.objects.get(pk=subject_id).screening_number


def enter(subject_id: int, form: str, **data: Any) -> Any:
    """One CRF record entered by the operator."""
    from ikctrial.web.crf.services import crf_record_save

    return crf_record_save(actor=OPERATOR, subject_id=subject_id, form=form, data=data).record


@pytest.fixture
def enter_crf() -> Callable[..., Any]:
    """``enter(subject_id, form, **data)``: a CRF record entered by the operator."""
    return enter


def _iso(day: dt.date) -> str:
    return day.isoformat()


def target(diameter: float, viable: float) -> list[dict[str, Any]]:
    return [
        {
            "id": "T1",
            "organ": "liver",
            "nodal": False,
            "diameter_mm": diameter,
            "viable_diameter_mm": viable,
        }
    ]


def read_centrally(reader: Any, subject_id: int, day: dt.date, diameter: float) -> None:
    """A blinded read of one time point: one target lesion (the baseline: 40 mm, no new-lesion
    call; later: no new lesion)."""
    from ikctrial.web.central_review.services import central_read_save

    data: dict[str, Any] = {
        "assessed_on": _iso(day),
        "modality": "CT",
        "target": target(diameter, diameter / 2),
    }
    if diameter != 40:
        data["new_lesions"] = "none"
    central_read_save(actor=reader, subject_id=subject_id, data=data)


@pytest.fixture
def central_read() -> Callable[..., None]:
    """``central_read(reader, subject_id, day, diameter)``: a blinded read, through the service."""
    return read_centrally


def record_course(subject_id: int, randdt: dt.date) -> None:
    """Baseline and one post-baseline scan, TACE, labs, immune panel, vitals, AE, CM, visit."""
    days = {n: _iso(randdt + dt.timedelta(days=n)) for n in (-1, 1, 2, 7, 10, 14)}
    enter(
        subject_id, "tumor_assessment", assessed_on=days[-1], modality="CT", target=target(40, 30)
    )
    enter(
        subject_id,
        "tace_procedure",
        performed_on=days[1],
        technique="cTACE",
        chemotherapy_agent="epirubicin",
        dose_mg=50,
    )
    enter(
        subject_id,
        "tumor_assessment",
        assessed_on=days[14],
        modality="CT",
        target=target(28, 10),
        new_lesions="none",
    )
    for day, value in ((days[-1], 30), (days[7], 130)):
        enter(
            subject_id,
            "lab_result",
            collected_on=day,
            test="ALT",
            value=value,
            unit="U/L",
            lln=0,
            uln=40,
        )
    for day, value in ((days[-1], 20), (days[10], 31.5)):
        enter(
            subject_id,
            "immune_panel",
            collected_on=day,
            analyte="CD8",
            value=value,
            unit="percent_lymphocytes",
        )
    enter(
        subject_id,
        "vital_signs",
        measured_at=f"{days[1]}T09:00:00+08:00",
        timepoint="visit",
        systolic_mmhg=120,
        temperature_c=36.8,
    )
    enter(
        subject_id,
        "adverse_event",
        verbatim_term="fever after TACE",
        ctcae_term="Fever",
        grade=1,
        onset_date=days[2],
        relatedness_ikc="unlikely",
        relatedness_tace="related",
        outcome="recovered",
        ongoing=False,
        end_date=days[7],
    )
    enter(
        subject_id,
        "concomitant_medication",
        name="paracetamol",
        indication="fever",
        start_date=days[2],
    )
    enter(subject_id, "visit", code="first_tace", done_on=days[1])


@pytest.fixture
def export_trial(
    trial: Any, world_factory: Callable[..., Any], ready_subject: Callable[..., int]
) -> ExportTrial:
    """The export world: IKC subject infused once, a control subject, one at the other site."""
    from ikctrial.web.crf.selectors import subject_dates
    from ikctrial.web.subjects.models import Subject

    world = world_factory()
    check = world.check()
    world.infuse(check.pk)
    ikc = world.subject_id
    control = product_fixtures.randomize_in("TACE", ready_subject)
    zone = ZoneInfo("Asia/Taipei")
    product_fixtures.backdate_randomization(control, (world.harvest.astimezone(zone)).date())
    from ikctrial.web.randomization.services import subject_randomize

    other = ready_subject("SITEB")
    subject_randomize(actor=OPERATOR, subject_id=other)
    randdt = {}
    for subject_id in (ikc, control):
        dates = subject_dates(Subject.objects.select_related("site").get(pk=subject_id))
        randdt[subject_id] = dates.randomization_date
        record_course(subject_id, dates.randomization_date)
    return ExportTrial(trial, ikc, control, other, randdt, world.lot_id)
