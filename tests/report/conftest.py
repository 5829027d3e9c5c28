"""The synthetic trial every report test draws from (see ``synthetic_trial``)."""

from __future__ import annotations

import pytest
from tests.report.synthetic_trial import Trial, make_trial


@pytest.fixture(scope="session")
def trial() -> Trial:
    """The synthetic trial of seed 20260115, 30 patients per arm."""
    return make_trial(20260115)
