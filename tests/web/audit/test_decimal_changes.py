"""Decimals are compared as the database stores them: no false changes (issue 7, review fix 3).

The probe's ``dose_mg`` is ``DecimalField(decimal_places=2)``: the database keeps ``40`` as
``40.00``, so saving ``40`` again, or ``40.0``, changes nothing and needs no reason (ICH E6(R3)
data governance: only real changes are recorded and justified).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ikctrial.web.audit.context import audit_context
from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.audit.services import verify_chain

pytestmark = pytest.mark.django_db(transaction=True, available_apps=["ikctrial.web.audit"])


def _changes() -> list[tuple[str, dict[str, Any]]]:
    events = AuditEvent.objects.filter(model="audit.auditprobe").order_by("id")
    return [(e.action, e.changes) for e in events]


@pytest.mark.parametrize(
    ("created", "saved_again"),
    [
        (Decimal("40"), Decimal("40")),  # stored 40.00, re-saved unquantized
        (Decimal("40"), Decimal("40.0")),  # another spelling of the same number
        (Decimal("40.00"), Decimal("40")),
        ("12.5", Decimal("12.50")),  # text as a form or JSON body gives it
        (Decimal("-0.1"), Decimal("-0.10")),
    ],
)
def test_resaving_an_equal_decimal_is_no_change(probe: Any, created: Any, saved_again: Any) -> None:
    """Same number at another scale: no update event, so no reason is asked for."""
    with audit_context(actor="ana"):
        row = probe.objects.create(name="d", dose_mg=created)
    with audit_context(actor="ana"):  # a later transaction, no reason: refused if it "changed"
        row = probe.objects.get(pk=row.pk)
        row.dose_mg = saved_again
        row.save()
    with audit_context(actor="ana", reason="bulk re-save"):  # a queryset update asks up front
        probe.objects.filter(pk=row.pk).update(dose_mg=saved_again)
    [(action, changes)] = _changes()
    assert action == "create"
    assert changes["dose_mg"] == [None, str(Decimal(str(created)).quantize(Decimal("0.01")))]


def test_the_create_event_records_the_stored_scale(probe: Any) -> None:
    """The create records ``40.00``, the value a later read of the row returns."""
    with audit_context(actor="ana"):
        row = probe.objects.create(name="d", dose_mg=Decimal("40"))
    row.refresh_from_db()
    [(_, changes)] = _changes()
    assert changes["dose_mg"] == [None, str(row.dose_mg)] == [None, "40.00"]


def test_a_real_decimal_change_is_recorded_at_the_stored_scale(probe: Any) -> None:
    """40 -> 40.5 is a change: old and new as stored (``40.00`` -> ``40.50``), with its reason."""
    with audit_context(actor="ana"):
        row = probe.objects.create(name="d", dose_mg=Decimal("40"))
    with audit_context(actor="bob", reason="transcription error"):
        row.dose_mg = Decimal("40.5")
        row.save()
    assert _changes()[1] == ("update", {"dose_mg": ["40.00", "40.50"]})
    assert verify_chain().ok
