"""The trial report of a demo run, opened in Debian's Chromium (Playwright), and its PDF.

``ikctrial demo`` runs a small trial into a fresh SQLite database and writes the report and the
exports; the test opens ``report.html`` from disk (it must need nothing beside itself), checks every
section and its figures, and compares the numbers at risk shown under the Kaplan-Meier plot with
the survival engine run on the ADaM ADTTE export of the same run. The PDF must render to non-empty
pages with poppler's ``pdftoppm``. A screenshot of the report's first screen goes to
``docs/screenshots/report.png`` for the README.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyreadstat
import pytest
from matplotlib.image import imread
from playwright.sync_api import Browser, expect
from tests.browser.test_site_flow import SCREENSHOTS, browser
from tests.report.test_build import SECTION_IDS

from ikctrial.stats.kaplan_meier import survival_curve

__all__ = ["browser"]

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SUBJECTS = 16
SEED = 20180719
SECTIONS = tuple(section for section in SECTION_IDS if section != "title")  # title: the h1
FIGURES = ("consort", "pfs", "forest", "waterfall", "spider", "swimmer")


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The OUT folder of one demo run on its own SQLite database."""
    out = tmp_path_factory.mktemp("demo")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"IKCTRIAL_DATABASE_URL", "IKCTRIAL_PROTOCOL"}
    }
    command = [sys.executable, "-c", "from ikctrial.cli.main import run; run()", "demo"]
    command += ["--subjects", str(SUBJECTS), "--seed", str(SEED), "--out", str(out)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    return out


def test_report_shows_every_section_and_the_engine_numbers_at_risk(
    browser: Browser, demo_out: Path
) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto((demo_out / "report.html").as_uri())
    expect(page.locator("h1")).to_contain_text("NCT03592706")
    ids = page.locator("section[id]").evaluate_all("nodes => nodes.map(n => n.id)")
    assert [i for i in ids if i in SECTIONS] == list(SECTIONS)
    for section in SECTIONS:
        expect(page.locator(f"section#{section} h2").first).to_be_visible()
    for section in FIGURES:
        figures = page.locator(f"section#{section} img, section#{section} svg")
        assert figures.count() >= 1, section
    assert page.locator("section#waterfall img, section#waterfall svg").count() >= 2
    page.screenshot(path=str(SCREENSHOTS / "report.png"))

    cells = page.locator("#km-at-risk [data-arm][data-time]").evaluate_all(
        "nodes => nodes.map(n => [n.dataset.arm, Number(n.dataset.time), n.textContent.trim()])"
    )
    assert cells
    adtte, _ = pyreadstat.read_xport(str(demo_out / "exports" / "adam" / "adtte.xpt"))
    pfs = adtte[adtte["PARAMCD"] == "PFS"]
    arms = {arm for arm, _, _ in cells}
    assert arms == set(pfs["TRTP"])
    for arm in arms:
        rows = pfs[pfs["TRTP"] == arm]
        curve = survival_curve(
            rows["AVAL"].to_numpy(dtype=float), rows["CNSR"].to_numpy() == 0, group=arm
        )
        days = [day for a, day, _ in cells if a == arm]
        shown = [int(text) for a, _, text in cells if a == arm]
        assert shown == [int(n) for n in curve.at_risk(np.array(days, dtype=float))], arm


def test_report_pdf_renders_to_non_empty_pages(demo_out: Path, tmp_path: Path) -> None:
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", str(demo_out / "report.pdf"), str(tmp_path / "page")],
        check=True,
        timeout=300,
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 3
    for path in pages:
        pixels = imread(path)
        assert pixels.size > 0
        assert float(pixels[..., :3].std()) > 0.01, f"{path.name} is blank"
