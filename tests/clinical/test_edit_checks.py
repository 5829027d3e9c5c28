"""Edit checks (range, required_if, date_order, unit_plausibility) on one CRF record.

Boundaries follow domain.md 0 (explicit operators, exact decimal arithmetic); the unit-plausibility
ranges in the cases are the unit conventions of domain.md 0 and 6.2 (albumin g/dL vs g/L).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ikctrial.clinical.edit_checks import Finding, edit_check_findings, edit_checks
from ikctrial.errors import InputError

SPECS: list[dict[str, Any]] = [
    {
        "id": "VS_TEMP",
        "form": "vital_signs",
        "type": "range",
        "field": "temperature_c",
        "min": "34",
        "max": "42",
    },
    {
        "id": "VS_SBP",
        "form": "vital_signs",
        "type": "range",
        "field": "systolic_mmhg",
        "min": 60,
        "max": 250,
        "max_inclusive": False,
    },
    {
        "id": "AE_END",
        "form": "adverse_event",
        "type": "date_order",
        "earlier": "onset_date",
        "later": "end_date",
    },
    {
        "id": "AE_OUTCOME_END",
        "form": "adverse_event",
        "type": "required_if",
        "field": "end_date",
        "when": {"outcome": ["recovered", "recovered_with_sequelae"]},
    },
    {
        "id": "LB_ALB_UNIT",
        "form": "lab_result",
        "type": "unit_plausibility",
        "when": {"test": ["albumin"]},
        "field": "value",
        "ranges": {"g/dL": ["0.5", "7"], "g/L": [5, 70]},
    },
]
CHECKS = edit_checks(SPECS)


@pytest.mark.parametrize(
    ("form", "record", "expected"),
    [
        # range, inclusive ends (domain.md 0: the operator is explicit)
        ("vital_signs", {"temperature_c": Decimal("42")}, []),
        ("vital_signs", {"temperature_c": "34"}, []),
        ("vital_signs", {"temperature_c": 42.1}, [("VS_TEMP", "temperature_c")]),
        ("vital_signs", {"temperature_c": 33.9}, [("VS_TEMP", "temperature_c")]),
        # range, exclusive max: 250 itself fails, 249 passes
        ("vital_signs", {"systolic_mmhg": 250}, [("VS_SBP", "systolic_mmhg")]),
        ("vital_signs", {"systolic_mmhg": 249}, []),
        # missing inputs never fire a range check
        ("vital_signs", {"temperature_c": None}, []),
        # date order: equal allowed by default, earlier end fails, naming the later field
        ("adverse_event", {"onset_date": "2026-03-02", "end_date": "2026-03-02"}, []),
        (
            "adverse_event",
            {"onset_date": dt.date(2026, 3, 2), "end_date": dt.date(2026, 3, 1)},
            [("AE_END", "end_date")],
        ),
        ("adverse_event", {"onset_date": "2026-03-02", "end_date": None}, []),
        # required_if: only when the condition holds
        ("adverse_event", {"outcome": "recovered"}, [("AE_OUTCOME_END", "end_date")]),
        (
            "adverse_event",
            {"outcome": "recovered", "end_date": " "},
            [("AE_OUTCOME_END", "end_date")],
        ),
        ("adverse_event", {"outcome": "not_recovered"}, []),
        # unit plausibility: albumin 35 under g/dL is a g/L value (domain.md 0 units)
        (
            "lab_result",
            {"test": "albumin", "unit": "g/dL", "value": 35},
            [("LB_ALB_UNIT", "value")],
        ),
        ("lab_result", {"test": "albumin", "unit": "g/L", "value": 35}, []),
        ("lab_result", {"test": "albumin", "unit": "mg/L", "value": 35}, [("LB_ALB_UNIT", "unit")]),
        # the when-condition restricts the check to albumin results
        ("lab_result", {"test": "ALT", "unit": "U/L", "value": 350}, []),
        # another form's checks never apply
        ("lab_result", {"temperature_c": 50}, []),
    ],
)
def test_findings(form: str, record: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    """Each check type fires exactly on the records that break it."""
    found = edit_check_findings(CHECKS, form, record)
    assert [(f.check_id, f.field) for f in found] == expected


def test_message_names_value_and_interval() -> None:
    """The generated message says what the value is and what was expected."""
    [finding] = edit_check_findings(CHECKS, "vital_signs", {"systolic_mmhg": 300})
    assert finding == Finding("VS_SBP", "systolic_mmhg", "300 is outside [60, 250)")


def test_declared_message_overrides() -> None:
    """A protocol-declared message replaces the generated one."""
    checks = edit_checks([{**SPECS[0], "message": "check the thermometer"}])
    [finding] = edit_check_findings(checks, "vital_signs", {"temperature_c": 45})
    assert finding.message == "check the thermometer"


@pytest.mark.parametrize(
    ("specs", "field"),
    [
        ([{**SPECS[0], "type": "ranges"}], "edit_checks[0]"),
        ([{**SPECS[0], "colour": "red"}], "edit_checks[0].range.colour"),
        ([{**SPECS[0], "min": None, "max": None}], "edit_checks[0].range"),
        ([{**SPECS[1], "min": 10, "max": 5}], "edit_checks[0].range"),
        ([SPECS[0], SPECS[0]], "edit_checks[1].id"),
        ([{**SPECS[3], "when": None}], "edit_checks[0].required_if.when"),
    ],
)
def test_bad_specs_name_the_field(specs: list[dict[str, Any]], field: str) -> None:
    """A malformed check in the protocol file is an InputError naming where it is."""
    with pytest.raises(InputError) as caught:
        edit_checks(specs)
    assert caught.value.field.startswith(field)


@given(
    low=st.integers(-1000, 1000),
    width=st.integers(0, 1000),
    value=st.decimals(-3000, 3000, places=2),
)
def test_range_fires_iff_outside(low: int, width: int, value: Decimal) -> None:
    """Property: an inclusive range check fires exactly when the value is outside [min, max]."""
    check = edit_checks(
        [{"id": "R", "form": "f", "type": "range", "field": "x", "min": low, "max": low + width}]
    )
    fired = bool(edit_check_findings(check, "f", {"x": value}))
    assert fired == (not low <= value <= low + width)
