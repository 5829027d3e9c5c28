"""The trial report document: its sections, and that the numbers it prints are those of the
survival, rate and MMRM engines run on the same analysis datasets (computed here independently
of the report's own code path)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lxml import html as lxml_html
from tests.report.adam_trial import (
    CONTROL,
    CUTOFF_AT,
    IKC,
    ONE_ARM_MARKER,
    AdamTrial,
)

from ikctrial.design.report import DesignReport
from ikctrial.report.build import TrialReport
from ikctrial.report.figures.style import DAYS_PER_MONTH
from ikctrial.report.hazard_ratio import arm_hazard_ratio
from ikctrial.stats.kaplan_meier import KaplanMeier
from ikctrial.stats.logrank import logrank_test
from ikctrial.stats.mmrm import mmrm
from ikctrial.stats.rates import rate_ratio

SECTION_IDS = [
    "title",
    "consort",
    "baseline",
    "pfs",
    "forest",
    "waterfall",
    "spider",
    "swimmer",
    "tace",
    "immune",
    "safety",
    "exposure",
    "design",
    "cutoff",
]


@pytest.fixture(scope="module")
def report(trial_report: TrialReport) -> TrialReport:
    return trial_report


@pytest.fixture(scope="module")
def page(report: TrialReport) -> lxml_html.HtmlElement:
    return lxml_html.document_fromstring(report.html)


def _pfs(adam_trial: AdamTrial) -> pd.DataFrame:
    """PFS records with each patient's randomization stratum (BCLC x Child-Pugh as randomized)."""
    adtte = adam_trial.adam["ADTTE"]
    adsl = adam_trial.adam["ADSL"][["USUBJID", "STRBCLC", "STRCP"]]
    rows = adtte[adtte["PARAMCD"] == "PFS"].merge(adsl, on="USUBJID")
    return rows.assign(stratum=rows["STRBCLC"] + "|" + rows["STRCP"])


def _cell(page: lxml_html.HtmlElement, table: str, attribute: str) -> lxml_html.HtmlElement:
    (cell,) = page.xpath(f'//table[@id="{table}"]//td[@data-{attribute}]')
    return cell


def test_every_section_is_present_in_order_with_a_heading(
    report: TrialReport, page: lxml_html.HtmlElement
) -> None:
    sections = page.xpath("//body/section")
    assert [s.get("id") for s in sections] == SECTION_IDS
    assert [s for s, _ in report.sections] == SECTION_IDS
    for section, (_, title) in zip(sections, report.sections, strict=True):
        assert section.xpath("./h2")[0].text_content() == title
    assert page.xpath("//h1")[0].text_content().startswith("IVY02 (NCT03592706)")


def test_report_is_self_contained(page: lxml_html.HtmlElement) -> None:
    images = page.xpath("//img")
    assert len(images) >= 10
    assert all(img.get("src").startswith("data:image/png;base64,") for img in images)
    assert not page.xpath("//link | //script[@src] | //iframe | //object")


def test_at_risk_table_is_the_engines_number_at_risk(
    report: TrialReport, page: lxml_html.HtmlElement, adam_trial: AdamTrial
) -> None:
    fit = KaplanMeier().fit(_pfs(adam_trial), time="AVAL", censor="CNSR", group="TRTP")
    curves = {curve.group: curve for curve in fit.curves_}
    cells = page.xpath('//table[@id="km-at-risk"]//td')
    assert len(cells) == report.at_risk.size >= 8
    for cell in cells:
        days = float(cell.get("data-time"))
        assert days == pytest.approx(float(cell.get("data-months")) * DAYS_PER_MONTH)
        expected = curves[cell.get("data-arm")].at_risk([days])[0]
        assert int(cell.text_content()) == expected
    assert report.at_risk.loc[IKC].iloc[0] == 30
    assert list(report.at_risk.index) == [IKC, CONTROL]


