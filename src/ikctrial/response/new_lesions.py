"""New lesions: mRECIST classification of a new liver nodule, and dating a confirmed equivocal one.

An equivocal new lesion does not make PD; once a later scan confirms it, PD is dated to the scan
where it was first seen (RECIST 1.1, domain.md 2.7; mRECIST default ``first_seen``, 3.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ikctrial.response.assessment import NewLesions

NEW_HCC_MIN_MM = Decimal(10)
"""A new intrahepatic nodule is new HCC from 10 mm with the typical vascular pattern (3.5)."""
EQUIVOCAL_NODULE_GROWTH_MM = Decimal(10)
"""An equivocal nodule that grows by at least 10 mm is new HCC (3.5)."""


def new_liver_nodule_status(
    diameter_mm: Decimal,
    *,
    typical_vascular_pattern: bool,
    first_seen_diameter_mm: Decimal | None = None,
) -> NewLesions:
    """mRECIST status of a new intrahepatic nodule (domain.md 3.5).

    Unequivocal (new HCC) when it is >= 10 mm with arterial hyperenhancement and washout, or when
    it has grown by >= 10 mm since it was first seen; equivocal otherwise.
    """
    if diameter_mm >= NEW_HCC_MIN_MM and typical_vascular_pattern:
        return NewLesions.UNEQUIVOCAL
    if (
        first_seen_diameter_mm is not None
        and diameter_mm - first_seen_diameter_mm >= EQUIVOCAL_NODULE_GROWTH_MM
    ):
        return NewLesions.UNEQUIVOCAL
    return NewLesions.EQUIVOCAL


def first_sightings(statuses: Sequence[NewLesions]) -> dict[int, int]:
    """Map each time point that confirms a new lesion to the time point it was first seen.

    The confirmed lesion is taken to be the equivocal finding of the unbroken run of equivocal time
    points just before the confirming one (domain.md 2.11 example 10). Time points without an
    earlier equivocal run are not in the mapping.
    """
    sightings: dict[int, int] = {}
    for index, status in enumerate(statuses):
        if status is not NewLesions.UNEQUIVOCAL:
            continue
        first = index
        while first > 0 and statuses[first - 1] is NewLesions.EQUIVOCAL:
            first -= 1
        if first < index:
            sightings[index] = first
    return sightings
