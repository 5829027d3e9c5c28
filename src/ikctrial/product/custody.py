"""Chain of custody: an append-only ledger of unit events and the state it implies (domain.md 8.4).

No event is ever changed or deleted. A wrong event is corrected by a new ``REVERSAL`` event that
names the event it cancels and the reason; the state is computed from the events that remain in
force. A unit's state comes from the events of its lineage: the unit itself and every unit it was
derived from (a bag inherits the custody of its lot, culture and collection), all under one CoI.

The process follows a state machine (``ALLOWED_NEXT``). Gaps do not stop the ledger, because the
product exists whether or not a hand-off was recorded, but they put the unit in ``QUARANTINE``
until a ``qa`` user records ``QUARANTINE_LIFTED`` (domain.md 8.4): an event recorded after a
transport leg without its receipt (missing receipt), a temperature outside the cold-chain range
(excursion), a hand-off received with an issue, and a transport leg longer than its limit. An
explicit ``QUARANTINED`` event (e.g. after an identity mismatch, 8.3) does the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from ikctrial.product.identifiers import ChainOfIdentityId, UnitId, UnitKind
from ikctrial.product.signature import duration_text, require_aware, require_text
from ikctrial.protocol.model import Product

QA_ROLE = "qa"


class CustodyEventType(StrEnum):
    """What happened to a unit (the typical sequence of domain.md 8.1 and 8.4)."""

    COLLECTED = "collected"
    RECEIVED = "received"
    CULTURE_STARTED = "culture_started"
    MEDIA_ADDED = "media_added"
    CYTOKINE_ADDED = "cytokine_added"
    HARVESTED = "harvested"
    QC_SAMPLED = "qc_sampled"
    RELEASED = "released"
    SHIPPED = "shipped"
    RECEIVED_AT_WARD = "received_at_ward"
    STORED = "stored"
    INFUSED = "infused"
    DESTROYED = "destroyed"
    QUARANTINED = "quarantined"
    QUARANTINE_LIFTED = "quarantine_lifted"
    REVERSAL = "reversal"


E = CustodyEventType
TERMINAL = frozenset({E.INFUSED, E.DESTROYED})
QUARANTINE_EVENTS = frozenset({E.QUARANTINED, E.QUARANTINE_LIFTED})
"""Quality events: they change the quarantine flag, not the process step."""

ALLOWED_NEXT: dict[CustodyEventType | None, frozenset[CustodyEventType]] = {
    None: frozenset({E.COLLECTED}),
    E.COLLECTED: frozenset({E.RECEIVED}),
    E.RECEIVED: frozenset({E.CULTURE_STARTED, E.QC_SAMPLED}),
    E.CULTURE_STARTED: frozenset({E.MEDIA_ADDED, E.CYTOKINE_ADDED, E.QC_SAMPLED, E.HARVESTED}),
    E.MEDIA_ADDED: frozenset({E.MEDIA_ADDED, E.CYTOKINE_ADDED, E.QC_SAMPLED, E.HARVESTED}),
    E.CYTOKINE_ADDED: frozenset({E.MEDIA_ADDED, E.CYTOKINE_ADDED, E.QC_SAMPLED, E.HARVESTED}),
    E.HARVESTED: frozenset({E.QC_SAMPLED, E.STORED}),
    E.QC_SAMPLED: frozenset(
        {E.MEDIA_ADDED, E.CYTOKINE_ADDED, E.QC_SAMPLED, E.HARVESTED, E.RELEASED, E.STORED}
    ),
    E.RELEASED: frozenset({E.QC_SAMPLED, E.SHIPPED, E.STORED}),
    E.SHIPPED: frozenset({E.RECEIVED_AT_WARD}),
    E.RECEIVED_AT_WARD: frozenset({E.STORED, E.INFUSED}),
    E.STORED: frozenset({E.QC_SAMPLED, E.RELEASED, E.SHIPPED, E.INFUSED}),
    E.INFUSED: frozenset(),
    E.DESTROYED: frozenset(),
}
"""Which process event may follow the last one in force; ``DESTROYED`` may follow any
non-terminal event. ``QC_SAMPLED`` after culture start is the in-process sterility sample; after
release or storage the lab may still sample a retained lot (and release a stored one)."""

NEEDS_REASON = frozenset({E.REVERSAL, E.QUARANTINED, E.QUARANTINE_LIFTED})
"""Events that must say why (a correction or a quality decision)."""

RECEIPT_OF = {E.COLLECTED: E.RECEIVED, E.SHIPPED: E.RECEIVED_AT_WARD}
"""Transport legs: the event that starts one and the receipt that must end it."""

COLD_CHAIN = frozenset({E.RELEASED, E.SHIPPED, E.RECEIVED_AT_WARD, E.STORED, E.INFUSED})
"""Events after which the final product must stay in the transport range (domain.md 8.1)."""


class CustodyStatus(StrEnum):
    """Where a unit is in the process, from the last process event in force."""

    NOT_COLLECTED = "not_collected"
    IN_TRANSIT_TO_LAB = "in_transit_to_lab"
    AT_LAB = "at_lab"
    IN_CULTURE = "in_culture"
    HARVESTED = "harvested"
    RELEASED = "released"
    IN_TRANSIT_TO_WARD = "in_transit_to_ward"
    AT_WARD = "at_ward"
    INFUSED = "infused"
    DESTROYED = "destroyed"


STATUS_AFTER: dict[CustodyEventType | None, CustodyStatus] = {
    None: CustodyStatus.NOT_COLLECTED,
    E.COLLECTED: CustodyStatus.IN_TRANSIT_TO_LAB,
    E.RECEIVED: CustodyStatus.AT_LAB,
    E.CULTURE_STARTED: CustodyStatus.IN_CULTURE,
    E.MEDIA_ADDED: CustodyStatus.IN_CULTURE,
    E.CYTOKINE_ADDED: CustodyStatus.IN_CULTURE,
    E.HARVESTED: CustodyStatus.HARVESTED,
    E.RELEASED: CustodyStatus.RELEASED,
    E.SHIPPED: CustodyStatus.IN_TRANSIT_TO_WARD,
    E.RECEIVED_AT_WARD: CustodyStatus.AT_WARD,
    E.INFUSED: CustodyStatus.INFUSED,
    E.DESTROYED: CustodyStatus.DESTROYED,
}


class CustodyCondition(StrEnum):
    """The receiver's signed statement at a hand-off (domain.md 8.4)."""

    ACCEPTABLE = "received in acceptable condition"
    ISSUE = "received with issue"


