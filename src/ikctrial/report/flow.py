"""The CONSORT flow counts of the report, from the screening log and ADSL.

Enrollment (screened, excluded with reasons) comes from the screening log, since ADSL holds only
randomized patients; allocation, treatment, follow-up and analysis come from ADSL, so the flow
diagram counts the same patients as every other section. Reasons follow CONSORT 2010: a screen
failure is counted once, under the first criterion it failed in protocol order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from ikctrial.report.figures.consort import ArmFlow, ConsortCounts
from ikctrial.report.figures.style import require

NOT_TREATED = "Received no study treatment"
OTHER_ARM = "Received the other arm's treatment"
LOST = "LOST TO FOLLOW-UP"
ELIGIBLE_NOT_RANDOMIZED = "Eligible, not randomized"
UNDETERMINED = "Eligibility not determined"


@dataclass(frozen=True)
class ScreenedPatient:
    """One screening-log entry as the flow needs it (no identifiers)."""

    randomized: bool
    eligible: bool | None
    failed: tuple[str, ...] = ()
    """Criteria failed, in protocol order."""


def exclusion_reason(patient: ScreenedPatient) -> str:
    """Why a screened patient was not randomized: the first failed criterion, else why not."""
    if patient.failed:
        return f"Failed {patient.failed[0]}"
    if patient.eligible is True:
        return ELIGIBLE_NOT_RANDOMIZED
    return UNDETERMINED


def _reason_text(value: object) -> str:
    """ADSL ``DCSREAS`` as a CONSORT reason ("DEATH" -> "Death"; missing -> "Other")."""
    return value.strip().capitalize() if isinstance(value, str) and value.strip() else "Other"


def _arm_flow(arm: str, rows: pd.DataFrame) -> ArmFlow:
    """One arm's boxes: received = treated with its own arm's treatment; analysed = ITT."""
    treated = rows["SAFFL"] == "Y"
    own = treated & (rows["TRT01A"] == arm)
    not_received = {
        NOT_TREATED: int((~treated).sum()),
        OTHER_ARM: int((treated & ~own).sum()),
    }
    stopped = rows[rows["EOSSTT"] == "DISCONTINUED"]
    is_lost = stopped["DCSREAS"] == LOST
    reasons = stopped.loc[~is_lost, "DCSREAS"].map(_reason_text)
    analysed = int((rows["ITTFL"] == "Y").sum())
    return ArmFlow(
        arm=arm,
        allocated=len(rows),
        received=int(own.sum()),
        analysed=analysed,
        not_received={k: v for k, v in not_received.items() if v},
        lost_to_follow_up=int(is_lost.sum()),
        discontinued=dict(sorted(Counter(reasons).items())),
        excluded_from_analysis={"Not in the ITT population": len(rows) - analysed}
        if analysed < len(rows)
        else {},
    )


def consort_counts(
    screened: Iterable[ScreenedPatient], adsl: pd.DataFrame, arms: Sequence[str]
) -> ConsortCounts:
    """The flow of ``arms`` (names as in ADSL ``TRT01P``, in protocol order)."""
    require(adsl, ["TRT01P", "TRT01A", "SAFFL", "ITTFL", "EOSSTT", "DCSREAS"], "ADSL")
    log = list(screened)
    excluded = Counter(exclusion_reason(p) for p in log if not p.randomized)
    return ConsortCounts(
        screened=len(log),
        excluded=dict(sorted(excluded.items())),
        arms=tuple(_arm_flow(arm, adsl[adsl["TRT01P"] == arm]) for arm in arms),
    )
