"""Self-contained HTML pieces for the report: figures embedded as base64 PNG or inline SVG, tables
as plain HTML, so the report file needs nothing beside itself."""

from __future__ import annotations

import base64
import html
import io
import re

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

_SVG_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)


def figure_png(figure: Figure, *, dpi: float = 150.0) -> bytes:
    """The figure rendered to PNG bytes by the Agg canvas (width = inches x dpi)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_figure(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def figure_svg(figure: Figure) -> str:
    """The figure as an SVG document (text kept as paths, so it looks the same without fonts)."""
    buffer = io.StringIO()
    FigureCanvasSVG(figure).print_figure(buffer, format="svg")
    return buffer.getvalue()


def png_img(figure: Figure, *, alt: str, dpi: float = 150.0) -> str:
    """An ``<img>`` element holding the figure as a base64 PNG data URI."""
    encoded = base64.b64encode(figure_png(figure, dpi=dpi)).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'


def inline_svg(figure: Figure, *, title: str) -> str:
    """The figure as an inline ``<svg>`` element (no XML prologue), titled for screen readers."""
    svg = _SVG_PROLOGUE.sub("", figure_svg(figure), count=1)
    opening_end = svg.index(">") + 1
    label = html.escape(title)
    return (
        f'{svg[: opening_end - 1]} role="img" aria-label="{label}">'
        f"<title>{label}</title>{svg[opening_end:]}"
    )


def table_html(table: pd.DataFrame, *, caption: str) -> str:
    """A DataFrame as an HTML table with a caption (values escaped, index shown as row headers)."""
    body = table.to_html(escape=True, na_rep="", border=0, classes="report-table")
    return body.replace(">", f"><caption>{html.escape(caption)}</caption>", 1)