class CustodyError(ValueError):
    """An event that cannot be appended to the ledger, with the reason."""

    def __init__(self, event_id: str, reason: str) -> None:
        self.event_id = event_id
        self.reason = reason
        super().__init__(f"event {event_id}: {reason}")


@dataclass(frozen=True)
class CustodyEvent:
    """One immutable ledger entry: what, which unit, who, when, where, in which condition.

    ``temperature_c`` is the product temperature at the hand-off; ``logger_min_c`` and
    ``logger_max_c`` the extremes the data logger recorded since the previous event; ``step`` the
    batch-record process step a manufacturing event performs (e.g. ``anti_cd3_il2``).
    """

    event_id: str
    type: CustodyEventType
    unit: UnitId
    occurred_at: datetime
    user_id: str
    role: str
    location: str
    temperature_c: Decimal | None = None
    logger_id: str | None = None
    logger_min_c: Decimal | None = None
    logger_max_c: Decimal | None = None
    condition: CustodyCondition = CustodyCondition.ACCEPTABLE
    note: str | None = None
    step: str | None = None
    reverses: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        require_text(self.event_id, "event_id")
        require_aware(self.occurred_at, "occurred_at")
        require_text(self.user_id, "user_id")
        require_text(self.role, "role")
        require_text(self.location, "location")
        if self.type in NEEDS_REASON:
            require_text(self.reason, f"{self.event_id}.reason")

    def temperatures_c(self) -> list[Decimal]:
        """Every temperature this event reports (hand-off and logger extremes)."""
        values = (self.temperature_c, self.logger_min_c, self.logger_max_c)
        return [v for v in values if v is not None]


@dataclass(frozen=True)
class CustodyLimits:
    """Cold-chain range of the final product and the time limits of the two transport legs
    (blood from collection to the lab, product from shipment to the ward); None = not checked."""

    transport_temp_range_c: tuple[Decimal, Decimal]
    max_blood_transport_hours: Decimal | None = None
    max_product_transport_hours: Decimal | None = None

    def transport_limit_hours(self, leg_start: CustodyEventType) -> Decimal | None:
        """The time limit of the transport leg that ``leg_start`` opens."""
        if leg_start is CustodyEventType.COLLECTED:
            return self.max_blood_transport_hours
        return self.max_product_transport_hours


