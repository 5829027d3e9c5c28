"""One simulated trial on the configured database: setup, the drive, and what the database holds.

``run_demo`` needs Django set up on a migrated database that holds no trial yet; the command
(``ikctrial.cli.demo``) prepares that database, this module fills it and counts what it holds.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ikctrial.demo.driver import DriveResult, TrialDriver, ensure_in_the_past, plan_span
from ikctrial.demo.setup import SERVICE_SOURCE, DemoStaff, demo_settings, set_up_trial
from ikctrial.design.virtual_trial import VirtualTrial, VirtualTrialScenario, virtual_trial

START_DATE = dt.date(2023, 1, 2)
"""First day of the simulated trial: fixed, so a seed gives the same trial every time, and far
enough back for the whole trial (two years of accrual, a year of follow-up) to lie in the past."""


def _ignore(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class Progress:
    """Callbacks of the drive (the command shows them as progress bars)."""

    start: Callable[[int, int], None] = _ignore
    """Once, with the number of patients to screen and of trial days."""
    day: Callable[[int], None] = _ignore
    """Days elapsed since the first screening."""
    screened: Callable[[], None] = _ignore


@dataclass(frozen=True)
class DemoRun:
    """The virtual trial, who ran it, what the drive reported, and the summary of the database."""

    trial: VirtualTrial
    staff: DemoStaff
    drive: DriveResult
    summary: dict[str, Any]


def site_zone() -> ZoneInfo:
    """The sites' time zone (the default zone every demo site gets)."""
    from ikctrial.web.sites.defaults import DEFAULT_SITE_TIMEZONE

    return ZoneInfo(DEFAULT_SITE_TIMEZONE)


def run_demo(
    *, subjects: int, seed: int, operator: str, progress: Progress | None = None
) -> DemoRun:
    """Set the trial up and drive ``subjects`` randomized patients (and their screen failures)."""
    progress = progress or Progress()
    scenario = VirtualTrialScenario(n_randomized=subjects)
    trial = virtual_trial(scenario, seed=seed, start_date=START_DATE)
    ensure_in_the_past(trial, dt.date.today())
    first, last = plan_span(trial)
    progress.start(len(trial.patients), (last - first).days + 1)
    zone = site_zone()
    driver = TrialDriver(
        trial,
        zone=zone,
        on_day=lambda day: progress.day((day - first).days + 1),
        on_screened=progress.screened,
    )
    start = dt.datetime.combine(first - dt.timedelta(days=7), dt.time(9), tzinfo=zone)
    with demo_settings():
        drive = driver.run(
            start, lambda: set_up_trial(operator=operator, subjects=subjects, seed=seed)
        )
    return DemoRun(trial, driver.staff, drive, trial_summary(drive))


def trial_summary(drive: DriveResult) -> dict[str, Any]:
    """What the database holds after the drive, counted from the stored records."""
    from ikctrial.web.audit.services import verify_chain
    from ikctrial.web.crf.models import (
        AdverseEvent,
        ImmunePanelResult,
        TaceProcedure,
        TumorAssessment,
    )
    from ikctrial.web.product.models import Infusion
    from ikctrial.web.randomization.models import Randomization
    from ikctrial.web.subjects.models import EligibilityVerdict

    failures: Counter[str] = Counter()
    verdicts = EligibilityVerdict.objects.values_list("eligible", "result")
    screened = excluded = 0
    for eligible, result in verdicts:
        screened += 1
        if eligible is not True:
            excluded += 1
            failed = [c["id"] for c in result["criteria"] if c["result"] == "fail"]
            failures.update(failed or ["undetermined"])
    arms = Counter(Randomization.objects.values_list("arm", flat=True))
    chain = verify_chain()
    return {
        "screened": screened,
        "screen_failures": excluded,
        "screen_failure_reasons": dict(sorted(failures.items())),
        "randomized": dict(sorted(arms.items())),
        "infusions": Infusion.objects.count(),
        "bedside_overrides": drive.overrides,
        "tace_sessions": TaceProcedure.objects.count(),
        "tumor_assessments": TumorAssessment.objects.count(),
        "immune_panel_results": ImmunePanelResult.objects.count(),
        "immune_panels_at_consent": drive.immune_panels_at_consent,
        "adverse_events": AdverseEvent.objects.count(),
        "audit": chain.as_dict(),
    }


EXPORT_FORMATS = ("sdtm", "adam", "odm", "fhir")
"""The standard exports the demo writes beside the report, each into ``exports/<format>/``."""


@dataclass(frozen=True)
class DemoOutputs:
    """Where the demo wrote the report and the exports."""

    report: list[Path]
    exports: dict[str, list[Path]]


def write_outputs(
    staff: DemoStaff, out: Path, on_step: Callable[[str], None] = _ignore
) -> DemoOutputs:
    """The statistician's exports and trial report of the finished trial, recorded in the audit
    trail like any other (``data_export``); ``on_step`` hears each before it is written."""
    from ikctrial.web.exports.services import data_export

    statistician = staff.study["statistician"]
    exports = {}
    for export_format in EXPORT_FORMATS:
        on_step(export_format)
        exports[export_format] = data_export(
            actor=statistician,
            export_format=export_format,
            folder=out / "exports" / export_format,
            source=SERVICE_SOURCE,
        ).files
    on_step("report")
    report = data_export(
        actor=statistician, export_format="report", folder=out, source=SERVICE_SOURCE
    )
    return DemoOutputs(report.files, exports)
