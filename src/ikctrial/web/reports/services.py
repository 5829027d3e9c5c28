"""Write the trial report of the current data: ``report.html`` (self-contained) and ``report.pdf``.

``report_files`` is the ``report`` writer of ``web.exports.services.data_export``, so a report is
authorized (``data.export``), staged and moved into place, and recorded with its files' SHA-256 in
the audit trail exactly like the standard exports. It reads the randomized subjects of the
actor's sites into the ADaM datasets (the same derivation as the ADaM export), the screening log
for the CONSORT enrollment counts, the design report of the protocol's registered size, and the
audit-chain verdict; the core builds the document (``ikctrial.report.build``). The data cut-off is
the time of the last audit event of the trial data (exports and earlier report cuts are not trial
data): nothing entered after it is in the report.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.db.models import Max

from ikctrial.analysis.adam.datasets import adam_datasets
from ikctrial.analysis.context import AnalysisContext
from ikctrial.design.parameters import Allocation
from ikctrial.design.report import design_report
from ikctrial.protocol.model import Protocol
from ikctrial.report.build import ReportInputs, StudyInfo, TrialReport, build_report
from ikctrial.report.flow import ScreenedPatient, consort_counts
from ikctrial.report.pdf import report_pdf
from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.audit.services import verify_chain
from ikctrial.web.exports.models import DataExport
from ikctrial.web.exports.records import chunks, exported_subjects, trial_subjects
from ikctrial.web.reports.selectors import REPORT_HTML, REPORT_PDF
from ikctrial.web.sites.selectors import Actor, sites_for_user
from ikctrial.web.subjects.models import Subject

DESIGN_TRIALS = 20_000
"""Simulated trials behind the design section's power (Monte-Carlo SE <= 0.35 points)."""


def screened_patients(actor: Actor) -> list[ScreenedPatient]:
    """The screening log of the actor's sites as the CONSORT flow counts it (no identifiers)."""
    subjects = (
        Subject.objects.filter(site__in=sites_for_user(actor))
        .select_related("verdict", "randomization")
        .order_by("pk")
    )
    return [
        ScreenedPatient(
            randomized=hasattr(subject, "randomization"),
            eligible=subject.verdict.eligible,
            failed=tuple(
                c["id"] for c in subject.verdict.result.get("criteria", []) if c["result"] == "fail"
            ),
        )
        for subject in subjects
    ]


def study_info(protocol: Protocol, ctx: AnalysisContext) -> StudyInfo:
    """The report's title block, from the protocol file."""
    return StudyInfo(
        nct_id=protocol.nct_id,
        sponsor_study_id=protocol.sponsor_study_id,
        title=protocol.title,
        sponsor=protocol.sponsor,
        phase=protocol.phase,
        protocol_version=protocol.version,
        arms=dict(ctx.arms),
        experimental_arm=ctx.experimental_arm,
        control_arm=ctx.control_arm,
    )


def _allocation(protocol: Protocol, ctx: AnalysisContext) -> Allocation:
    ratio = dict(zip(protocol.arm_codes(), protocol.allocation_ratio, strict=True))
    return Allocation(ratio[ctx.experimental_arm], ratio[ctx.control_arm])


def trial_report(
    protocol: Protocol, ctx: AnalysisContext, actor: Actor, created: datetime
) -> tuple[TrialReport, int]:
    """The report of the actor's subjects as they stand now, and how many it covers."""
    changes = AuditEvent.objects.exclude(model=DataExport._meta.label_lower)
    cutoff = changes.aggregate(last=Max("timestamp"))["last"] or created
    audit = verify_chain().as_dict()
    subjects = list(trial_subjects(chunks(exported_subjects(actor))))
    adam = adam_datasets(subjects, ctx)
    arms = [ctx.arms[ctx.experimental_arm], ctx.arms[ctx.control_arm]]
    inputs = ReportInputs(
        study=study_info(protocol, ctx),
        adam=adam,
        consort=consort_counts(screened_patients(actor), adam["ADSL"], arms),
        design=design_report(
            protocol.target_enrollment, _allocation(protocol, ctx), trials=DESIGN_TRIALS
        ),
        data_cutoff=cutoff,
        audit=audit,
        generated_at=created,
    )
    return build_report(inputs), len(subjects)


def report_files(
    protocol: Protocol, ctx: AnalysisContext, actor: Actor, folder: Path, created: datetime
) -> tuple[list[Path], int]:
    """The ``report`` writer of ``data_export``: the HTML report and its PDF in ``folder``."""
    report, count = trial_report(protocol, ctx, actor, created)
    html_path = folder / REPORT_HTML
    html_path.write_text(report.html, encoding="utf-8")
    pdf_path = folder / REPORT_PDF
    pdf_path.write_bytes(report_pdf(report.html))
    return [html_path, pdf_path], count
