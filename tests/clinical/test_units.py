"""Unit conversions are exact and units are checked (domain.md 0 "Arithmetic", 4.1 rule 1)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ikctrial.clinical.units import (
    albumin_g_dl,
    albumin_g_l,
    bilirubin_mg_dl,
    bilirubin_umol_l,
    require_unit,
)
from ikctrial.errors import InputError


@pytest.mark.parametrize(
    ("value", "unit", "umol_l", "mg_dl"),
    [
        # domain.md 0: 51.3/17.1 must be exactly 3, not 2.9999999999999996
        ("51.3", "umol/L", "51.3", "3"),
        ("34.2", "umol/L", "34.2", "2"),
        ("3", "mg/dL", "51.3", "3"),
        ("2", "mg/dL", "34.2", "2"),
        ("1.4", "mg/dL", "23.94", "1.4"),
    ],
)
def test_bilirubin_conversion_is_exact(value: str, unit: str, umol_l: str, mg_dl: str) -> None:
    assert bilirubin_umol_l(Decimal(value), unit) == Decimal(umol_l)
    assert bilirubin_mg_dl(Decimal(value), unit) == Decimal(mg_dl)


@pytest.mark.parametrize(
    ("value", "unit", "g_l", "g_dl"),
    [("3.5", "g/dL", "35", "3.5"), ("28", "g/L", "28", "2.8"), ("33", "g/L", "33", "3.3")],
)
def test_albumin_conversion_is_exact(value: str, unit: str, g_l: str, g_dl: str) -> None:
    assert albumin_g_l(Decimal(value), unit) == Decimal(g_l)
    assert albumin_g_dl(Decimal(value), unit) == Decimal(g_dl)


def test_unknown_unit_names_allowed_units() -> None:
    # interfaces.md: "'mg/L' is not one of g/dL, g/L"
    with pytest.raises(InputError) as raised:
        require_unit("mg/L", ("g/dL", "g/L"), "labs.albumin.unit")
    assert str(raised.value) == "labs.albumin.unit: 'mg/L' is not one of g/dL, g/L"
    with pytest.raises(InputError):
        albumin_g_l(Decimal(3), "mg/L")
    with pytest.raises(InputError):
        bilirubin_umol_l(Decimal(3), "mmol/L")


@given(st.decimals(min_value=0, max_value=100, places=2))
def test_bilirubin_round_trip_is_exact(mg_dl: Decimal) -> None:
    # converting to SI and back returns the entered value (no rounding before comparison)
    assert bilirubin_mg_dl(bilirubin_umol_l(mg_dl, "mg/dL"), "umol/L") == mg_dl
