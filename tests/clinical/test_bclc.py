"""BCLC staging by the computable rule of domain.md 4.3 (worked examples B1-B11, every branch)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ikctrial.clinical.bclc import BclcInputs, bclc_reachable_stages, bclc_stage


def _inputs(
    cp: str | None,
    ecog: int | None,
    mvi: bool | None,
    ehs: bool | None,
    nodules: int | None,
    largest_mm: int | None,
    diffuse: bool = False,
) -> BclcInputs:
    return BclcInputs(
        child_pugh_classes=None if cp is None else frozenset({cp}),  # type: ignore[arg-type]
        ecog=ecog,
        macrovascular_invasion=mvi,
        extrahepatic_spread=ehs,
        nodules=nodules,
        largest_mm=None if largest_mm is None else Decimal(largest_mm),
        diffuse=diffuse,
    )


@pytest.mark.parametrize(
    ("case", "inputs", "stages"),
    [
        ("B1 single <= 20 mm, ECOG 0 -> 0", _inputs("A", 0, False, False, 1, 18), {"0"}),
        ("B2 single any size -> A", _inputs("A", 0, False, False, 1, 80), {"A"}),
        ("B3 3 nodules <= 30 mm -> A", _inputs("B", 0, False, False, 3, 30), {"A"}),
        ("B4 2 nodules, one > 30 mm -> B", _inputs("A", 0, False, False, 2, 45), {"B"}),
        ("B5 more than 3 nodules -> B", _inputs("A", 0, False, False, 4, 25), {"B"}),
        ("B6 ECOG 1 -> C", _inputs("A", 1, False, False, 1, 30), {"C"}),
        ("B7 macrovascular invasion -> C", _inputs("B", 0, True, False, 2, 40), {"C"}),
        ("B8 Child-Pugh C -> D", _inputs("C", 0, False, False, 3, 25), {"D"}),
        ("B9 ECOG 3 -> D", _inputs("A", 3, False, False, 4, 40), {"D"}),
        ("B10 CP missing, ECOG 2 -> C or D", _inputs(None, 2, False, False, 5, 50), {"C", "D"}),
        ("B11 CP C, rest missing -> D", _inputs("C", None, None, None, None, None), {"D"}),
        ("extrahepatic spread -> C", _inputs("A", 0, False, True, 1, 15), {"C"}),
        ("single nodule exactly 20 mm -> 0", _inputs("A", 0, False, False, 1, 20), {"0"}),
        ("single nodule 21 mm -> A", _inputs("A", 0, False, False, 1, 21), {"A"}),
        ("2 nodules 31 mm -> B", _inputs("A", 0, False, False, 2, 31), {"B"}),
        ("diffuse forces multinodular -> B", _inputs("A", 0, False, False, 1, 15, True), {"B"}),
        ("diffuse with ECOG 1 stays C", _inputs("A", 1, False, False, 1, 15, True), {"C"}),
        ("ECOG 5 -> D", _inputs("A", 5, False, False, 1, 15), {"D"}),
        # short-circuits of domain.md 4.3 "Missing inputs"
        (
            "ECOG 1, CP known not C, tumor missing -> C",
            _inputs("B", 1, None, None, None, None),
            {"C"},
        ),
        (
            "ECOG 0, tumor missing -> 0, A, B or C",
            _inputs("A", 0, None, None, None, None),
            {"0", "A", "B", "C"},
        ),
        (
            "ECOG 0, largest missing, 1 nodule -> 0 or A",
            _inputs("A", 0, False, False, 1, None),
            {"0", "A"},
        ),
        (
            "ECOG 0, 2 nodules, size missing -> A or B",
            _inputs("A", 0, False, False, 2, None),
            {"A", "B"},
        ),
        (
            "nothing known -> every stage",
            _inputs(None, None, None, None, None, None),
            {"0", "A", "B", "C", "D"},
        ),
    ],
)
def test_reachable_stages(case: str, inputs: BclcInputs, stages: set[str]) -> None:
    assert bclc_reachable_stages(inputs) == stages, case


@given(
    cp=st.sampled_from(["A", "B", "C"]),
    ecog=st.integers(0, 5),
    mvi=st.booleans(),
    ehs=st.booleans(),
    nodules=st.integers(1, 8),
    largest=st.integers(1, 150),
    drop=st.sets(st.sampled_from(["cp", "ecog", "mvi", "ehs", "nodules", "largest_mm"])),
)
def test_known_stage_stays_reachable_when_inputs_go_missing(
    cp: str, ecog: int, mvi: bool, ehs: bool, nodules: int, largest: int, drop: set[str]
) -> None:
    # tri-state consistency (domain.md 0): the stage of the complete record is reachable from
    # any partial copy of it, and the complete record reaches exactly that stage
    full = bclc_stage(cp, ecog, mvi, ehs, nodules, Decimal(largest))  # type: ignore[arg-type]
    values: dict[str, object] = {
        "cp": cp,
        "ecog": ecog,
        "mvi": mvi,
        "ehs": ehs,
        "nodules": nodules,
        "largest_mm": largest,
    }
    assert bclc_reachable_stages(_inputs(**values)) == {full}  # type: ignore[arg-type]
    partial = {k: None if k in drop else v for k, v in values.items()}
    assert full in bclc_reachable_stages(_inputs(**partial))  # type: ignore[arg-type]
