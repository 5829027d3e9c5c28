"""Drive the virtual patients through the real services, day by day, as the sites would.

The virtual trial (``ikctrial.design.virtual_trial``) says what happens to whom and when. The
driver turns it into dated steps in one queue and applies them in time order under a simulated
clock (``time_machine``): every service sees "now" as the moment of the step, so consent dates,
"no date in the future", SAE clocks, custody times, release expiry and the bedside calendar all
run as they would on that day. Each step is done by the user of the role that does it at a site
(coordinator screens, consents, randomizes and enters CRFs; the cell lab manufactures; QA releases
with an e-signature; pharmacist and investigator verify at the bedside; the investigator records
the infusion and corrects a resolved adverse event with a reason). The real system randomizes;
the patient then follows the virtual course of the arm it was given. Nothing writes rows directly,
and every infusion is recorded from a bedside check that allowed it; a check blocked by soft
blocks only (an infusion moved out of a TACE blackout, say) gets the investigator's e-signed
override with its reason and a fresh two-person verification, like at the bedside.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import time_machine

from ikctrial.demo.setup import DemoStaff
from ikctrial.design.virtual_trial import (
    AdverseEvent,
    Arm,
    ArmCourse,
    ImmunePanel,
    TaceSession,
    TumorAssessment,
    VirtualPatient,
    VirtualTrial,
)
from ikctrial.errors import InputError

FACILITY = "D0001"
"""Facility identification number of the demo cell lab (chain of identity, domain.md 8.3)."""
PASSING_QC: dict[str, tuple[str, bool]] = {
    "appearance": ("acceptable", False),
    "viable_cell_dose": ("5e9", False),
    "viability": ("86", False),
    "cd3_pct": ("91", False),
    "cd3_cd56_pct": ("24", False),
    "gram_stain": ("no organisms seen", False),
    "endotoxin": ("0.4", False),
    "mycoplasma": ("not detected", False),
    "potency": ("42", False),
    "label_reconciliation": ("match", False),
    "sterility": ("no growth", True),
}
"""Release results of every lot; sterility is the in-process (preliminary) culture."""
BAG_VOLUME_ML = Decimal("100")
BAG_VIABLE_CELLS = Decimal("5000000000")
IMMUNE_ANALYTES: tuple[tuple[str, str, str], ...] = (
    ("CD3", "cd3_pct", "percent_lymphocytes"),
    ("CD4", "cd4_pct", "percent_lymphocytes"),
    ("CD8", "cd8_pct", "percent_lymphocytes"),
    ("CD4_CD8_ratio", "cd4_cd8_ratio", "ratio"),
    ("NK", "nk_pct", "percent_lymphocytes"),
    ("NKT", "nkt_like_pct", "percent_lymphocytes"),
    ("Treg", "treg_pct_of_cd4", "percent_cd4"),
)
CYTOKINES = {
    "IFN-gamma": "IFN_gamma",
    "TNF-alpha": "TNF_alpha",
    "IL-2": "IL2",
    "IL-6": "IL6",
    "IL-10": "IL10",
}
"""Virtual cytokine names -> immune-panel analytes of the CRF."""
RESOLVED_REASON = "event resolved: end date and outcome entered"
OVERRIDE_REASON = (
    "infusion moved by the TACE blackout or a missed dose (domain.md 1.4); investigator approves"
)


class DemoError(RuntimeError):
    """The simulated trial could not be applied (a service refused a step the plan needs)."""


@dataclass(order=True)
class _Step:
    moment: dt.datetime
    order: int
    action: Callable[[], None] = field(compare=False)


@dataclass
class _Subject:
    """What the driver knows of one screened patient in the system."""

    patient: VirtualPatient
    site: str
    subject_id: int
    consent_date: dt.date


@dataclass
class _Manufacture:
    """One IKC product in the making (blood draw to infusion) for one infusion day."""

    subject: _Subject
    infusion_day: dt.date
    reactions: list[AdverseEvent]
    collection: str = ""
    culture: str = ""
    lot: str = ""
    bag: str = ""
    check_id: int = 0


@dataclass
class DriveResult:
    """What the drive did beyond the stored records (the records themselves are in the database)."""

    eligibility_mismatches: list[str] = field(default_factory=list)
    """Patients whose stored verdict differs from the virtual trial's intent (should be none)."""
    overrides: int = 0
    immune_panels_at_consent: int = 0
    """Baseline panels drawn before consent in the plan, recorded on the consent date instead."""


