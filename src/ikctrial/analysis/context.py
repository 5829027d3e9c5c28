"""What the dataset builders need of the protocol, read once: study id, arms, criteria, calendar
(imaging and immune-panel visits).

Built from the protocol file by ``analysis_context`` so no builder hard-codes a trial value.
"""

from __future__ import annotations

from dataclasses import dataclass

from ikctrial.analysis.visits import VisitWindow
from ikctrial.protocol.model import Protocol

CRITERION_CATEGORY = {"RECIST1.1": "RECIST 1.1", "mRECIST": "MRECIST"}
"""The protocol's criterion names as SDTM RSCAT / ADaM PARCAT1 spell them (domain.md 10.1)."""


@dataclass(frozen=True)
class AnalysisContext:
    """Study-level values shared by every SDTM and ADaM record."""

    study_id: str
    arms: dict[str, str]
    """Arm code -> name, in protocol order (TRT01PN is the 1-based position)."""
    experimental_arm: str
    control_arm: str
    criteria: tuple[str, ...]
    primary_criterion: str
    imaging_interval_days: int
    imaging_window_days: int
    per_protocol_min_infusions: int
    immune_visits: tuple[VisitWindow, ...]
    """The protocol's post-baseline immune-panel visits (ADLB AVISIT, domain.md 7.4)."""

    def usubjid(self, subject_key: str) -> str:
        """USUBJID: study id and the subject's pseudonymous key."""
        return f"{self.study_id}-{subject_key}"

    def arm_number(self, code: str | None) -> int | None:
        """TRT01PN / TRT01AN: the arm's position in the protocol (1-based)."""
        return None if code is None else list(self.arms).index(code) + 1


def analysis_context(protocol: Protocol) -> AnalysisContext:
    """The context of a protocol: the first experimental arm against the first other arm."""
    experimental = next((a.code for a in protocol.arms if a.type == "experimental"), None)
    codes = [a.code for a in protocol.arms]
    experimental = experimental or codes[0]
    control = next(c for c in codes if c != experimental)
    return AnalysisContext(
        study_id=protocol.sponsor_study_id,
        arms={a.code: a.name for a in protocol.arms},
        experimental_arm=experimental,
        control_arm=control,
        criteria=tuple(protocol.response.criteria),
        primary_criterion=protocol.response.primary_criterion,
        imaging_interval_days=protocol.schedule.imaging_interval_days,
        imaging_window_days=protocol.schedule.imaging_window_days,
        per_protocol_min_infusions=protocol.endpoints.per_protocol_min_infusions,
        immune_visits=tuple(
            VisitWindow(v.day, v.window_days) for v in protocol.schedule.immune_panel_days
        ),
    )
