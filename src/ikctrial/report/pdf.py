"""The trial report as PDF: the self-contained HTML of ``report.build`` laid out by WeasyPrint on A4
with page numbers (both set by the report's print CSS, ``@page``)."""

from __future__ import annotations

import weasyprint


def report_pdf(html: str) -> bytes:
    """PDF bytes of the report HTML; it embeds everything, so no base URL or network is used."""
    document = weasyprint.HTML(string=html, base_url=None)
    return bytes(document.write_pdf())
