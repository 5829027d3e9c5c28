"""Generate the concealed list, allocate subjects race-safely, record allocation errors.

Race safety: allocation runs in one transaction that locks, in this order, the subject row, the
active list row (its ``last_number`` gives gap-free randomization numbers; minimization needs every
earlier allocation) and the stratum row (its ``next_position`` is the stratum's sequence), with
``select_for_update`` on PostgreSQL. On SQLite the transaction is ``BEGIN IMMEDIATE`` (settings), so
allocations are serialized by the database write lock. The allocation algorithms are the core's
(``ikctrial.randomization``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from ikctrial.errors import InputError
from ikctrial.protocol import Protocol
from ikctrial.randomization import all_strata, minimization_choice, permuted_blocks, stratum_key
from ikctrial.randomization.strata import subject_stratum
from ikctrial.web.audit.context import actor_name, audit_context
from ikctrial.web.errors import ConflictError
from ikctrial.web.protocol import current_protocol
from ikctrial.web.randomization.models import (
    AllocationSlot,
    Method,
    Randomization,
    RandomizationList,
    Stratum,
)
from ikctrial.web.sites.permissions import Action
from ikctrial.web.sites.selectors import Actor, authorize
from ikctrial.web.subjects.models import Subject
from ikctrial.web.subjects.selectors import subject_for_user
from ikctrial.web.validation import reject_nul, save_validated


@dataclass(frozen=True)
class ListSummary:
    """What generation reports (never an arm): list id, method, strata and slots per stratum."""

    list_id: int
    method: str
    protocol_version: str
    strata: list[str]
    slots_per_stratum: dict[str, int]
    block_sizes: list[int]
    replaced_list_id: int | None


def _arms(protocol: Protocol) -> list[str]:
    return [arm.code for arm in protocol.arms]


@transaction.atomic
def randomization_generate(
    *,
    actor: Actor,
    seed: int,
    size: int | None = None,
    replace: bool = False,
    source: str = "api",
) -> ListSummary:
    """Create the concealed list for every stratum of the protocol (once; see ``replace``).

    A second list is refused unless ``replace`` is given and no subject has been randomized; the
    replaced list is kept, inactive (never deleted).
    """
    authorize(actor, Action.RANDOMIZATION_GENERATE)
    protocol = current_protocol()
    if seed < 0:
        raise InputError("seed", f"{seed} must be a non-negative integer")
    per_stratum = protocol.target_enrollment if size is None else size
    if per_stratum < 1:
        raise InputError("size", f"{per_stratum} must be at least 1")
    current = RandomizationList.objects.select_for_update().filter(active=True).first()
    if current is not None and not replace:
        raise ConflictError(
            f"a randomization list already exists (list {current.pk}, generated "
            f"{current.generated_at:%Y-%m-%d} by {current.generated_by}); use --replace"
        )
    if current is not None and Randomization.objects.exists():
        raise ConflictError("subjects are already randomized: the list can no longer be replaced")
    settings = protocol.randomization
    strata = all_strata(settings.stratification_factors)
    replaced = "randomization list replaced" if current is not None else None
    with audit_context(actor=actor, reason=replaced, source=source):
        if current is not None:
            current.active = False
            save_validated(current)
        new = RandomizationList(
            method=settings.method,
            protocol_nct_id=protocol.nct_id,
            protocol_version=protocol.version,
            seed=str(seed),
            size=per_stratum,
            block_sizes=list(settings.block_sizes),
            generated_by=actor_name(actor),
        )
        save_validated(new)
        counts: dict[str, int] = {}
        for index, levels in enumerate(strata):
            key = stratum_key(levels)
            stratum = Stratum(randomization_list=new, index=index, key=key, levels=levels)
            save_validated(stratum)
            if settings.method != Method.BLOCKS:
                continue
            slots = permuted_blocks(
                arms=_arms(protocol),
                ratio=protocol.allocation_ratio,
                block_sizes=settings.block_sizes,
                min_length=per_stratum,
                seed=seed,
                stream=index,
            )
            AllocationSlot.objects.bulk_create(
                AllocationSlot(
                    stratum=stratum,
                    position=slot.position,
                    block=slot.block,
                    block_size=slot.block_size,
                    arm=slot.arm,
                )
                for slot in slots
            )
            counts[key] = len(slots)
    return ListSummary(
        list_id=new.pk,
        method=new.method,
        protocol_version=new.protocol_version,
        strata=[stratum_key(levels) for levels in strata],
        slots_per_stratum=counts,
        block_sizes=list(settings.block_sizes),
        replaced_list_id=current.pk if current is not None else None,
    )


def _minimization_arm(
    protocol: Protocol, active: RandomizationList, levels: dict[str, str], number: int
) -> str:
    """Pocock-Simon choice from the allocations so far; the draw comes from (seed, number)."""
    counts: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for arm, stratum_levels in Randomization.objects.filter(randomization_list=active).values_list(
        "arm", "stratum__levels"
    ):
        for factor, level in stratum_levels.items():
            counts[arm][factor][level] = counts[arm][factor].get(level, 0) + 1
    draw = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(int(active.seed), spawn_key=(0, number)))
    ).random()
    return minimization_choice(
        arms=_arms(protocol),
        ratio=protocol.allocation_ratio,
        counts=counts,
        patient=levels,
        p_best=protocol.randomization.minimization_probability,
        uniform=float(draw),
    ).arm


@transaction.atomic
def subject_randomize(*, actor: Actor, subject_id: int, source: str = "api") -> Randomization:
    """Allocate an eligible, consented subject, once: 409 if already, 422 if not allowed."""
    subject = subject_for_user(actor, subject_id)
    authorize(actor, Action.SUBJECT_RANDOMIZE)
    subject = (
        Subject.objects.select_for_update(of=("self",)).select_related("verdict").get(pk=subject.pk)
    )
    if Randomization.objects.filter(subject=subject).exists():
        raise ConflictError(f"subject {subject.screening_number} is already randomized")
    verdict = subject.verdict
    if verdict.eligible is not True:
        state = "not eligible" if verdict.eligible is False else "of undetermined eligibility"
        raise InputError("eligibility", f"subject {subject.screening_number} is {state}")
    if not subject.consents.exists():
        raise InputError("consent", f"subject {subject.screening_number} has no signed consent")
    protocol = current_protocol()
    levels = subject_stratum(
        verdict.result.get("derived", {}), protocol.randomization.stratification_factors
    )
    active = RandomizationList.objects.select_for_update().filter(active=True).first()
    if active is None:
        raise ConflictError("no randomization list has been generated")
    stratum = (
        Stratum.objects.select_for_update()
        .filter(randomization_list=active, key=stratum_key(levels))
        .first()
    )
    if stratum is None:
        raise ConflictError(f"the randomization list has no stratum {stratum_key(levels)}")
    number = active.last_number + 1
    reason = f"randomization of subject {subject.screening_number}"
    with audit_context(actor=actor, reason=reason, source=source):
        slot = None
        if active.method == Method.BLOCKS:
            slot = AllocationSlot.objects.filter(
                stratum=stratum, position=stratum.next_position
            ).first()
            if slot is None:
                raise ConflictError(f"the randomization list of stratum {stratum.key} is exhausted")
            arm = slot.arm
            stratum.next_position += 1
            save_validated(stratum)
        else:
            arm = _minimization_arm(protocol, active, levels, number)
        active.last_number = number
        save_validated(active)
        randomization = Randomization(
            subject=subject,
            randomization_list=active,
            number=number,
            arm=arm,
            stratum=stratum,
            slot=slot,
            randomized_by=actor_name(actor),
        )
        save_validated(randomization)
    return randomization


@transaction.atomic
def randomization_mark_in_error(
    *, actor: Actor, subject_id: int, reason: str, source: str = "api"
) -> Randomization:
    """Record that a subject was randomized in error (kept in its arm for ITT, never deleted)."""
    subject = subject_for_user(actor, subject_id)
    authorize(actor, Action.RANDOMIZATION_MARK_ERROR)
    if not reason.strip():
        raise InputError("reason", "a reason is required")
    reject_nul(reason, "reason")
    randomization = Randomization.objects.select_for_update().filter(subject=subject).first()
    if randomization is None:
        raise ConflictError(f"subject {subject.screening_number} is not randomized")
    if randomization.status == Randomization.Status.IN_ERROR:
        raise ConflictError(f"subject {subject.screening_number} is already marked in error")
    with audit_context(actor=actor, reason=reason, source=source):
        randomization.status = Randomization.Status.IN_ERROR
        randomization.error_reason = reason.strip()
        randomization.error_marked_by = actor_name(actor)
        randomization.error_marked_at = timezone.now()
        save_validated(randomization)
    return randomization