@dataclass(frozen=True)
class UnitState:
    """The custody state of one unit: status, where, and whether it is in quarantine and why."""

    unit: UnitId
    status: CustodyStatus
    location: str | None
    last_event_at: datetime | None
    quarantined: bool
    quarantine_reasons: tuple[str, ...]
    events_in_force: tuple[CustodyEvent, ...] = field(repr=False)

    def first(self, kind: CustodyEventType) -> CustodyEvent | None:
        """The first event of ``kind`` in force, if any."""
        return next((e for e in self.events_in_force if e.type is kind), None)


def _occurred(event: CustodyEvent) -> datetime:
    return event.occurred_at


def derived_from(unit: UnitId, ancestor: UnitId) -> bool:
    """True when ``unit`` is ``ancestor`` or was derived from it (same CoI, path below it)."""
    return unit.coi == ancestor.coi and unit.path[: len(ancestor.path)] == ancestor.path


def _lineage(events: list[CustodyEvent], unit: UnitId) -> list[CustodyEvent]:
    """The events that apply to ``unit``, in the order they occurred (ties in recording order).

    An ancestor's process event applies until the product moved down to a derived unit: once the
    lineage has events of a unit at some depth, later process events of shallower units (e.g. the
    lab sampling a retained lot after the bag was shipped) belong to other branches, so after the
    split each bag is shipped, stored or destroyed by its own events. Quality events (quarantine,
    its lifting) of an ancestor always apply: a quarantined lot quarantines its bags.
    """
    depth = 0
    applied: list[CustodyEvent] = []
    for event in sorted((e for e in events if derived_from(unit, e.unit)), key=_occurred):
        if event.type not in QUARANTINE_EVENTS:
            if len(event.unit.path) < depth:
                continue
            depth = len(event.unit.path)
        applied.append(event)
    return applied


def _events_in_force(events: Sequence[CustodyEvent], coi: ChainOfIdentityId) -> list[CustodyEvent]:
    """The non-reversal events not cancelled by a reversal; checks ids, CoI and the reversals."""
    seen: dict[str, CustodyEvent] = {}
    reversed_ids: set[str] = set()
    for event in events:
        if event.event_id in seen:
            raise CustodyError(event.event_id, "event id is used twice")
        if event.unit.coi != coi:
            raise CustodyError(
                event.event_id,
                f"chain-of-identity mismatch: event is for {event.unit.coi}, the unit for {coi}",
            )
        if event.type is E.REVERSAL:
            target = seen.get(event.reverses or "")
            if target is None:
                raise CustodyError(
                    event.event_id, f"reverses {event.reverses!r}, which is no earlier event"
                )
            if target.type is E.REVERSAL or target.event_id in reversed_ids:
                raise CustodyError(
                    event.event_id, f"{target.event_id} is a reversal or already reversed"
                )
            reversed_ids.add(target.event_id)
        elif event.reverses is not None:
            raise CustodyError(event.event_id, "only a reversal event may name reverses")
        if event.type is E.INFUSED and event.unit.kind is not UnitKind.BAG:
            raise CustodyError(event.event_id, "only a bag is infused (domain.md 8.3)")
        seen[event.event_id] = event
    return [e for e in events if e.type is not E.REVERSAL and e.event_id not in reversed_ids]


def _temperature_problem(event: CustodyEvent, limits: CustodyLimits) -> str | None:
    low, high = limits.transport_temp_range_c
    outside = [t for t in event.temperatures_c() if not low <= t <= high]
    if not outside:
        return None
    return (
        f"temperature excursion at {event.type.value} ({event.event_id}): "
        f"{', '.join(f'{t} °C' for t in outside)} outside {low}-{high} °C"
    )


def _transport_problem(
    start: CustodyEvent, end_at: datetime, limits: CustodyLimits, *, received: bool
) -> str | None:
    hours = limits.transport_limit_hours(start.type)
    if hours is None or end_at - start.occurred_at <= timedelta(hours=float(hours)):
        return None
    span = duration_text(end_at - start.occurred_at)
    what = "took" if received else "has lasted"
    return f"transport after {start.type.value} ({start.event_id}) {what} {span}, beyond {hours} h"


