"""A full product life cycle through the services and the API; the audit chain verifies after it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from ikctrial.product.identifiers import parse_chain_of_identity_id, parse_unit_id
from ikctrial.web.audit.services import verify_chain
from ikctrial.web.product.models import CustodyEvent, Infusion

pytestmark = pytest.mark.django_db


def test_full_life_cycle_gives_one_infusion_and_a_verifying_audit_chain(world: Any) -> None:
    """Blood draw to infusion (domain.md 8.3-8.6): CoI valid, dose computed, chain intact."""
    release = world.extra["release"]
    assert release.status == "RELEASED_PENDING_FINAL_STERILITY", release.refusals
    assert release.expiry_at == world.harvest + dt.timedelta(hours=24)
    world.at(3)
    check = world.check()
    assert check.allowed, check.failures
    assert check.infusion_number == 1
    infusion = world.infuse(check.pk)
    assert infusion.cells_infused == Decimal("5000000000")
    bag = parse_unit_id(world.bag_id)
    assert parse_chain_of_identity_id(str(bag.coi)) == bag.coi
    assert Infusion.objects.count() == 1
    types = list(CustodyEvent.objects.values_list("event_type", flat=True))
    assert types[0] == "collected"
    assert types[-1] == "infused"
    assert verify_chain().ok
