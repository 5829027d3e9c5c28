"""Batch record review against the process steps (domain.md 8.1, typical CIK process).

The steps below are the typical CIK schedule of domain.md 8.1 (every number [PROTOCOL]): PBMC
isolation and IFN-γ on day 0, anti-CD3 + IL-2 on day 1, IL-2 feeding every 2-3 days, in-process
sterility sample 48-72 h before harvest, harvest on day 14 ± 2.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from ikctrial.errors import InputError
from ikctrial.product.batch_record import ProcessStep, batch_record_review
from ikctrial.product.custody import CustodyEventType, custody_state

E = CustodyEventType
CIK_STEPS = (
    ProcessStep("pbmc_isolation", E.CULTURE_STARTED, day=0),
    ProcessStep("ifn_gamma", E.CYTOKINE_ADDED, day=0),
    ProcessStep("anti_cd3_il2", E.CYTOKINE_ADDED, day=1),
    ProcessStep("il2_feeding", E.MEDIA_ADDED, day=3, window_days=1, max_gap_days=3),
    ProcessStep("in_process_sterility", E.QC_SAMPLED, day=11, window_days=1),
    ProcessStep("harvest", E.HARVESTED, day=14, window_days=2),
)


def _ledger(s: Any, drop: tuple[str, ...] = (), **changes: dict[str, Any]) -> list[Any]:
    """Culture started 2026-01-12 14:00 (day 0), harvest 2026-01-26 06:00 (day 13)."""
    events = [
        *s.events()[:2],
        s.event("m1", E.CULTURE_STARTED, s.at(12, 14), step="pbmc_isolation"),
        s.event("m2", E.CYTOKINE_ADDED, s.at(12, 15), step="ifn_gamma"),
        s.event("m3", E.CYTOKINE_ADDED, s.at(13, 15), step="anti_cd3_il2"),
        s.event("m4", E.MEDIA_ADDED, s.at(15, 14), step="il2_feeding"),
        s.event("m5", E.MEDIA_ADDED, s.at(18, 10), step="il2_feeding"),
        s.event("m6", E.MEDIA_ADDED, s.at(21, 9), step="il2_feeding"),
        s.event("m7", E.MEDIA_ADDED, s.at(23, 9), step="il2_feeding"),
        s.event("m8", E.QC_SAMPLED, s.at(23, 15), unit=s.culture, step="in_process_sterility"),
        s.event("m9", E.HARVESTED, s.harvest, step="harvest"),
    ]
    return [
        dataclasses.replace(e, **changes.get(e.event_id, {}))
        for e in events
        if e.event_id not in drop
    ]


def _review(s: Any, ledger: list[Any], **kw: Any) -> Any:
    return batch_record_review(custody_state(ledger, s.lot, s.limits), CIK_STEPS, **kw)


def test_batch_following_the_process_has_no_deviation(scenario: Any) -> None:
    review = _review(scenario, _ledger(scenario))
    assert review.deviations == ()
    assert review.culture_duration == timedelta(days=13, hours=16)


@pytest.mark.parametrize(
    ("rule", "drop", "changes", "step", "problem"),
    [
        (
            "8.1 day 1 anti-CD3 + IL-2 missing",
            ("m3",),
            {},
            "anti_cd3_il2",
            "not recorded (due day 1 ± 0)",
        ),
        (
            "8.1 anti-CD3 on day 2",
            (),
            {"m3": {"occurred_at": "14 15"}},
            "anti_cd3_il2",
            "done on day 2, outside day 1 ± 0",
        ),
        ("8.1 IL-2 every 2-3 days: 5-day gap", ("m5",), {}, "il2_feeding", "longer than 3 days"),
        (
            "8.1 harvest 14 ± 2: day 17 is late",
            (),
            {"m9": {"occurred_at": "29 15"}},
            "harvest",
            "done on day 17, outside day 14 ± 2",
        ),
        (
            "8.1 sterility sample 48-72 h before harvest: day 9",
            (),
            {"m8": {"occurred_at": "21 15"}},
            "in_process_sterility",
            "done on day 9",
        ),
        (
            "batch record: step on the wrong event",
            (),
            {"m2": {"type": E.MEDIA_ADDED}},
            "ifn_gamma",
            "recorded as media_added (m2), not cytokine_added",
        ),
        (
            "batch record: unknown step",
            (),
            {"m7": {"step": "il_15"}},
            "il_15",
            "names a step the process does not have",
        ),
    ],
)
def test_batch_deviations(
    scenario: Any,
    rule: str,
    drop: tuple[str, ...],
    changes: dict[str, Any],
    step: str,
    problem: str,
) -> None:
    s = scenario
    resolved = {
        event_id: {
            k: s.at(*map(int, v.split())) if k == "occurred_at" else v for k, v in change.items()
        }
        for event_id, change in changes.items()
    }
    review = _review(s, _ledger(s, drop, **resolved))
    assert any(d.step == step and problem in d.problem for d in review.deviations), (
        rule,
        review.deviations,
    )


def test_batch_in_progress_flags_only_overdue_steps(scenario: Any) -> None:
    s = scenario
    ledger = _ledger(s, drop=("m3",))[:4]  # culture with IFN-γ on day 0, then no anti-CD3
    early = _review(s, ledger, as_of=s.at(13, 12))  # day 0: nothing overdue yet
    assert early.deviations == ()
    assert early.culture_duration is None
    late = _review(s, ledger, as_of=s.at(15, 15))  # day 3
    assert [d.step for d in late.deviations] == ["anti_cd3_il2"]


def test_step_codes_must_be_unique(scenario: Any) -> None:
    steps = (*CIK_STEPS, ProcessStep("harvest", E.HARVESTED, day=15))
    with pytest.raises(InputError, match="repeated: harvest"):
        batch_record_review(scenario.custody(), steps)