def test_median_pfs_is_the_kaplan_meier_median(
    report: TrialReport, page: lxml_html.HtmlElement, adam_trial: AdamTrial
) -> None:
    fit = KaplanMeier().fit(_pfs(adam_trial), time="AVAL", censor="CNSR", group="TRTP")
    cells = page.xpath('//table[@id="pfs-medians"]//td[@data-median]')
    by_arm = {cell.getparent()[0].text_content(): cell for cell in cells}
    assert sorted(by_arm) == sorted([IKC, CONTROL])
    for curve in fit.curves_:
        median, lower, upper = (v / DAYS_PER_MONTH for v in curve.median)
        assert float(by_arm[curve.group].get("data-median")) == pytest.approx(median, rel=1e-12)
        shown = report.pfs_medians[str(curve.group)]
        assert (shown.median, shown.lower) == pytest.approx((median, lower), rel=1e-12)
        assert np.isnan(upper) == np.isnan(shown.upper)


def test_hazard_ratio_is_the_stratified_cox_model(
    report: TrialReport, page: lxml_html.HtmlElement, adam_trial: AdamTrial
) -> None:
    expected = arm_hazard_ratio(
        _pfs(adam_trial), arm="TRTP", experimental=IKC, reference=CONTROL, strata="stratum"
    )
    assert expected.estimable
    cell = _cell(page, "pfs-effect", "hr")
    assert cell.text_content() == (
        f"{expected.hazard_ratio:.2f} ({expected.lower:.2f}–{expected.upper:.2f})"
    )
    for attribute, value in (
        ("hr", expected.hazard_ratio),
        ("lower", expected.lower),
        ("upper", expected.upper),
    ):
        assert float(cell.get(f"data-{attribute}")) == pytest.approx(value, rel=1e-12)
    label = cell.getparent()[0].text_content()
    assert "Efron" in label
    assert "BCLC stage × Child-Pugh class" in label
    unstratified = arm_hazard_ratio(
        _pfs(adam_trial), arm="TRTP", experimental=IKC, reference=CONTROL
    )
    assert unstratified.hazard_ratio != pytest.approx(expected.hazard_ratio, rel=1e-6)
    assert report.pfs_stratified_by == "BCLC stage × Child-Pugh class"


def test_log_rank_p_is_stratified_and_labelled_nominal(
    report: TrialReport, page: lxml_html.HtmlElement, adam_trial: AdamTrial
) -> None:
    expected = logrank_test(
        _pfs(adam_trial), time="AVAL", group="TRTP", censor="CNSR", strata="stratum"
    )
    cell = _cell(page, "pfs-effect", "p")
    assert float(cell.get("data-p")) == pytest.approx(expected.p, rel=1e-12)
    assert "nominal" in cell.getparent()[0].text_content()
    assert "nominal" in page.xpath('//section[@id="pfs"]')[0].text_content()
    assert report.pfs_logrank is not None
    assert report.pfs_logrank.stratified


def test_tace_rate_ratio_is_the_negative_binomial_engine(
    report: TrialReport, page: lxml_html.HtmlElement, adam_trial: AdamTrial
) -> None:
    adsl = adam_trial.adam["ADSL"][["USUBJID", "STRBCLC", "STRCP"]]
    rows = adam_trial.adam["ADTACE"].merge(adsl, on="USUBJID")
    rows["group"] = pd.Categorical(rows["TRTP"], categories=[CONTROL, IKC])
    expected = rate_ratio(
        rows,
        count="AVAL",
        exposure="FUPYR",
        group="group",
        covariates=["STRBCLC", "STRCP"],
        model="negbin",
    )
    assert (expected.reference, expected.compared) == (CONTROL, IKC)
    cell = _cell(page, "tace-rate-ratio", "rr")
    assert float(cell.get("data-rr")) == pytest.approx(expected.rate_ratio, rel=1e-12)
    assert float(cell.get("data-lower")) == pytest.approx(expected.ci[0], rel=1e-12)
    assert float(cell.get("data-upper")) == pytest.approx(expected.ci[1], rel=1e-12)
    assert cell.text_content() == (
        f"{expected.rate_ratio:.2f} ({expected.ci[0]:.2f}–{expected.ci[1]:.2f})"
    )
    rates = page.xpath('//table[@id="tace-rates"]//td[@data-rate]')
    shown = {c.getparent()[0].text_content(): float(c.get("data-rate")) for c in rates}
    assert shown == pytest.approx(expected.rates, rel=1e-12)
    assert report.tace_rate_ratio is not None
    assert report.tace_rate_ratio.covariates == ("STRBCLC", "STRCP")


