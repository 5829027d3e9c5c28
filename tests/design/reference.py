"""The rpact reference values (tests/reference/design_reference.R -> design_reference.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REFERENCE: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "reference" / "design_reference.json").read_text()
)


def allocation_text(case: dict[str, Any]) -> str:
    """rpact's allocation pair as ikctrial's ``E:C`` string."""
    experimental, control = case["allocation"]
    return f"{int(experimental)}:{int(control)}"


def case_id(case: dict[str, Any]) -> str:
    """A readable pytest id for a reference case."""
    if "name" in case:
        return str(case["name"])
    keys = ("events", "hazard_ratio", "alpha", "sided", "power")
    return "-".join(f"{k}={case[k]}" for k in keys if k in case) + f"-{allocation_text(case)}"