def custody_state(
    events: Sequence[CustodyEvent],
    unit: UnitId,
    limits: CustodyLimits,
    *,
    now: datetime | None = None,
) -> UnitState:
    """The state of ``unit`` from the ledger ``events`` (in recording order).

    The events in force are taken in the order they occurred (ties in recording order), so a
    correction recorded late (a reversal, then the right event) falls into its place. Raises
    ``CustodyError`` when the ledger breaks a rule: an event out of sequence, an event for another
    CoI, a bad reversal, quarantine lifted by a non-qa user. With ``now``, a transport leg still
    open beyond its time limit also quarantines the unit. ``appended_state`` checks a new event.
    """
    lineage = _lineage(_events_in_force(events, unit.coi), unit)
    last: CustodyEvent | None = None
    step: CustodyEvent | None = None
    reasons: list[str] = []
    for event in lineage:
        if event.type is E.QUARANTINE_LIFTED:
            if event.role != QA_ROLE:
                raise CustodyError(event.event_id, "only role qa may lift a quarantine")
            if not reasons:
                raise CustodyError(event.event_id, "the unit is not in quarantine")
            reasons = []
        elif event.type is E.QUARANTINED:
            reasons.append(f"quarantined ({event.event_id}): {event.reason}")
        else:
            reasons.extend(_event_problems(event, step, limits))
            step = event
        last = event
    if now is not None and step is not None and step.type in RECEIPT_OF:
        problem = _transport_problem(step, require_aware(now, "now"), limits, received=False)
        if problem:
            reasons.append(problem)
    status_events = [e.type for e in lineage if e.type in STATUS_AFTER]
    return UnitState(
        unit=unit,
        status=STATUS_AFTER[status_events[-1] if status_events else None],
        location=last.location if last else None,
        last_event_at=last.occurred_at if last else None,
        quarantined=bool(reasons),
        quarantine_reasons=tuple(reasons),
        events_in_force=tuple(lineage),
    )


def _event_problems(
    event: CustodyEvent, step: CustodyEvent | None, limits: CustodyLimits
) -> list[str]:
    """Quarantine reasons raised by appending process ``event`` after process event ``step``."""
    last = step.type if step is not None else None
    if last in TERMINAL:
        raise CustodyError(event.event_id, f"the unit was already {last}; nothing may follow")
    problems: list[str] = []
    allowed = ALLOWED_NEXT[last] | ({E.DESTROYED} if last is not None else frozenset())
    if event.type not in allowed:
        receipt = RECEIPT_OF.get(last) if last is not None else None
        if receipt is None or event.type not in ALLOWED_NEXT[receipt]:
            expected = ", ".join(sorted(allowed)) or "nothing"
            raise CustodyError(
                event.event_id,
                f"{event.type.value} cannot follow {last or 'an empty ledger'} "
                f"(allowed: {expected})",
            )
        problems.append(f"missing receipt: {event.type.value} recorded without {receipt.value}")
    if step is not None and event.type is RECEIPT_OF.get(step.type):
        problem = _transport_problem(step, event.occurred_at, limits, received=True)
        if problem:
            problems.append(problem)
    if event.type in COLD_CHAIN:
        problem = _temperature_problem(event, limits)
        if problem:
            problems.append(problem)
    if event.condition is CustodyCondition.ISSUE:
        problems.append(f"{event.type.value} ({event.event_id}) received with issue: {event.note}")
    return problems


def appended_state(
    events: Sequence[CustodyEvent], new: CustodyEvent, limits: CustodyLimits
) -> UnitState:
    """The state of ``new``'s unit once ``new`` is appended; ``CustodyError`` if it cannot be.

    Services call this before storing an event: the ledger is append-only, so an event accepted
    here is never changed afterwards (a mistake is reversed by a new ``REVERSAL`` event).
    """
    return custody_state([*events, new], new.unit, limits)


def custody_limits(
    product: Product,
    *,
    max_blood_transport_hours: Decimal | None = None,
    max_product_transport_hours: Decimal | None = None,
) -> CustodyLimits:
    """The limits of a protocol's product section; the protocol file has no transport-time limits
    yet, so the caller passes them (None = not checked)."""
    low, high = (Decimal(str(t)) for t in product.transport_temp_range_c)
    return CustodyLimits((low, high), max_blood_transport_hours, max_product_transport_hours)
