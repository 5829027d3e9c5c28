"""The driver on the test database (SQLite, or PostgreSQL in the PostgreSQL pass).

The expected counts are recomputed here from the virtual trial and the arms the system assigned,
not taken from the driver's own tally.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.demo.conftest import SEED, SUBJECTS

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo_run(django_db_setup: None, django_db_blocker: Any, demo_protocol: Path) -> Iterator[Any]:
    """A small simulated trial driven into the test database once for the module (rolled back
    after its last test)."""
    from django.db import transaction

    from ikctrial.demo.run import run_demo

    with django_db_blocker.unblock(), transaction.atomic():
        yield run_demo(subjects=SUBJECTS, seed=SEED, operator="test-operator")
        transaction.set_rollback(True)


def _courses(run: Any) -> dict[str, Any]:
    """The virtual course each randomized subject follows: that of the arm the system gave it."""
    from ikctrial.web.protocol import current_protocol
    from ikctrial.web.randomization.models import Randomization

    kinds = {a.code: a.type for a in current_protocol().arms}
    patients = {p.screening.subject_ref: p for p in run.trial.patients}
    courses = {}
    for subject_ref, arm in Randomization.objects.values_list("subject__subject_ref", "arm"):
        kind = "experimental" if kinds[arm] == "experimental" else "control"
        courses[subject_ref] = patients[subject_ref].course(kind)
    return courses


def test_stored_records_match_the_virtual_trial(demo_run: Any) -> None:
    """Screened, excluded, randomized and every course's events are all in the database."""
    from ikctrial.web.crf.models import (
        AdverseEvent,
        ImmunePanelResult,
        StudyExit,
        TaceProcedure,
        TumorAssessment,
    )
    from ikctrial.web.product.models import Infusion
    from ikctrial.web.subjects.models import EligibilityVerdict

    trial = demo_run.trial
    assert demo_run.drive.eligibility_mismatches == []
    assert EligibilityVerdict.objects.count() == len(trial.patients)
    excluded = [p for p in trial.patients if not p.eligible]
    assert EligibilityVerdict.objects.filter(eligible=False).count() == len(excluded)
    courses = list(_courses(demo_run).values())
    assert len(courses) == SUBJECTS
    panels = sum(len(c.immune_panels) for c in courses)
    expected = {
        TumorAssessment: sum(len(c.assessments) for c in courses),
        TaceProcedure: sum(len(c.tace_sessions) for c in courses),
        AdverseEvent: sum(len(c.adverse_events) for c in courses),
        Infusion: sum(len(c.infusion_dates) for c in courses),
        ImmunePanelResult: 12 * panels,
        StudyExit: SUBJECTS,
    }
    assert {m.__name__: m.objects.count() for m in expected} == {
        m.__name__: n for m, n in expected.items()
    }
    assert expected[Infusion] > 0
    summary = demo_run.summary
    assert summary["screened"] == len(trial.patients)
    assert summary["screen_failures"] == len(excluded)
    assert sum(summary["randomized"].values()) == SUBJECTS
    assert summary["infusions"] == expected[Infusion]


def test_infusion_dates_are_those_of_the_plan(demo_run: Any) -> None:
    """Each subject's infusions were given on the virtual plan's days, numbered 1, 2, ..."""
    from zoneinfo import ZoneInfo

    from ikctrial.web.product.models import Infusion

    by_ref: dict[str, list[Any]] = {}
    for infusion in Infusion.objects.select_related("subject__site").order_by("started_at"):
        by_ref.setdefault(infusion.subject.subject_ref, []).append(infusion)
    planned = {
        ref: course.infusion_dates
        for ref, course in _courses(demo_run).items()
        if course.infusion_dates
    }
    given = {
        ref: [i.started_at.astimezone(ZoneInfo(i.subject.site.timezone)).date() for i in rows]
        for ref, rows in by_ref.items()
    }
    assert given == planned
    for rows in by_ref.values():
        numbers = [i.infusion_number for i in rows]
        assert numbers == sorted(set(numbers))
        assert all(i.bag.infusion_number == i.infusion_number for i in rows)


