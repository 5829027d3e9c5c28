"""Compact builders of the interfaces.md input document for the response tests.

Scans are placed by elapsed days from a fixed baseline date, so a test reads like the worked
examples of domain.md (``(56, 35.0)`` = day 56, sum 35.0 mm).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

BASELINE_DATE = dt.date(2026, 1, 5)


def day(elapsed: int) -> str:
    """ISO date ``elapsed`` days after the baseline scan."""
    return (BASELINE_DATE + dt.timedelta(days=elapsed)).isoformat()


def target(
    lesion_id: str, mm: float | None, *, organ: str = "liver", nodal: bool = False, **extra: Any
) -> dict[str, Any]:
    """A target-lesion entry (``mm`` None = not evaluated)."""
    return {"id": lesion_id, "organ": organ, "nodal": nodal, "diameter_mm": mm, **extra}


def non_target(
    lesion_id: str, status: str = "present", *, organ: str = "portal vein", **extra: Any
) -> dict[str, Any]:
    """A non-target-lesion entry."""
    return {"id": lesion_id, "organ": organ, "status": status, **extra}


def scan(
    elapsed: int,
    targets: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    non_targets: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    new_lesions: str = "none",
) -> dict[str, Any]:
    """One assessment ``elapsed`` days after baseline."""
    return {
        "date": day(elapsed),
        "target": list(targets),
        "non_target": list(non_targets),
        "new_lesions": new_lesions,
    }


def document(
    *scans: dict[str, Any], criteria: str = "RECIST1.1", **settings: Any
) -> dict[str, Any]:
    """The whole input document; ``settings`` are top-level keys such as ``min_sd_days``."""
    return {"criteria": criteria, **settings, "assessments": list(scans)}


def one_target_series(
    baseline_mm: float, *follow_ups: tuple[int, float | None], **settings: Any
) -> dict[str, Any]:
    """A patient with one liver target whose diameter is the sum of the worked example."""
    scans = [scan(0, [target("T1", baseline_mm)])]
    scans += [scan(elapsed, [target("T1", mm)]) for elapsed, mm in follow_ups]
    return document(*scans, **settings)
