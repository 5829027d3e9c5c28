"""Shared fixtures of the analysis tests: where the CDISC pilot files live."""

from __future__ import annotations

from pathlib import Path

import pytest

PILOT_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cdiscpilot01"


@pytest.fixture(scope="session")
def pilot_dir() -> Path:
    """The CDISC pilot folder; skipped only when the shared folder is absent (never in CI)."""
    if not PILOT_DIR.is_dir():
        pytest.skip("shared CDISC pilot data absent")
    return PILOT_DIR