def _arm_of(protocol_arm: str) -> Arm:
    from ikctrial.web.protocol import current_protocol

    kinds = {a.code: a.type for a in current_protocol().arms}
    return "experimental" if kinds[protocol_arm] == "experimental" else "control"


def _number(value: float) -> str:
    return format(Decimal(str(value)), "f")


class TrialDriver:
    """Applies a virtual trial through the services; ``run`` returns the :class:`DriveResult`."""

    def __init__(
        self,
        trial: VirtualTrial,
        *,
        zone: ZoneInfo,
        on_day: Callable[[dt.date], None] | None = None,
        on_screened: Callable[[], None] | None = None,
    ) -> None:
        self.trial = trial
        self.staff: DemoStaff
        self.zone = zone
        self.on_day = on_day or (lambda day: None)
        self.on_screened = on_screened or (lambda: None)
        self.result = DriveResult()
        self._queue: list[_Step] = []
        self._order = itertools.count()
        self._now = dt.datetime.combine(trial.start_date, dt.time(0, 0), tzinfo=zone)
        self._sites: dict[str, str] = {}

    # --- the queue and the clock -------------------------------------------------------------

    def at(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        """A moment on ``day`` at the sites' local time."""
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=self.zone)

    def schedule(self, moment: dt.datetime, action: Callable[[], None]) -> None:
        """Queue ``action`` at ``moment`` (data of an earlier day is entered now, not back then)."""
        heapq.heappush(self._queue, _Step(max(moment, self._now), next(self._order), action))

    def run(self, start: dt.datetime, setup: Callable[[], DemoStaff]) -> DriveResult:
        """Set the trial up at ``start``, then apply every step in time order under the clock."""
        self._now = start
        for patient in self.trial.patients:
            self._later(patient.screening.screening_date, 9, self._screen, patient)
        with time_machine.travel(start, tick=False) as clock:
            self.staff = setup()
            codes = self.staff.site_codes
            self._sites = {
                p.screening.subject_ref: codes[i % len(codes)]
                for i, p in enumerate(self.trial.patients)
            }
            day = None
            while self._queue:
                step = heapq.heappop(self._queue)
                self._now = step.moment
                clock.move_to(step.moment)
                if self._now.date() != day:
                    day = self._now.date()
                    self.on_day(day)
                step.action()
        return self.result

    # --- screening, consent, randomization ----------------------------------------------------

    def _screen(self, patient: VirtualPatient) -> None:
        from ikctrial.web.consent.services import consent_record
        from ikctrial.web.subjects.services import subject_screen

        site = self._sites[patient.screening.subject_ref]
        coordinator = self.staff.of(site, "coordinator")
        record = patient.screening.to_dict()
        stored = subject_screen(actor=coordinator, site_code=site, record=record)
        consent = patient.screening.consent
        signed_on = consent["date"]
        consent_record(
            actor=coordinator,
            subject_id=stored.pk,
            version=consent["version"],
            signed_on=signed_on,
            signed_by=self.staff.of(site, "investigator").get_username(),
        )
        subject = _Subject(patient, site, stored.pk, signed_on)
        eligible = stored.verdict.eligible is True
        if eligible != patient.eligible:
            self.result.eligibility_mismatches.append(patient.screening.subject_ref)
        self.on_screened()
        if eligible and patient.randomization_date is not None:
            self._later(patient.randomization_date, 10, self._randomize, subject)

    def _randomize(self, subject: _Subject) -> None:
        from ikctrial.web.randomization.services import subject_randomize

        coordinator = self.staff.of(subject.site, "coordinator")
        randomization = subject_randomize(actor=coordinator, subject_id=subject.subject_id)
        self._plan_course(subject, subject.patient.course(_arm_of(randomization.arm)))

    # --- the course of a randomized subject -----------------------------------------------------

    def _plan_course(self, subject: _Subject, course: ArmCourse) -> None:
        for assessment in course.assessments:
            self._later(assessment.date, 14, self._assessment, subject, assessment)
        for session in course.tace_sessions:
            self._later(session.date, 16, self._tace, subject, session)
        for panel in course.immune_panels:
            self._later(panel.date, 15, self._immune_panel, subject, panel)
        reactions: dict[dt.date, list[AdverseEvent]] = {}
        for event in course.adverse_events:
            if event.related_to == "IKC" and not event.serious:
                reactions.setdefault(event.onset_date, []).append(event)
            else:
                self._later(event.onset_date, 17, self._adverse_event, subject, event)
        for day in course.infusion_dates:
            self._manufacture(_Manufacture(subject, day, reactions.pop(day, [])))
        for events in reactions.values():  # IKC-related events on a day without an infusion
            for event in events:
                self._later(event.onset_date, 17, self._adverse_event, subject, event)
        self._later(course.last_contact_date, 18, self._exit, subject, course)

    def _later(self, day: dt.date, hour: int, action: Callable[..., None], *args: Any) -> None:
        self.schedule(self.at(day, hour), lambda: action(*args))

    def _crf(self, subject: _Subject, form: str, data: dict[str, Any], **change: Any) -> Any:
        from ikctrial.web.crf.services import crf_record_save

        actor = change.pop("actor", None) or self.staff.of(subject.site, "coordinator")
        return crf_record_save(
            actor=actor, subject_id=subject.subject_id, form=form, data=data, **change
        ).record

    def _assessment(self, subject: _Subject, assessment: TumorAssessment) -> None:
        data = {
            "assessed_on": assessment.date.isoformat(),
            "modality": "CT",
            "target": [
                {**row, "viable_diameter_mm": row["diameter_mm"]} for row in assessment.target
            ],
            "non_target": assessment.non_target,
            "new_lesions": assessment.new_lesions,
        }
        self._crf(subject, "tumor_assessment", data)

    def _tace(self, subject: _Subject, session: TaceSession) -> None:
        data = {
            "performed_on": session.date.isoformat(),
            "technique": "cTACE",
            "chemotherapy_agent": "doxorubicin",
            "dose_mg": 50,
            "embolic_agent": "lipiodol and gelatin sponge",
            "notes": f"session {session.number} ({session.reason.replace('_', ' ')})",
        }
        self._crf(subject, "tace_procedure", data)

    def _immune_panel(self, subject: _Subject, panel: ImmunePanel) -> None:
        collected = panel.date
        if collected < subject.consent_date:
            collected = subject.consent_date
            self.result.immune_panels_at_consent += 1
        values = panel.to_dict()
        rows = [(analyte, values[name], unit) for analyte, name, unit in IMMUNE_ANALYTES]
        rows += [(CYTOKINES[k], v, "pg_ml") for k, v in panel.cytokines_pg_ml.items()]
        for analyte, value, unit in rows:
            data = {
                "collected_on": collected.isoformat(),
                "analyte": analyte,
                "value": _number(value),
                "unit": unit,
            }
            self._crf(subject, "immune_panel", data)

    def _ae_data(self, event: AdverseEvent) -> dict[str, Any]:
        """The adverse event as entered at onset: ongoing, seriousness from hospitalization."""
        data: dict[str, Any] = {
            "verbatim_term": event.term,
            "ctcae_term": event.term,
            "grade": event.grade,
            "onset_date": event.onset_date.isoformat(),
            "relatedness_ikc": "related" if event.related_to == "IKC" else "not_related",
            "relatedness_tace": "related" if event.related_to == "TACE" else "not_related",
            "outcome": "not_recovered",
        }
        if event.serious:
            data["hospitalization"] = True
            data["site_aware_at"] = self.at(event.onset_date, 17).isoformat()
        return data

    def _adverse_event(self, subject: _Subject, event: AdverseEvent) -> None:
        data = self._ae_data(event)
        record = self._crf(subject, "adverse_event", data)
        self._resolve_later(subject, event, record.pk, data)

    def _resolve_later(
        self, subject: _Subject, event: AdverseEvent, record_id: int, data: dict[str, Any]
    ) -> None:
        if event.end_date is None:
            return
        resolved = {
            **data,
            "ongoing": False,
            "end_date": event.end_date.isoformat(),
            "outcome": "recovered",
        }
        if event.serious:  # reported to the sponsor two hours after the site knew (24 h rule)
            resolved["sae_reported_at"] = self.at(event.onset_date, 19).isoformat()

        def resolve() -> None:
            self._crf(
                subject,
                "adverse_event",
                resolved,
                record_id=record_id,
                reason=RESOLVED_REASON,
                actor=self.staff.of(subject.site, "investigator"),
            )

        self.schedule(self.at(event.end_date, 17, 30), resolve)

    def _exit(self, subject: _Subject, course: ArmCourse) -> None:
        """End of study: completed at day 364, or withdrawn by death or loss to follow-up."""
        last = course.last_contact_date.isoformat()
        data: dict[str, Any] = {"status": "completed", "exit_date": last, "last_contact_date": last}
        if course.death_date is not None:
            data.update(
                status="withdrawn", reason="death", death_date=course.death_date.isoformat()
            )
        elif course.dropout_date is not None:
            data.update(status="withdrawn", reason="lost_to_follow_up")
        self._crf(subject, "study_exit", data)

    # --- the IKC product: blood draw to infusion ----------------------------------------------

    def _manufacture(self, job: _Manufacture) -> None:
        """Queue the steps of one product: draw 14 days ahead, culture, harvest on the day of the
        infusion, QC, release, shipment, bedside. Each step runs at its own moment (no step moves
        the clock, so thousands of products a day never push the trial's calendar)."""
        lab = self.staff.study["cell_lab"]
        start = self.at(job.infusion_day - dt.timedelta(days=14), 8)
        harvest = self.at(job.infusion_day, 5)
        hour = dt.timedelta(hours=1)
        minute = dt.timedelta(minutes=1)
        steps: list[tuple[dt.datetime, Callable[[], None]]] = [
            (start, lambda: self._draw(job)),
            (start + 3 * hour, lambda: self._culture(job)),
        ]
        for offset, kind, step in (
            (6, "culture_started", "ifn_gamma"),
            (30, "cytokine_added", "anti_cd3_il2"),
            (78, "media_added", "il2_feed"),
            (270, "qc_sampled", "in_process_sterility"),
        ):
            event = self._lab_event(lab, job, kind, step)
            steps.append((start + offset * hour, event))
        steps += [
            (harvest, lambda: self._harvest(job)),
            (harvest + 30 * minute, lambda: self._quality_control(job)),
            (harvest + hour, lambda: self._release(job)),
            (harvest + 90 * minute, lambda: self._custody(lab, job.bag, "shipped", self._cold())),
            (harvest + 2 * hour, lambda: self._receive(job)),
            (harvest + 3 * hour, lambda: self._bedside(job)),
            (harvest + 225 * minute, lambda: self._infuse(job)),
        ]
        for moment, action in steps:
            self.schedule(moment, action)

    def _event(self, location: str = "cell lab", **values: Any) -> Any:
        """A custody event happening now (the moment the step runs)."""
        from ikctrial.web.product.services import EventInput

        return EventInput(occurred_at=self._now, location=location, **values)

    def _cold(self, location: str = "cell lab") -> Any:
        """A hand-off of the bag in its cold box (2-8 °C, domain.md 8.4)."""
        return self._event(location, temperature_c=Decimal("5.0"))

    def _custody(self, actor: Any, unit: str, kind: str, data: Any) -> None:
        from ikctrial.web.product.services import custody_event_record

        custody_event_record(actor=actor, unit_id=unit, event_type=kind, data=data)

    def _lab_event(self, lab: Any, job: _Manufacture, kind: str, step: str) -> Callable[[], None]:
        """A step of the culture's batch record, by the cell lab."""
        return lambda: self._custody(lab, job.culture, kind, self._event(step=step))

    def _draw(self, job: _Manufacture) -> None:
        from ikctrial.web.product.services import blood_draw_record

        screening = job.subject.patient.screening
        unit = blood_draw_record(
            actor=self.staff.of(job.subject.site, "coordinator"),
            subject_id=job.subject.subject_id,
            facility=FACILITY,
            patient_identifier_1=screening.subject_ref,
            patient_identifier_2=screening.birth_date.isoformat(),
            data=self._event("ward"),
        )
        job.collection = unit.unit_id

    def _culture(self, job: _Manufacture) -> None:
        from ikctrial.web.product.services import unit_derive

        lab = self.staff.study["cell_lab"]
        self._custody(lab, job.collection, "received", self._event())
        job.culture = unit_derive(actor=lab, parent_id=job.collection).unit_id

    def _harvest(self, job: _Manufacture) -> None:
        """Harvest the lot and fill the bag for the infusion the calendar has due that day."""
        from ikctrial.web.product.services import unit_derive

        lab = self.staff.study["cell_lab"]
        job.lot = unit_derive(actor=lab, parent_id=job.culture).unit_id
        self._custody(lab, job.lot, "harvested", self._event())
        job.bag = unit_derive(
            actor=lab,
            parent_id=job.lot,
            infusion_number=self._due_number(job),
            bag_volume_ml=BAG_VOLUME_ML,
            viable_cells=BAG_VIABLE_CELLS,
        ).unit_id

    def _quality_control(self, job: _Manufacture) -> None:
        """Sample the lot and enter every release test."""
        from ikctrial.web.product.services import qc_result_record

        lab = self.staff.study["cell_lab"]
        self._custody(lab, job.lot, "qc_sampled", self._event())
        for code, (value, preliminary) in PASSING_QC.items():
            qc_result_record(
                actor=lab, lot_id=job.lot, test_code=code, value=value, preliminary=preliminary
            )

    def _due_number(self, job: _Manufacture) -> int:
        """The infusion the calendar has due on the infusion day (the bag is made for it)."""
        from ikctrial.product.infusion_schedule import infusion_slot, planned_infusions
        from ikctrial.web.product import clock
        from ikctrial.web.product.selectors import infusions_given, randomization_date, tace_dates
        from ikctrial.web.subjects.models import Subject

        subject = Subject.objects.select_related("site").get(pk=job.subject.subject_id)
        randomized = randomization_date(subject)
        assert randomized is not None
        schedule = clock.protocol().schedule
        plan = planned_infusions(
            schedule,
            randomized,
            tace_dates=tace_dates(subject),
            given=infusions_given(subject),
            as_of=job.infusion_day,
        )
        slot = infusion_slot(plan, job.infusion_day, min_gap_days=schedule.min_infusion_gap_days)
        if slot.number is None:
            raise DemoError(
                f"{job.subject.patient.screening.subject_ref}: no infusion due on "
                f"{job.infusion_day}: {slot.reason}"
            )
        return slot.number

    def _release(self, job: _Manufacture) -> None:
        from ikctrial.web.product.services import lot_release

        release = lot_release(
            actor=self.staff.study["qa"], lot_id=job.lot, password=self.staff.password
        )
        if release.status not in {"RELEASED", "RELEASED_PENDING_FINAL_STERILITY"}:
            raise DemoError(f"lot {job.lot} was not released: {release.refusals}")

    def _receive(self, job: _Manufacture) -> None:
        pharmacist = self.staff.of(job.subject.site, "pharmacist")
        self._custody(pharmacist, job.bag, "received_at_ward", self._cold("ward"))

    def _bedside(self, job: _Manufacture) -> None:
        """Pre-infusion vitals, two-person verification and the check; a check blocked by soft
        blocks only gets the investigator's override and a fresh verification."""
        from ikctrial.product.bedside import PreInfusionClinical
        from ikctrial.web.product.services import bedside_check, bedside_override

        site, subject_id = job.subject.site, job.subject.subject_id
        pharmacist = self.staff.of(site, "pharmacist")
        investigator = self.staff.of(site, "investigator")
        vitals = {
            "measured_at": self._now.isoformat(),
            "timepoint": "pre_infusion",
            "systolic_mmhg": 124,
            "diastolic_mmhg": 78,
            "heart_rate_bpm": 76,
            "temperature_c": "36.8",
        }
        self._crf(job.subject, "vital_signs", vitals)
        clinical = PreInfusionClinical(
            body_temperature_c=Decimal("36.8"),
            vital_signs_acceptable=True,
            labs_drawn_on=job.infusion_day - dt.timedelta(days=1),
            labs_within_limits=True,
        )

        def check(override_id: int | None = None) -> Any:
            ids = [self._verify(job, user) for user in (pharmacist, investigator)]
            return bedside_check(
                actor=pharmacist,
                subject_id=subject_id,
                bag_id=job.bag,
                verification_ids=ids,
                clinical=clinical,
                override_id=override_id,
            )

        decision = check()
        if not decision.allowed:
            hard = [f for f in decision.failures if f["severity"] != "soft"]
            if hard:
                raise DemoError(f"bag {job.bag} blocked at the bedside: {decision.failures}")
            override = bedside_override(
                actor=investigator,
                subject_id=subject_id,
                checks=sorted({f["check"] for f in decision.failures}),
                reason=OVERRIDE_REASON,
                password=self.staff.password,
            )
            self.result.overrides += 1
            decision = check(override.pk)
            if not decision.allowed:
                raise DemoError(f"bag {job.bag} blocked after the override: {decision.failures}")
        job.check_id = decision.pk

    def _infuse(self, job: _Manufacture) -> None:
        """The infusion the check cleared (30 minutes, started 10 minutes after the check), with
        its reactions as adverse events; recorded by the investigator when it is over."""
        from ikctrial.web.product.services import InfusionInput, ReactionInput, infusion_record

        stopped = self._now - dt.timedelta(minutes=5)
        started = stopped - dt.timedelta(minutes=30)
        reactions = [
            ReactionInput(
                description=event.term,
                ctcae_term=event.term,
                ctcae_grade=event.grade,
                onset_at=started + dt.timedelta(minutes=20),
                serious={},
                outcome="not_recovered",
            )
            for event in job.reactions
        ]
        infusion = infusion_record(
            actor=self.staff.of(job.subject.site, "investigator"),
            check_id=job.check_id,
            data=InfusionInput(
                started_at=started,
                stopped_at=stopped,
                volume_infused_ml=BAG_VOLUME_ML,
                location="ward",
                temperature_c=Decimal("6.0"),
                reactions=reactions,
            ),
        )
        recorded = infusion.reactions.select_related("adverse_event").order_by("id")
        for event, reaction in zip(job.reactions, recorded, strict=True):
            data = self._ae_data(event)
            self._resolve_later(job.subject, event, reaction.adverse_event.pk, data)

    def _verify(self, job: _Manufacture, user: Any) -> int:
        from ikctrial.web.product.services import VerifierEntries, bedside_verify

        screening = job.subject.patient.screening
        identifiers = (screening.subject_ref, screening.birth_date.isoformat())
        row = bedside_verify(
            actor=user,
            subject_id=job.subject.subject_id,
            password=self.staff.password,
            entries=VerifierEntries(
                wristband=identifiers,
                bag_label_patient=identifiers,
                bag_label=job.bag,
                bag_intact=True,
                appearance_acceptable=True,
            ),
        )
        return int(row.pk)


def plan_span(trial: VirtualTrial) -> tuple[dt.date, dt.date]:
    """First and last day of anything the plan holds (either arm), for the progress bar."""
    days: list[dt.date] = [p.screening.screening_date for p in trial.patients]
    for patient in trial.randomized:
        for course in patient.courses.values():
            days.append(course.last_contact_date)
            days.extend(e.end_date or e.onset_date for e in course.adverse_events)
    return min(days), max(days)


def ensure_in_the_past(trial: VirtualTrial, today: dt.date) -> None:
    """The whole plan must lie before today: the services refuse data dated in the future."""
    last = plan_span(trial)[1]
    if last >= today:
        raise InputError("start_date", f"the simulated trial would end on {last}, after today")
