"""The custody ledger (domain.md 8.4): append-only, corrections by reversal, quarantine on gaps;
the CoI and unit ids (8.3); the ledger in the audit chain."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from ikctrial.errors import InputError
from ikctrial.product.identifiers import mod37_2_is_valid, parse_unit_id
from ikctrial.web.audit.context import audit_context
from ikctrial.web.audit.models import AuditEvent
from ikctrial.web.errors import ConflictError, ForbiddenError
from ikctrial.web.product.models import AppendOnlyError, CustodyEvent, Therapy
from ikctrial.web.product.selectors import unit_document
from ikctrial.web.product.services import custody_event_record, unit_derive

from .conftest import FACILITY, World, event

pytestmark = pytest.mark.django_db


def test_coi_is_iso_7064_checked_and_every_unit_carries_it(world: World) -> None:
    """8.3: one CoI per therapy (facility, year, sequence 1); units CoI-path-check."""
    therapy = Therapy.objects.get(subject_id=world.subject_id)
    assert therapy.coi_id.startswith(f"{FACILITY}{world.harvest.year % 100:02d}000001")
    assert mod37_2_is_valid(therapy.coi_id)
    for unit_id in (world.collection_id, world.lot_id, world.bag_id):
        assert parse_unit_id(unit_id).coi.data + parse_unit_id(unit_id).coi.check == therapy.coi_id
    assert world.bag_id.split("-")[1] == "C01K01L01B01"


def test_ledger_rows_cannot_be_updated_or_deleted(world: World) -> None:
    """8.4: no event is ever changed or deleted, whatever the write path."""
    row = CustodyEvent.objects.order_by("id").first()
    assert row is not None
    with audit_context(actor="tester", reason="try to change"):
        row.location = "elsewhere"
        with pytest.raises(AppendOnlyError):
            row.save()
        with pytest.raises(AppendOnlyError):
            row.delete()
        with pytest.raises(AppendOnlyError):
            CustodyEvent.objects.filter(pk=row.pk).update(location="elsewhere")
        with pytest.raises(AppendOnlyError):
            CustodyEvent.objects.filter(pk=row.pk).delete()
    stored = CustodyEvent.objects.get(pk=row.pk)
    assert stored.location == "ward 7"


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["UPDATE {t} SET location = 'x'", "DELETE FROM {t}"])
def test_postgresql_refuses_update_and_delete_of_the_ledger(world: World, statement: str) -> None:
    """8.4: on PostgreSQL the database itself refuses (trigger of migration 0002)."""
    from psycopg import errors

    with (
        pytest.raises(DatabaseError, match="append-only") as raised,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(t=CustodyEvent._meta.db_table))
    assert isinstance(raised.value.__cause__, errors.InsufficientPrivilege)
    assert CustodyEvent.objects.count() > 0


def test_a_wrong_event_is_corrected_by_a_reversal_with_reason(world: World) -> None:
    """8.4: a correction is a new reversing event with a reason; the wrong one stays on record."""
    wrong = custody_event_record(
        actor=world.user("pharmacist"),
        unit_id=world.bag_id,
        event_type="destroyed",
        data=event(world.at(2.5), "ward 7"),
    )
    assert unit_document(wrong.unit)["custody_status"] == "destroyed"
    with pytest.raises(InputError, match="reason"):
        custody_event_record(
            actor=world.user("pharmacist"),
            unit_id=world.bag_id,
            event_type="reversal",
            data=event(world.at(2.6), "ward 7", reverses=wrong.pk),
        )
    reversal = custody_event_record(
        actor=world.user("pharmacist"),
        unit_id=world.bag_id,
        event_type="reversal",
        data=event(world.at(2.6), "ward 7", reverses=wrong.pk, reason="scanned the wrong bag"),
    )
    assert reversal.reverses_id == wrong.pk
    assert CustodyEvent.objects.filter(pk=wrong.pk).exists()
    assert unit_document(wrong.unit)["custody_status"] == "at_ward"
    audited = AuditEvent.objects.filter(model="product.custodyevent", object_pk=str(reversal.pk))
    assert audited.get().reason == "scanned the wrong bag"


def test_event_out_of_sequence_is_refused(world: World) -> None:
    """8.4 state machine: a bag at the ward cannot be harvested (409, nothing written)."""
    count = CustodyEvent.objects.count()
    with pytest.raises(ConflictError, match="cannot follow"):
        custody_event_record(
            actor=world.user("cell_lab"),
            unit_id=world.bag_id,
            event_type="harvested",
            data=event(world.at(2.5)),
        )
    assert CustodyEvent.objects.count() == count


def test_temperature_excursion_quarantines_and_blocks(world: World) -> None:
    """8.4, 8.6 check 6: storage at 11 °C (outside 2-8 °C) quarantines the bag."""
    custody_event_record(
        actor=world.user("pharmacist"),
        unit_id=world.bag_id,
        event_type="stored",
        data=event(world.at(2.2), "ward 7 fridge", temperature_c=Decimal("11.0")),
    )
    state = unit_document(CustodyEvent.objects.last().unit)  # type: ignore[union-attr]
    assert state["quarantined"]
    world.at(3)
    check = world.check()
    assert not check.allowed
    assert any("excursion" in f["reason"] for f in check.failures), check.failures


def test_manufacturing_events_are_the_cell_labs(world: World) -> None:
    """Permission matrix: a pharmacist records hand-offs, not manufacturing steps (403)."""
    with pytest.raises(ForbiddenError):
        custody_event_record(
            actor=world.user("pharmacist"),
            unit_id=world.lot_id,
            event_type="qc_sampled",
            data=event(world.at(2.5)),
        )
    with pytest.raises(ForbiddenError):
        unit_derive(actor=world.user("qa"), parent_id=world.lot_id)


def test_released_and_infused_only_through_their_services(world: World) -> None:
    """A ``released`` or ``infused`` event cannot be typed in: they come with their checks."""
    for kind in ("released", "infused", "collected"):
        with pytest.raises(InputError, match="is recorded by"):
            custody_event_record(
                actor=world.user("cell_lab"),
                unit_id=world.bag_id,
                event_type=kind,
                data=event(world.at(2.5)),
            )


def test_future_event_is_refused(world: World) -> None:
    """Events are recorded when they happen, not ahead of time."""
    now = world.at(2.5)
    with pytest.raises(InputError, match="future"):
        custody_event_record(
            actor=world.user("pharmacist"),
            unit_id=world.bag_id,
            event_type="stored",
            data=event(now + dt.timedelta(hours=1), "ward 7", temperature_c=Decimal("5")),
        )


def test_release_is_qas_e_signed_act(world_factory: Any) -> None:
    """8.2: only qa releases, re-authenticated; the cell lab (who manufactured) may not."""
    from ikctrial.web.product.services import lot_release

    from .conftest import PASSWORD

    world = world_factory(release=False)
    qa = world.user("qa")
    custody_event_record(
        actor=world.user("cell_lab"),
        unit_id=world.lot_id,
        event_type="qc_sampled",
        data=event(world.at(0.7)),
    )
    world.at(1)
    decision = lot_release(actor=qa, lot_id=world.lot_id, password=PASSWORD)
    assert decision.status.startswith("RELEASED")
    with pytest.raises(ForbiddenError):
        lot_release(actor=world.user("cell_lab"), lot_id=world.lot_id, password=PASSWORD)
    with pytest.raises(ForbiddenError, match="password"):
        lot_release(actor=qa, lot_id=world.lot_id, password="wrong")
