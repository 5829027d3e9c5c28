"""The numbers in which RECIST 1.1 and mRECIST differ, so one engine serves both (domain.md 3).

RECIST 1.1 PD needs a 5 mm absolute increase; published mRECIST has no floor
(``mrecist_pd_min_abs_increase_mm`` = 0 by default, 3.3). Under mRECIST a porta hepatis node is
malignant only from 20 mm short axis (3.4); every other node follows RECIST 1.1 (target from
15 mm, normal below 10 mm).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ikctrial.errors import InputError
from ikctrial.response.assessment import Criteria, EquivocalPdDate, Lesion, is_porta_hepatis_node

RECIST_PD_MIN_ABS_INCREASE_MM = Decimal(5)
MRECIST_PD_MIN_ABS_INCREASE_MM = Decimal(0)
MIN_MEASURABLE_MM = Decimal(10)
NODE_TARGET_MIN_MM = Decimal(15)
NODE_NORMAL_BELOW_MM = Decimal(10)
PORTA_HEPATIS_NODE_MALIGNANT_MM = Decimal(20)


@dataclass(frozen=True)
class CriteriaRules:
    """One criterion's thresholds, in mm."""

    criteria: Criteria
    pd_min_abs_increase_mm: Decimal
    slice_thickness_mm: Decimal | None = None
    equivocal_pd_date: EquivocalPdDate = "first_seen"
    require_marker_normalization_for_cr: bool = False
    allow_treated_lesion_as_target: bool = False

    def min_measurable_mm(self) -> Decimal:
        """Smallest measurable non-nodal longest diameter: max(10, 2 x slice thickness) (2.2)."""
        if self.slice_thickness_mm is None:
            return MIN_MEASURABLE_MM
        return max(MIN_MEASURABLE_MM, 2 * self.slice_thickness_mm)

    def _porta_hepatis_rule(self, lesion: Lesion) -> bool:
        return self.criteria is Criteria.MRECIST and is_porta_hepatis_node(lesion)

    def node_target_min_mm(self, lesion: Lesion) -> Decimal:
        """Smallest short axis of a target node (2.2; 20 mm at the porta hepatis under mRECIST)."""
        if self._porta_hepatis_rule(lesion):
            return PORTA_HEPATIS_NODE_MALIGNANT_MM
        return NODE_TARGET_MIN_MM

    def node_normal_below_mm(self, lesion: Lesion) -> Decimal:
        """Short axis below which a node is not tumor (2.4 CR rule; 20 mm porta hepatis, 3.4)."""
        if self._porta_hepatis_rule(lesion):
            return PORTA_HEPATIS_NODE_MALIGNANT_MM
        return NODE_NORMAL_BELOW_MM


def criteria_rules(
    criteria: Criteria,
    *,
    pd_min_abs_increase_mm: Decimal | None = None,
    slice_thickness_mm: Decimal | None = None,
    equivocal_pd_date: EquivocalPdDate | None = None,
) -> CriteriaRules:
    """The thresholds of ``criteria``; only mRECIST lets the protocol choose its PD floor (3.3)
    and the dating of a confirmed equivocal new lesion (3.5); RECIST 1.1 fixes both (2.5, 2.7)."""
    if criteria is Criteria.RECIST_1_1:
        if pd_min_abs_increase_mm is not None:
            raise InputError(
                "mrecist_pd_min_abs_increase_mm", "applies to mRECIST only (RECIST 1.1 fixes 5 mm)"
            )
        if equivocal_pd_date is not None:
            raise InputError(
                "mrecist_equivocal_pd_date",
                "applies to mRECIST only (RECIST 1.1 dates PD to the first sighting)",
            )
        return CriteriaRules(criteria, RECIST_PD_MIN_ABS_INCREASE_MM, slice_thickness_mm)
    return CriteriaRules(
        criteria,
        MRECIST_PD_MIN_ABS_INCREASE_MM
        if pd_min_abs_increase_mm is None
        else pd_min_abs_increase_mm,
        slice_thickness_mm,
        equivocal_pd_date or "first_seen",
    )