def test_randomization_and_exit_dates_are_those_of_the_plan(demo_run: Any) -> None:
    """The system randomized on the planned day (site calendar) and closed each subject on the
    course's last contact day: no step ran late, however many ran that day."""
    from zoneinfo import ZoneInfo

    from ikctrial.web.crf.models import StudyExit
    from ikctrial.web.randomization.models import Randomization

    patients = {p.screening.subject_ref: p for p in demo_run.trial.patients}
    for row in Randomization.objects.select_related("subject__site"):
        local = row.randomized_at.astimezone(ZoneInfo(row.subject.site.timezone)).date()
        assert local == patients[row.subject.subject_ref].randomization_date
    courses = _courses(demo_run)
    exits = dict(StudyExit.objects.values_list("subject__subject_ref", "exit_date"))
    assert exits == {ref: course.last_contact_date for ref, course in courses.items()}


def test_every_infusion_passed_the_two_person_bedside_check(demo_run: Any) -> None:
    """Allowed check, two different verifiers (pharmacist and investigator), blocks overridden."""
    from ikctrial.web.product.models import Infusion

    infusions = list(
        Infusion.objects.select_related("bedside_check__first", "bedside_check__second")
    )
    assert infusions
    for infusion in infusions:
        check = infusion.bedside_check
        assert check.allowed
        assert check.bag_id == infusion.bag_id
        assert all(f.get("overridden") for f in check.failures), check.failures
        assert (check.override_id is not None) == bool(check.failures)
        verifiers = {check.first.verifier_username, check.second.verifier_username}
        assert len(verifiers) == 2
        assert {check.first.verifier_role, check.second.verifier_role} == {
            "pharmacist",
            "investigator",
        }


def test_every_record_has_its_audit_event_and_the_chain_verifies(demo_run: Any) -> None:
    """A create event per stored record; resolved adverse events corrected with a reason."""
    from ikctrial.demo.driver import RESOLVED_REASON
    from ikctrial.web.audit.models import AuditEvent
    from ikctrial.web.audit.services import verify_chain
    from ikctrial.web.consent.models import Consent
    from ikctrial.web.crf.models import (
        AdverseEvent,
        ImmunePanelResult,
        StudyExit,
        TaceProcedure,
        TumorAssessment,
        VitalSigns,
    )
    from ikctrial.web.product.models import (
        BedsideCheck,
        BedsideVerification,
        CustodyEvent,
        Infusion,
        LotRelease,
        ProductUnit,
        QcResult,
        Therapy,
    )
    from ikctrial.web.randomization.models import Randomization
    from ikctrial.web.subjects.models import EligibilityVerdict, Subject

    for model in (
        Subject,
        EligibilityVerdict,
        Consent,
        Randomization,
        TumorAssessment,
        TaceProcedure,
        ImmunePanelResult,
        AdverseEvent,
        VitalSigns,
        StudyExit,
        Therapy,
        ProductUnit,
        CustodyEvent,
        QcResult,
        LotRelease,
        BedsideVerification,
        BedsideCheck,
        Infusion,
    ):
        label = model._meta.label_lower
        created = set(
            AuditEvent.objects.filter(model=label, action="create").values_list(
                "object_pk", flat=True
            )
        )
        stored = {str(pk) for pk in model.objects.values_list("pk", flat=True)}
        assert stored, label
        assert stored <= created, label
    resolved = AdverseEvent.objects.filter(ongoing=False).values_list("pk", flat=True)
    corrected = set(
        AuditEvent.objects.filter(
            model="crf.adverseevent", action="update", reason=RESOLVED_REASON
        ).values_list("object_pk", flat=True)
    )
    assert {str(pk) for pk in resolved} <= corrected
    assert resolved
    verdict = verify_chain()
    assert verdict.ok, verdict
    assert demo_run.summary["audit"]["ok"] is True


def test_each_step_was_done_by_the_role_that_does_it(demo_run: Any) -> None:
    """Releases signed by QA, lots manufactured by the cell lab, subjects screened at sites."""
    from ikctrial.web.audit.models import AuditEvent
    from ikctrial.web.product.models import LotRelease

    assert set(LotRelease.objects.values_list("signer_role", flat=True)) == {"qa"}
    actors = Counter(
        AuditEvent.objects.filter(model="product.qcresult").values_list("actor", flat=True)
    )
    assert set(actors) == {"study-cell-lab"}
    screeners = set(
        AuditEvent.objects.filter(model="subjects.subject", action="create").values_list(
            "actor", flat=True
        )
    )
    assert screeners
    assert all(name.endswith("-coordinator") for name in screeners)
