"""The report as PDF: WeasyPrint lays the HTML out on A4 with page numbers, and poppler renders
every page to a non-empty image."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.report.synthetic_trial import png_size

from ikctrial.report.build import TrialReport
from ikctrial.report.pdf import report_pdf

A4_MM = (210.0, 297.0)
DPI = 30


@pytest.fixture(scope="module")
def pdf(trial_report: TrialReport) -> bytes:
    return report_pdf(trial_report.html)


def test_pages_render_to_non_empty_a4_images(pdf: bytes, tmp_path: Path) -> None:
    assert pdf.startswith(b"%PDF-")
    source = tmp_path / "report.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["/usr/bin/pdftoppm", "-png", "-r", str(DPI), str(source), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 10
    expected = tuple(round(mm / 25.4 * DPI) for mm in A4_MM)
    for page in pages:
        data = page.read_bytes()
        assert len(data) > 1000
        width, height = png_size(data)
        assert abs(width - expected[0]) <= 1
        assert abs(height - expected[1]) <= 1


def test_pages_are_numbered(pdf: bytes, tmp_path: Path) -> None:
    source = tmp_path / "report.pdf"
    source.write_bytes(pdf)
    text = subprocess.run(
        ["/usr/bin/pdftotext", "-layout", str(source), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    pages = text.split("\f")[:-1]
    assert len(pages) >= 10
    for number, content in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in content
    assert "Progression-free survival" in text
    assert "Data cut-off and audit trail" in text
