"""Two nurses record the same bag at the same moment: one infusion (PostgreSQL, real threads).

Each nurse holds an allowed bedside check of the bag (made one after the other, before either
infusion); both then record the infusion at once from two threads with their own connections.
The bag row lock and the one-infusion-per-bag constraint leave exactly one infusion and one
``infused`` custody event; the other request is refused (409) and the audit chain verifies.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections

from ikctrial.web.audit.services import verify_chain
from ikctrial.web.errors import ConflictError
from ikctrial.web.product.models import CustodyEvent, Infusion

from .conftest import World

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_nurses_recording_one_bag_at_once_give_one_infusion(world: World) -> None:
    world.at(3)
    first = world.check(("pharmacist", "investigator"))
    second = world.check(("coordinator", "investigator"))
    assert first.allowed
    assert second.allowed
    barrier = threading.Barrier(2)

    def record(check_id: int) -> str:
        try:
            barrier.wait(timeout=30)
            world.infuse(check_id)
            return "infused"
        except ConflictError as error:
            return f"refused: {error}"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        outcomes: list[Any] = list(pool.map(record, [first.pk, second.pk]))
    assert sorted(o.split(":")[0] for o in outcomes) == ["infused", "refused"], outcomes
    assert Infusion.objects.count() == 1
    assert CustodyEvent.objects.filter(event_type="infused").count() == 1
    assert verify_chain().ok
