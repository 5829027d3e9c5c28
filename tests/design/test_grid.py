"""Scenario grids: spec validation, inline vs Dask execution, the tidy table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from distributed import Client, LocalCluster

from ikctrial.design.grid import GridSpec, run_grid
from ikctrial.design.power_curve import power_curve_figure
from ikctrial.errors import InputError

BASE: dict[str, Any] = {
    "n": 60,
    "control_median_months": 7,
    "accrual_months": 24,
    "events": 45,
    "alpha": 0.025,
    "sided": 1,
}
SPEC: dict[str, Any] = {
    "trials": 1_000,
    "seed": 4,
    "base": BASE,
    "vary": {"hazard_ratio": [0.5, 0.7, 1.0], "n": [60, 80]},
    "plot": {"x": "hazard_ratio", "by": "n"},
}


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_inline_table_is_tidy_and_in_grid_order() -> None:
    table = run_grid(GridSpec.parse(SPEC))
    assert len(table) == 6
    assert list(table.hazard_ratio) == [0.5, 0.5, 0.7, 0.7, 1.0, 1.0]
    assert list(table.n) == [60, 80] * 3
    for column in (
        "power",
        "mc_se",
        "expected_events",
        "expected_study_months",
        "median_study_months",
        "schoenfeld_power",
        "trials",
        "seed",
    ):
        assert table[column].notna().all(), column
    assert (table.expected_events == 45).all()
    assert table.seed.nunique() == 6
    # power falls as the hazard ratio rises to 1 (type I error there)
    by_hr = table.groupby("hazard_ratio").power.mean()
    assert by_hr[0.5] > by_hr[0.7] > by_hr[1.0]


def test_dask_gives_the_same_rows_as_inline(dask_client: Client) -> None:
    spec = GridSpec.parse(SPEC)
    seen: list[int] = []
    on_dask = run_grid(spec, client=dask_client, on_cell=seen.append)
    inline = run_grid(spec)
    assert seen == list(range(1, 7))
    columns = [c for c in inline.columns if c != "seconds"]
    pd.testing.assert_frame_equal(on_dask[columns], inline[columns])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"vary": {"hazard_ratio": [0.5, -1.0]}}, "vary.hazard_ratio"),
        ({"vary": {"colour": [1]}}, "vary.colour"),
        ({"vary": {"n": []}}, "vary.n"),
        ({"base": {**BASE, "events": 100}}, "base.events"),
        ({"base": {**BASE, "alpha": 0.9}}, "base.alpha"),
        ({"base": {**BASE, "typo": 1}}, "base.typo"),
        ({"trials": 0}, "trials"),
        ({"extra": 1}, "extra"),
        ({"plot": {"x": "nonsense"}}, "plot"),
    ],
)
def test_bad_spec_names_the_field(change: dict[str, Any], field: str) -> None:
    spec = {**SPEC, "vary": {"hazard_ratio": [0.6]}, **change}
    with pytest.raises(InputError) as caught:
        GridSpec.parse(spec).scenarios()
    assert caught.value.field == field


def test_power_curve_has_one_line_per_group() -> None:
    table = run_grid(GridSpec.parse({**SPEC, "trials": 200}))
    figure = power_curve_figure(table, x="hazard_ratio", by="n")
    axes = figure.axes[0]
    labels = [t.get_text() for t in axes.get_legend().get_texts()]
    assert "n = 60" in labels
    assert "n = 80" in labels
    assert axes.get_xlabel() == "hazard ratio"
