"""Scenario grids: expand a base scenario over lists of values, simulate every cell, tidy table.

A grid spec (YAML in the command line) names a ``base`` scenario, the fields to ``vary`` (the
cartesian product of their lists), the ``trials`` per cell and a ``seed``. Cell ``i`` simulates with
its own seed drawn from ``SeedSequence(seed, spawn_key=(i,))``, so a row does not depend on where or
in what order it ran. Cells run inline or as tasks on a Dask distributed ``Client`` (a local cluster
or a remote scheduler), which is how a grid too large for one machine runs on many.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ikctrial.design.scenario import Scenario
from ikctrial.design.simulate import simulate_power
from ikctrial.errors import InputError, input_error_from_validation

if TYPE_CHECKING:
    from distributed import Client


class PlotSpec(BaseModel):
    """Which column goes on the x axis of the power curves, and which one separates curves."""

    model_config = ConfigDict(extra="forbid")

    x: str = "hazard_ratio"
    by: str | None = None


class GridSpec(BaseModel):
    """A grid of scenarios to simulate."""

    model_config = ConfigDict(extra="forbid")

    trials: int = Field(10_000, ge=1)
    seed: int = Field(0, ge=0)
    base: dict[str, Any]
    vary: dict[str, list[Any]] = Field(default_factory=dict)
    plot: PlotSpec = Field(default_factory=PlotSpec)

    @classmethod
    def parse(cls, values: object) -> GridSpec:
        """Validate a loaded YAML/JSON document; errors name the field (``vary.n``)."""
        try:
            spec = cls.model_validate(values)
        except ValidationError as exc:
            raise input_error_from_validation(exc) from None
        for name, values_ in spec.vary.items():
            if name not in Scenario.model_fields:
                raise InputError(f"vary.{name}", "unknown key")
            if not values_:
                raise InputError(f"vary.{name}", "needs at least one value")
        for axis in (spec.plot.x, spec.plot.by):
            if axis is not None and axis not in Scenario.model_fields:
                raise InputError("plot", f"{axis!r} is not a scenario field")
        return spec

    def scenarios(self) -> list[Scenario]:
        """Every cell, validated (a bad cell is an ``InputError`` naming its grid position)."""
        names = list(self.vary)
        cells = []
        for index, combination in enumerate(itertools.product(*self.vary.values())):
            values = {**self.base, **dict(zip(names, combination, strict=True))}
            try:
                scenario = Scenario.parse(values)
                scenario.trial_design()
            except InputError as exc:
                section = "vary" if exc.field in names else "base"
                raise InputError(
                    f"{section}.{exc.field}", f"{exc.problem} (cell {index})"
                ) from None
            cells.append(scenario)
        return cells

    def cell_seeds(self) -> list[int]:
        """One independent seed per cell."""
        cells = int(np.prod([len(v) for v in self.vary.values()], dtype=np.int64))
        return [
            int(np.random.SeedSequence(self.seed, spawn_key=(i,)).generate_state(1)[0])
            for i in range(cells)
        ]


def _scalar(value: Any) -> Any:
    if isinstance(value, list):
        return ",".join(f"{v:g}" for v in value)
    return value


def simulate_cell(scenario: Scenario, trials: int, seed: int) -> dict[str, Any]:
    """One tidy row: the scenario's inputs, then simulated and analytic operating figures."""
    started = time.perf_counter()
    result = simulate_power(scenario.trial_design(), trials=trials, seed=seed)
    return {
        **{name: _scalar(value) for name, value in scenario.model_dump().items()},
        "trials": trials,
        "seed": seed,
        "power": result.power,
        "mc_se": result.mc_se,
        "schoenfeld_power": scenario.schoenfeld_power(),
        "expected_events": result.mean_events,
        "expected_subjects": result.mean_subjects,
        "expected_study_months": result.mean_study_months,
        "median_study_months": result.median_study_months,
        "events_not_reached": result.events_not_reached,
        "seconds": time.perf_counter() - started,
    }


def run_grid(
    spec: GridSpec,
    *,
    client: Client | None = None,
    on_cell: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Simulate every cell (on ``client`` when given) and return one row per scenario, in grid
    order; ``on_cell(done)`` is called as cells finish."""
    scenarios, seeds = spec.scenarios(), spec.cell_seeds()
    rows: list[dict[str, Any]] = []
    if client is None:
        for done, (scenario, seed) in enumerate(zip(scenarios, seeds, strict=True), start=1):
            rows.append(simulate_cell(scenario, spec.trials, seed))
            if on_cell is not None:
                on_cell(done)
    else:
        from distributed import as_completed

        futures = client.map(
            simulate_cell, scenarios, [spec.trials] * len(scenarios), seeds, pure=False
        )
        finished = as_completed(futures)  # type: ignore[no-untyped-call]
        for done, _ in enumerate(finished, start=1):
            if on_cell is not None:
                on_cell(done)
        rows = client.gather(futures)  # type: ignore[no-untyped-call]
    table = pd.DataFrame(rows)
    table.insert(0, "scenario", range(len(table)))
    return table
