"""200 concurrent randomization requests on PostgreSQL (domain.md 9.4; interfaces.md randomize).

Requests go through the real API (``POST /api/v1/subjects/{id}/randomize``) from 20 threads, each
with its own database connection, against subjects screened and consented concurrently too.
Checked: every request answers 201; randomization numbers are exactly 1..200 (no duplicate, no
gap); in each stratum the allocations take the concealed slots in order, with no position skipped
or reused, every completed block is balanced 1:1 and the open block is off by at most half its
size; screening numbers are gapless per site; and the audit trail verifies.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from ikctrial.web.audit.services import verify_chain
from ikctrial.web.consent.services import consent_record
from ikctrial.web.randomization.models import AllocationSlot, Randomization
from ikctrial.web.randomization.services import randomization_generate
from ikctrial.web.subjects.models import Subject
from ikctrial.web.subjects.services import subject_screen

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
SUBJECTS = 200
THREADS = 20
OPERATOR = "concurrency-test"
# Changes to the EDC tests' eligible record (BCLC C, Child-Pugh A) that land in each stratum.
CHILD_PUGH_B = {
    "bilirubin": {"value": 2.5, "unit": "mg/dL"},
    "albumin": {"value": 3.0, "unit": "g/dL"},
}
STRATA_CHANGES: list[dict[str, Any]] = [
    {},
    {"ecog": 0},
    {"labs": CHILD_PUGH_B},
    {"ecog": 0, "labs": CHILD_PUGH_B},
]


def _in_threads(task: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """Run ``task`` over ``items`` from a thread pool; each thread closes its own connection.

    A short GIL switch interval keeps a thread that holds a row lock from waiting 5 ms for the
    interpreter after each statement (which would serialize the run behind the GIL, not the DB).
    """

    def run(item: Any) -> Any:
        try:
            return task(item)
        finally:
            connections.close_all()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            return list(pool.map(run, items))
    finally:
        sys.setswitchinterval(interval)


@pytest.fixture
def edc(request: pytest.FixtureRequest) -> Any:
    """The EDC tests' conftest module (its eligible screening record)."""
    path = Path(request.config.rootpath) / "tests" / "web" / "conftest.py"
    return request.config.pluginmanager.get_plugin(str(path))


def _record(edc: Any, index: int) -> dict[str, Any]:
    changes = STRATA_CHANGES[index % len(STRATA_CHANGES)]
    labs = {**edc.ELIGIBLE_RECORD["labs"], **changes.get("labs", {})}
    return edc.eligible_record(**{**changes, "labs": labs, "subject_ref": f"SCR-{index:03d}"})


def test_200_concurrent_randomizations_are_gapless_unique_and_balanced(
    edc: Any, trial: Any
) -> None:
    """0 duplicate numbers, 0 gaps, block balance per stratum, under 20-way concurrency."""
    randomization_generate(actor=OPERATOR, seed=97, size=SUBJECTS)
    sites = [edc.OWN_SITE, edc.OTHER_SITE]
    subjects = _in_threads(
        lambda i: subject_screen(actor=OPERATOR, site_code=sites[i % 2], record=_record(edc, i)).pk,
        list(range(SUBJECTS)),
    )
    _in_threads(
        lambda pk: consent_record(
            actor=OPERATOR,
            subject_id=pk,
            version="1.0",
            signed_on=dt.date(2026, 3, 1),
            signed_by="Dr. Lin",
        ),
        subjects,
    )
    client = trial.client("admin")
    statuses = _in_threads(
        lambda pk: client.post(f"/api/v1/subjects/{pk}/randomize").status_code, subjects
    )
    assert Counter(statuses) == {201: SUBJECTS}

    numbers = sorted(Randomization.objects.values_list("number", flat=True))
    assert numbers == list(range(1, SUBJECTS + 1))
    for site in sites:
        sequences = sorted(
            Subject.objects.filter(site__code=site).values_list("site_sequence", flat=True)
        )
        assert sequences == list(range(1, len(sequences) + 1))

    by_stratum: dict[int, list[Randomization]] = defaultdict(list)
    for made in Randomization.objects.select_related("slot"):
        by_stratum[made.stratum_id].append(made)
    assert len(by_stratum) == len(STRATA_CHANGES)
    for stratum_id, allocations in by_stratum.items():
        allocations.sort(key=lambda r: r.slot.position)
        assert [r.slot.position for r in allocations] == list(range(1, len(allocations) + 1))
        assert all(r.arm == r.slot.arm for r in allocations)
        _assert_blocks_balanced(stratum_id, allocations)
    assert verify_chain().ok


def _assert_blocks_balanced(stratum_id: int, allocations: list[Randomization]) -> None:
    """Complete blocks 1:1; the last, open block off by at most half its size."""
    arms = {slot.arm for slot in AllocationSlot.objects.filter(stratum_id=stratum_id)}
    blocks: dict[int, list[Randomization]] = defaultdict(list)
    for made in allocations:
        blocks[made.slot.block].append(made)
    last = max(blocks)
    for block, members in blocks.items():
        counts = Counter(r.arm for r in members)
        size = members[0].slot.block_size
        if block != last:
            assert len(members) == size
            assert all(counts[arm] == size // len(arms) for arm in arms), counts
        else:
            assert max(counts.values()) - min(counts.get(arm, 0) for arm in arms) <= size // 2
