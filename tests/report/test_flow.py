"""CONSORT flow counts from the screening log and ADSL (CONSORT 2010 flow diagram boxes)."""

from __future__ import annotations

import pandas as pd
import pytest

from ikctrial.errors import InputError
from ikctrial.report.flow import (
    ELIGIBLE_NOT_RANDOMIZED,
    NOT_TREATED,
    OTHER_ARM,
    UNDETERMINED,
    ScreenedPatient,
    consort_counts,
    exclusion_reason,
)

IKC = "IKC + TACE"
TACE = "TACE alone"


@pytest.mark.parametrize(
    ("patient", "reason"),
    [
        (ScreenedPatient(False, False, ("I3_bclc", "I6_ecog")), "Failed I3_bclc"),
        (ScreenedPatient(False, False, ("E2_hiv_htlv",)), "Failed E2_hiv_htlv"),
        (ScreenedPatient(False, True), ELIGIBLE_NOT_RANDOMIZED),
        (ScreenedPatient(False, None), UNDETERMINED),
    ],
)
def test_a_screen_failure_counts_once_under_its_first_failed_criterion(
    patient: ScreenedPatient, reason: str
) -> None:
    assert exclusion_reason(patient) == reason


def _adsl(rows: list[tuple[str, str | None, str, str, str | None]]) -> pd.DataFrame:
    """ADSL rows: (TRT01P, TRT01A, SAFFL, EOSSTT, DCSREAS); all in the ITT population."""
    return pd.DataFrame(
        [
            {"TRT01P": p, "TRT01A": a, "SAFFL": s, "ITTFL": "Y", "EOSSTT": e, "DCSREAS": r}
            for p, a, s, e, r in rows
        ]
    )


def test_flow_adds_up_from_screening_to_analysis() -> None:
    log = [
        ScreenedPatient(True, True),
        ScreenedPatient(True, True),
        ScreenedPatient(True, True),
        ScreenedPatient(True, True),
        ScreenedPatient(False, False, ("I3_bclc",)),
        ScreenedPatient(False, False, ("I3_bclc", "I4_no_prior_tace")),
        ScreenedPatient(False, True),
    ]
    adsl = _adsl(
        [
            (IKC, IKC, "Y", "COMPLETED", None),
            (IKC, None, "N", "DISCONTINUED", "LOST TO FOLLOW-UP"),
            (TACE, TACE, "Y", "DISCONTINUED", "DEATH"),
            (TACE, IKC, "Y", "ONGOING", None),
        ]
    )
    counts = consort_counts(log, adsl, [IKC, TACE])
    assert counts.screened == 7
    assert counts.excluded == {"Failed I3_bclc": 2, ELIGIBLE_NOT_RANDOMIZED: 1}
    assert counts.randomized == 4
    ikc, tace = counts.arms
    assert (ikc.arm, ikc.allocated, ikc.received, ikc.analysed) == (IKC, 2, 1, 2)
    assert ikc.not_received == {NOT_TREATED: 1}
    assert (ikc.lost_to_follow_up, dict(ikc.discontinued)) == (1, {})
    assert (tace.allocated, tace.received, tace.analysed) == (2, 1, 2)
    assert tace.not_received == {OTHER_ARM: 1}
    assert (tace.lost_to_follow_up, dict(tace.discontinued)) == (0, {"Death": 1})
    assert ikc.excluded_from_analysis == {}


def test_patients_outside_itt_are_excluded_from_analysis() -> None:
    adsl = _adsl([(IKC, IKC, "Y", "ONGOING", None), (TACE, TACE, "Y", "ONGOING", None)])
    adsl.loc[1, "ITTFL"] = "N"
    counts = consort_counts([ScreenedPatient(True, True)] * 2, adsl, [IKC, TACE])
    assert counts.arms[1].analysed == 0
    assert counts.arms[1].excluded_from_analysis == {"Not in the ITT population": 1}


def test_a_log_that_disagrees_with_adsl_is_refused() -> None:
    """More randomized in ADSL than screened: the flow cannot add up, and says so."""
    adsl = _adsl([(IKC, IKC, "Y", "ONGOING", None), (TACE, TACE, "Y", "ONGOING", None)])
    with pytest.raises(InputError, match="screened"):
        consort_counts([ScreenedPatient(True, True)], adsl, [IKC, TACE])


def test_adsl_without_the_disposition_reason_is_refused() -> None:
    adsl = _adsl([(IKC, IKC, "Y", "ONGOING", None)]).drop(columns="DCSREAS")
    with pytest.raises(InputError, match="DCSREAS"):
        consort_counts([ScreenedPatient(True, True)], adsl, [IKC])
