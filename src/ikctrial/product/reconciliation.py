"""Product reconciliation: every unit accounted for, the product timeline, exposure (domain.md 8).

Accounting puts each unit of a lot in exactly one disposition, from its custody state and the
lot's expiry; a unit with no custody record at all is ``UNACCOUNTED`` and makes the lot unbalanced.
The timeline measures vein-to-vein time (collection to infusion) and each step between the
milestones of the process. The exposure summary counts infusions against the plan and sums the
cells infused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from ikctrial.errors import InputError
from ikctrial.product.custody import CustodyEventType, CustodyStatus, UnitState
from ikctrial.product.identifiers import UnitId
from ikctrial.product.infusion_record import InfusionRecord
from ikctrial.product.infusion_schedule import InfusionState, PlannedInfusion
from ikctrial.product.signature import require_aware


class UnitDisposition(StrEnum):
    """Where a unit ended up, or is now."""

    INFUSED = "infused"
    DESTROYED = "destroyed"
    EXPIRED = "expired"
    QUARANTINE = "quarantine"
    IN_STOCK = "in_stock"
    IN_TRANSIT = "in_transit"
    IN_PROCESS = "in_process"
    UNACCOUNTED = "unaccounted"


_BY_STATUS = {
    CustodyStatus.NOT_COLLECTED: UnitDisposition.UNACCOUNTED,
    CustodyStatus.IN_TRANSIT_TO_LAB: UnitDisposition.IN_TRANSIT,
    CustodyStatus.AT_LAB: UnitDisposition.IN_PROCESS,
    CustodyStatus.IN_CULTURE: UnitDisposition.IN_PROCESS,
    CustodyStatus.HARVESTED: UnitDisposition.IN_STOCK,
    CustodyStatus.RELEASED: UnitDisposition.IN_STOCK,
    CustodyStatus.IN_TRANSIT_TO_WARD: UnitDisposition.IN_TRANSIT,
    CustodyStatus.AT_WARD: UnitDisposition.IN_STOCK,
    CustodyStatus.INFUSED: UnitDisposition.INFUSED,
    CustodyStatus.DESTROYED: UnitDisposition.DESTROYED,
}
_FINAL = frozenset({UnitDisposition.INFUSED, UnitDisposition.DESTROYED})


def unit_disposition(
    state: UnitState | None, expiry_at: datetime | None, now: datetime
) -> UnitDisposition:
    """One unit's disposition: infused or destroyed for good; otherwise expired once ``now``
    reaches the expiry, quarantined, or in stock / transit / process by its custody status."""
    require_aware(now, "now")
    if state is None:
        return UnitDisposition.UNACCOUNTED
    disposition = _BY_STATUS[state.status]
    if disposition in _FINAL or disposition is UnitDisposition.UNACCOUNTED:
        return disposition
    if expiry_at is not None and now >= expiry_at:
        return UnitDisposition.EXPIRED
    return UnitDisposition.QUARANTINE if state.quarantined else disposition


@dataclass(frozen=True)
class Accounting:
    """The units of one lot (or all lots of one subject) by disposition."""

    key: str
    units: tuple[tuple[UnitId, UnitDisposition], ...]

    @property
    def counts(self) -> dict[UnitDisposition, int]:
        """Units per disposition (every disposition listed, zeros included)."""
        found = Counter(d for _, d in self.units)
        return {d: found[d] for d in UnitDisposition}

    @property
    def balanced(self) -> bool:
        """True when every unit is accounted for."""
        return all(d is not UnitDisposition.UNACCOUNTED for _, d in self.units)


def lot_accounting(
    lot_id: UnitId,
    bags: Mapping[UnitId, UnitState | None],
    *,
    expiry_at: datetime | None,
    now: datetime,
) -> Accounting:
    """Account for every bag of ``lot_id`` (None = a bag with no custody record)."""
    for bag in bags:
        if bag.parent != lot_id:
            raise InputError("bags", f"{bag} is not a bag of lot {lot_id}")
    units = tuple((b, unit_disposition(s, expiry_at, now)) for b, s in bags.items())
    return Accounting(str(lot_id), units)


def subject_accounting(subject_id: str, lots: Sequence[Accounting]) -> Accounting:
    """All units of one subject's lots together."""
    return Accounting(subject_id, tuple(u for lot in lots for u in lot.units))


MILESTONES = (
    CustodyEventType.COLLECTED,
    CustodyEventType.RECEIVED,
    CustodyEventType.CULTURE_STARTED,
    CustodyEventType.HARVESTED,
    CustodyEventType.RELEASED,
    CustodyEventType.SHIPPED,
    CustodyEventType.RECEIVED_AT_WARD,
    CustodyEventType.INFUSED,
)
"""The process milestones whose intervals the timeline reports."""


@dataclass(frozen=True)
class Step:
    """The interval between two consecutive milestones that happened."""

    start: CustodyEventType
    end: CustodyEventType
    started_at: datetime
    ended_at: datetime

    @property
    def duration(self) -> timedelta:
        return self.ended_at - self.started_at


@dataclass(frozen=True)
class ProductTimeline:
    """Milestones of one unit's lineage, the steps between them and vein-to-vein time."""

    unit: UnitId
    milestones: tuple[tuple[CustodyEventType, datetime], ...]
    steps: tuple[Step, ...]
    vein_to_vein: timedelta | None


def product_timeline(state: UnitState) -> ProductTimeline:
    """The timeline of a unit from the events in force (first occurrence of each milestone)."""
    reached: list[tuple[CustodyEventType, datetime]] = []
    for milestone in MILESTONES:
        event = state.first(milestone)
        if event is not None:
            reached.append((milestone, event.occurred_at))
    steps = tuple(Step(a, b, at, bt) for (a, at), (b, bt) in pairwise(reached))
    times = dict(reached)
    collected = times.get(CustodyEventType.COLLECTED)
    infused = times.get(CustodyEventType.INFUSED)
    vein_to_vein = infused - collected if collected and infused else None
    return ProductTimeline(state.unit, tuple(reached), steps, vein_to_vein)


@dataclass(frozen=True)
class ExposureSummary:
    """Infusions given against the plan and the cumulative cell dose of one subject."""

    subject_id: str
    planned: int
    given: int
    missed: int
    cumulative_cells: Decimal
    cumulative_volume_ml: Decimal
    infusions_with_reactions: int


def exposure_summary(
    subject_id: str, plan: Sequence[PlannedInfusion], records: Sequence[InfusionRecord]
) -> ExposureSummary:
    """Infusions given out of the plan (e.g. 9 of 12), missed ones, cumulative cells infused."""
    numbers = [r.infusion_number for r in records]
    for index, record in enumerate(records):
        if record.subject_id != subject_id:
            raise InputError(f"records[{index}].subject_id", f"not subject {subject_id}")
        if numbers.count(record.infusion_number) > 1:
            raise InputError(
                f"records[{index}].infusion_number",
                f"infusion {record.infusion_number} is recorded more than once",
            )
        if not 1 <= record.infusion_number <= len(plan):
            raise InputError(
                f"records[{index}].infusion_number", f"not a planned infusion (1..{len(plan)})"
            )
    return ExposureSummary(
        subject_id=subject_id,
        planned=len(plan),
        given=len(records),
        missed=sum(p.state is InfusionState.MISSED for p in plan),
        cumulative_cells=sum((r.cells_infused for r in records), Decimal(0)),
        cumulative_volume_ml=sum((r.volume_infused_ml for r in records), Decimal(0)),
        infusions_with_reactions=sum(bool(r.reactions) for r in records),
    )
