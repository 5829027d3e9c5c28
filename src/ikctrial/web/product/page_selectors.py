"""Reads composed for the product pages from the product selectors (scoping is theirs).

Nothing here filters by site or role itself: subjects come from ``product_subject`` and units from
``unit_for_user``, so another site's subject, unit or bedside check answers 404 as in the API.
"""

from __future__ import annotations

from typing import Any

from ikctrial.product.identifiers import UnitKind
from ikctrial.product.release import specification_text
from ikctrial.web.errors import NotFoundError
from ikctrial.web.product import clock
from ikctrial.web.product.models import (
    BedsideCheck,
    BedsideVerification,
    CustodyEvent,
    Infusion,
    ProductUnit,
    Therapy,
)
from ikctrial.web.product.selectors import (
    event_document,
    product_subject,
    release_document,
    site_zone,
    subject_accounting_document,
    therapy_document,
)
from ikctrial.web.sites.selectors import Actor
from ikctrial.web.subjects.models import Subject


def subject_overview(actor: Actor, subject: Subject) -> dict[str, Any]:
    """The subject's CoI, units and accounting (None before the first blood draw)."""
    if not Therapy.objects.filter(subject=subject).exists():
        return {"therapy": None, "accounting": None}
    return {
        "therapy": therapy_document(actor, subject.pk),
        "accounting": subject_accounting_document(actor, subject.pk),
    }


def therapy_identifiers(subject: Subject) -> dict[str, str]:
    """The facility and patient identifiers of the subject's CoI, to prefill the next draw."""
    therapy = Therapy.objects.filter(subject=subject).first()
    if therapy is None:
        return {}
    return {
        "facility": therapy.facility,
        "patient_identifier_1": therapy.patient_identifier_1,
        "patient_identifier_2": therapy.patient_identifier_2,
    }


def lineage(unit: ProductUnit) -> list[ProductUnit]:
    """The unit and the units it was derived from, the collection first."""
    chain: list[ProductUnit] = []
    current: ProductUnit | None = unit
    while current is not None:
        chain.insert(0, current)
        current = current.parent
    return chain


def unit_ledger(unit: ProductUnit) -> list[dict[str, Any]]:
    """The custody events of the unit's lineage and of the corrections of them, in order."""
    units = [u.pk for u in lineage(unit)]
    rows = CustodyEvent.objects.filter(therapy=unit.therapy, unit__in=units).select_related("unit")
    reversed_ids = set(
        CustodyEvent.objects.filter(therapy=unit.therapy, reverses__isnull=False).values_list(
            "reverses_id", flat=True
        )
    )
    return [
        {**event_document(row), "reversed": row.pk in reversed_ids} for row in rows.order_by("id")
    ]


def reversible_events(ledger: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """Events of a ledger that a correction may still reverse (not reversals, not reversed)."""
    return [
        (e["event_id"], f"#{e['event_id']} {e['event_type']} {e['unit_id']}")
        for e in ledger
        if not e["reversed"] and e["event_type"] != "reversal"
    ]


def children(unit: ProductUnit) -> list[ProductUnit]:
    """Units derived from this one."""
    return list(unit.children.order_by("unit_id"))


def specification_rows(lot_qc: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The protocol's release tests, each with its specification and the lot's results."""
    rows = []
    for test in clock.protocol().product.release_tests:
        rows.append(
            {
                "code": test.code,
                "name": test.name,
                "method": test.method,
                "specification": specification_text(test),
                "required": test.required,
                "results": [r for r in lot_qc if r["test_code"] == test.code],
            }
        )
    return rows


def release_history(lot: ProductUnit) -> list[dict[str, Any]]:
    """Every release attempt of the lot, the one in force first."""
    return [release_document(row) for row in lot.releases.order_by("-signed_at", "-id")]


def is_lot(unit: ProductUnit) -> bool:
    """Whether the unit is a manufacturing lot."""
    return bool(unit.kind == UnitKind.LOT)


def pending_verifications(subject: Subject) -> list[tuple[int, str]]:
    """The subject's bedside verifications no check has used yet: who signed and when (the
    entries stay hidden, so the second verifier does not see the first one's)."""
    used = BedsideCheck.objects.filter(subject=subject)
    used_ids = set(used.values_list("first_id", flat=True)) | set(
        used.values_list("second_id", flat=True)
    )
    rows = BedsideVerification.objects.filter(subject=subject).exclude(pk__in=used_ids)
    zone = site_zone(subject)
    return [
        (
            row.pk,
            f"#{row.pk} {row.verifier_name} ({row.verifier_role}), "
            f"{row.signed_at.astimezone(zone):%Y-%m-%d %H:%M}",
        )
        for row in rows.order_by("id")
    ]


def subject_checks(subject: Subject) -> list[BedsideCheck]:
    """The subject's bedside checks, the latest first (blocked ones included)."""
    return list(
        BedsideCheck.objects.filter(subject=subject)
        .select_related("first", "second")
        .order_by("-checked_at", "-id")
    )


def check_for_user(actor: Actor, check_id: int) -> tuple[BedsideCheck, Subject]:
    """A bedside check of a subject the actor may see (404 otherwise) and that subject."""
    check = (
        BedsideCheck.objects.select_related("first", "second", "bag").filter(pk=check_id).first()
    )
    if check is None:
        raise NotFoundError(f"bedside check {check_id} not found")
    return check, product_subject(actor, check.subject_id)


def check_infusion(check: BedsideCheck) -> Infusion | None:
    """The infusion a check cleared, if recorded."""
    infusion: Infusion | None = (
        Infusion.objects.filter(bedside_check=check)
        .select_related("bag")
        .prefetch_related("reactions")
        .first()
    )
    return infusion


def subject_infusions(subject: Subject) -> list[Infusion]:
    """The infusions given to the subject, in order."""
    return list(
        Infusion.objects.filter(subject=subject)
        .select_related("bag")
        .prefetch_related("reactions")
        .order_by("infusion_number")
    )
