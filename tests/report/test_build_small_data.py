"""The report on data too small or too sparse to estimate from: it builds, every section is there,
and the section says what could not be estimated and why."""

from __future__ import annotations

import pandas as pd
import pytest
from lxml import html as lxml_html
from tests.report.adam_trial import CONTROL, IKC, AdamTrial, make_adam_trial, report_inputs
from tests.report.test_build import SECTION_IDS

from ikctrial.design.report import DesignReport
from ikctrial.report.build import TrialReport, build_report


@pytest.fixture(scope="module")
def small_trial() -> AdamTrial:
    """16 randomized patients: enough to estimate from, quick to draw."""
    return make_adam_trial(5, n_per_arm=8)


def _build(trial: AdamTrial, design: DesignReport) -> tuple[TrialReport, lxml_html.HtmlElement]:
    report = build_report(report_inputs(trial, design))
    page = lxml_html.document_fromstring(report.html)
    assert [s.get("id") for s in page.xpath("//body/section")] == SECTION_IDS
    return report, page


def _section(page: lxml_html.HtmlElement, section_id: str) -> str:
    return str(page.xpath(f'//section[@id="{section_id}"]')[0].text_content())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_randomized_patients(seed: int, design: DesignReport) -> None:
    trial = make_adam_trial(seed, n_per_arm=1)
    assert len(trial.adam["ADSL"]) == 2
    report, page = _build(trial, design)
    assert list(report.at_risk.index) == [IKC, CONTROL]
    hazard = report.pfs_hazard_ratio
    assert hazard is not None
    assert not hazard.estimable
    assert f"NE ({hazard.not_estimable})" in _section(page, "pfs")
    assert report.tace_rate_ratio is None
    assert report.tace_not_estimable
    assert "Repeat-TACE rate ratio: not estimable" in _section(page, "tace")


def test_no_events_in_one_arm(design: DesignReport) -> None:
    trial = make_adam_trial(3, n_per_arm=2, events_in_control=False)
    pfs = trial.adam["ADTTE"][trial.adam["ADTTE"]["PARAMCD"] == "PFS"]
    assert (pfs.loc[pfs["TRTP"] == IKC, "CNSR"] == 0).any()
    assert (pfs.loc[pfs["TRTP"] == CONTROL, "CNSR"] == 1).all()
    report, page = _build(trial, design)
    assert report.pfs_hazard_ratio is not None
    assert report.pfs_hazard_ratio.not_estimable == f"no events in {CONTROL}"
    assert f"NE (no events in {CONTROL})" in _section(page, "pfs")
    assert report.pfs_medians[CONTROL].events == 0
    assert "NE (no events in" in _section(page, "forest")


def test_no_immune_panel(design: DesignReport) -> None:
    report, page = _build(make_adam_trial(4, n_per_arm=2, immune=False), design)
    assert report.immune_differences.empty
    assert not report.immune_not_fitted
    assert "No immune-panel data" in _section(page, "immune")


def test_no_pfs_records_and_no_adtace(small_trial: AdamTrial, design: DesignReport) -> None:
    adam = dict(small_trial.adam)
    adam["ADTTE"] = adam["ADTTE"][adam["ADTTE"]["PARAMCD"] != "PFS"]
    del adam["ADTACE"]
    trial = AdamTrial(adam=adam, consort=small_trial.consort)
    report, page = _build(trial, design)
    assert report.at_risk.empty
    assert report.pfs_hazard_ratio is None
    assert "ADTTE has no PFS records" in _section(page, "pfs")
    assert "ADTACE: is not among the analysis datasets" in _section(page, "tace")
    assert "not estimable" in _section(page, "swimmer")


def test_adlb_without_the_visit_variables(small_trial: AdamTrial, design: DesignReport) -> None:
    adam = dict(small_trial.adam)
    adam["ADLB"] = adam["ADLB"].drop(columns=["PARCAT1", "ANL01FL"])
    report, page = _build(AdamTrial(adam=adam, consort=small_trial.consort), design)
    assert "ADLB.PARCAT1: missing column" in _section(page, "immune")
    assert report.immune_differences.empty


def test_strata_missing_for_a_patient_gives_the_unstratified_model(
    small_trial: AdamTrial, design: DesignReport
) -> None:
    adam = dict(small_trial.adam)
    adsl = adam["ADSL"].copy()
    adsl.loc[0, "STRCP"] = None
    adam["ADSL"] = adsl
    report, page = _build(AdamTrial(adam=adam, consort=small_trial.consort), design)
    assert report.pfs_stratified_by is None
    assert report.pfs_hazard_ratio is not None
    assert report.pfs_hazard_ratio.estimable
    text = _section(page, "pfs")
    assert "unstratified: Child-Pugh class as randomized is missing for some patients" in text
    assert report.tace_rate_ratio is not None
    assert report.tace_rate_ratio.covariates == ("STRBCLC",)


def test_every_arm_name_comes_from_the_study(small_trial: AdamTrial, design: DesignReport) -> None:
    adam = dict(small_trial.adam)
    adam["ADSL"] = pd.concat([adam["ADSL"], adam["ADSL"].iloc[[0]].assign(USUBJID="X-1")])
    adam["ADSL"].iloc[-1, adam["ADSL"].columns.get_loc("TRT01P")] = "Sorafenib"
    report, page = _build(AdamTrial(adam=adam, consort=small_trial.consort), design)
    assert "'Sorafenib' is not one of the arms" in _section(page, "baseline")
    assert list(report.pfs_medians) == [IKC, CONTROL]


def test_baseline_scans_only(small_trial: AdamTrial, design: DesignReport) -> None:
    """No post-baseline scan yet: both tumour-size sections say so for each criterion."""
    adam = dict(small_trial.adam)
    adam["ADTR"] = adam["ADTR"][adam["ADTR"]["ABLFL"] == "Y"]
    _, page = _build(AdamTrial(adam=adam, consort=small_trial.consort), design)
    waterfall, spider = _section(page, "waterfall"), _section(page, "spider")
    for title in ("RECIST 1.1", "mRECIST"):
        assert f"Waterfall plot ({title})" in waterfall
        assert f"Spider plot ({title})" in spider
    assert waterfall.count("no patient has a baseline and a post-baseline complete") == 2
    assert spider.count("no post-baseline complete assessment yet") == 2
