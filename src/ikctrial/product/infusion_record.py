"""The record of a given IKC infusion: dose, start and stop, reactions (domain.md 8.6).

An infusion can only be recorded after a bedside verification that allowed it, for the bag it
verified, and must start after that verification and before the lot expires (8.5). The cells
infused are the viable cells in the bag times the fraction of its volume infused, in exact
decimal arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ikctrial.errors import InputError
from ikctrial.product.bedside import BagRecord, BedsideDecision
from ikctrial.product.identifiers import UnitId
from ikctrial.product.release import SHELF_LIFE_NOT_SET
from ikctrial.product.signature import require_aware, require_text


@dataclass(frozen=True)
class InfusionReaction:
    """An infusion reaction seen during or after the infusion (linked to an AE record)."""

    description: str
    ctcae_grade: int
    onset_at: datetime

    def __post_init__(self) -> None:
        require_text(self.description, "reaction.description")
        require_aware(self.onset_at, "reaction.onset_at")
        if not 1 <= self.ctcae_grade <= 5:
            raise InputError("reaction.ctcae_grade", f"{self.ctcae_grade} is not a grade 1-5")


@dataclass(frozen=True)
class InfusionRecord:
    """One infusion as given."""

    subject_id: str
    infusion_number: int
    bag_id: UnitId
    started_at: datetime
    stopped_at: datetime
    volume_infused_ml: Decimal
    cells_infused: Decimal
    reactions: tuple[InfusionReaction, ...]

    @property
    def duration(self) -> timedelta:
        return self.stopped_at - self.started_at


def infusion_record(
    decision: BedsideDecision,
    bag: BagRecord,
    *,
    expiry_at: datetime | None,
    bag_volume_ml: Decimal,
    viable_cells_in_bag: Decimal,
    started_at: datetime,
    stopped_at: datetime,
    volume_infused_ml: Decimal,
    reactions: Sequence[InfusionReaction] = (),
) -> InfusionRecord:
    """Build the record of an infusion that the bedside ``decision`` allowed; refuse bad data."""
    if not decision.allowed or decision.infusion_number is None:
        reasons = "; ".join(f.reason for f in decision.failures if not f.overridden)
        raise InputError("decision", f"the bedside verification blocked this infusion: {reasons}")
    require_aware(started_at, "started_at")
    require_aware(stopped_at, "stopped_at")
    if started_at < decision.checked_at:
        raise InputError("started_at", "the infusion cannot start before the bedside verification")
    if expiry_at is None:
        raise InputError("expiry_at", SHELF_LIFE_NOT_SET)
    if started_at >= expiry_at:
        raise InputError("started_at", f"the lot expired at {expiry_at.isoformat()}")
    if stopped_at <= started_at:
        raise InputError("stopped_at", "must be after started_at")
    if bag_volume_ml <= 0 or viable_cells_in_bag <= 0:
        raise InputError("bag_volume_ml", "bag volume and viable cells must be positive")
    if not 0 < volume_infused_ml <= bag_volume_ml:
        raise InputError(
            "volume_infused_ml", f"{volume_infused_ml} is not in (0, {bag_volume_ml}] mL"
        )
    for index, reaction in enumerate(reactions):
        if reaction.onset_at < started_at:
            raise InputError(f"reactions[{index}].onset_at", "before the infusion started")
    return InfusionRecord(
        subject_id=bag.subject_id,
        infusion_number=decision.infusion_number,
        bag_id=bag.bag_id,
        started_at=started_at,
        stopped_at=stopped_at,
        volume_infused_ml=volume_infused_ml,
        cells_infused=viable_cells_in_bag * volume_infused_ml / bag_volume_ml,
        reactions=tuple(reactions),
    )