def test_immune_markers_are_modelled_from_the_analysis_records(
    report: TrialReport, page: lxml_html.HtmlElement, adam_trial: AdamTrial
) -> None:
    adlb = adam_trial.adam["ADLB"]
    rows = adlb[
        (adlb["PARCAT1"] == "IMMUNE PANEL")
        & (adlb["ANL01FL"] == "Y")
        & (adlb["AVISIT"] != "BASELINE")
        & (adlb["PARAMCD"] == "CD8A")
    ]
    rows = rows.assign(
        arm=pd.Categorical(rows["TRTP"], categories=[CONTROL, IKC]),
        y=np.log(rows["AVAL"]) - np.log(rows["BASE"]),
        base=np.log(rows["BASE"]),
    )
    fit = mmrm(rows, subject="USUBJID", visit="AVISIT", response="y", arm="arm", baseline="base")
    shown = report.immune_differences.set_index(["paramcd", "visit"])
    for visit in fit.visits:
        row = shown.loc[("CD8A", str(visit.visit))]
        assert row["scale"] == "ratio"
        assert row["estimate"] == pytest.approx(np.exp(visit.difference), rel=1e-9)
        assert (row["lower"], row["upper"]) == pytest.approx(np.exp(visit.ci), rel=1e-9)
    cells = page.xpath('//table[@id="immune-differences"]//td[@data-marker="CD8A"]')
    assert len(cells) == len(fit.visits) == 5
    percentages = report.immune_differences[report.immune_differences["paramcd"] == "CD3P"]
    assert set(percentages["scale"]) == {"difference"}


def test_a_marker_that_cannot_be_fitted_is_listed_with_the_reason(
    report: TrialReport, page: lxml_html.HtmlElement
) -> None:
    (marker,) = report.immune_not_fitted
    assert ONE_ARM_MARKER in marker
    assert "2 levels" in report.immune_not_fitted[marker]
    listed = page.xpath('//table[@id="immune-not-fitted"]//tbody/tr')
    assert [row[0].text_content() for row in listed] == [marker]
    assert ONE_ARM_MARKER not in set(report.immune_differences["paramcd"])


def test_audit_verdict_and_every_key_are_shown(
    report: TrialReport, page: lxml_html.HtmlElement
) -> None:
    section = page.xpath('//section[@id="cutoff"]')[0]
    text = section.text_content()
    assert "Broken at event 377" in text
    assert "812 events checked" in text
    assert CUTOFF_AT.isoformat() in text
    keys = [row[0].text_content() for row in section.xpath('.//table[@id="audit-verdict"]//tr')]
    assert keys == ["ok", "events", "first_bad_event", "chains"]
    assert report.audit_verdict == "Broken at event 377"


def test_design_section_shows_the_design_report(
    page: lxml_html.HtmlElement, design: DesignReport
) -> None:
    section = page.xpath('//section[@id="design"]')[0]
    rows = section.xpath('.//table[@id="design-table"]/tbody/tr')
    assert [r[0].text_content() for r in rows] == [f"{hr:.2f}" for hr in design.table.hazard_ratio]
    detectable = design.detectable_hazard_ratio[0.8]
    assert detectable is not None
    assert f"hazard ratio of {detectable:.2f} or smaller" in section.text_content()
    assert "p-values are labelled nominal" in section.text_content()


def test_summary_lines_name_the_key_results(report: TrialReport) -> None:
    lines = report.summary_lines()
    assert any(line.startswith(f"PFS {IKC}: median") for line in lines)
    assert any(line.startswith("PFS HR") for line in lines)
    assert any(line.startswith("Repeat-TACE rate ratio") for line in lines)
    assert lines[-1] == "Audit chain: Broken at event 377"
