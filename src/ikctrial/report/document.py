"""The HTML pieces every report section is written with: the section itself, paragraphs and notes,
figures with captions, key-value and data tables, and number formats, all escaped here so no
section builds markup from unescaped data.

Figures are embedded as base64 PNG (``report.html.png_img``): one self-contained file, and
WeasyPrint lays raster images out quickly and identically to a browser.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from ikctrial.report.html import png_img

FIGURE_DPI = 150.0
NE = "NE"


@dataclass(frozen=True)
class Section:
    """One ``<section>`` of the report: its id, its ``<h2>`` title, the HTML after the title and
    (for the title block) the HTML before it."""

    id: str
    title: str
    body: str
    lead: str = ""

    @property
    def html(self) -> str:
        """The section element."""
        return (
            f'<section id="{html.escape(self.id)}">{self.lead}'
            f"<h2>{html.escape(self.title)}</h2>\n{self.body}</section>\n"
        )


def escape(text: object) -> str:
    """Any value as HTML text."""
    return html.escape(str(text))


def paragraph(text: str, *, css_class: str | None = None) -> str:
    """A paragraph of plain (escaped) text."""
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<p{attribute}>{escape(text)}</p>\n"


def note(text: str) -> str:
    """A method or data note under a figure or table."""
    return paragraph(text, css_class="note")


def not_estimable(what: str, why: str) -> str:
    """The statement that ``what`` could not be produced, and why (never a silent omission)."""
    return paragraph(f"{what}: not estimable — {why}.", css_class="not-estimable")


def bullet_list(items: Iterable[str]) -> str:
    """An unordered list of plain-text items."""
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>\n"


def figure(plot: Figure, *, title: str, caption: str, notes: Sequence[str] = ()) -> str:
    """A ``<figure>``: the plot as an embedded PNG, its caption and notes."""
    image = png_img(plot, alt=title, dpi=FIGURE_DPI)
    extra = "".join(f'<span class="note">{escape(n)}</span>' for n in notes)
    return (
        f"<figure>{image}<figcaption><strong>{escape(title)}.</strong> "
        f"{escape(caption)}{extra}</figcaption></figure>\n"
    )


def key_value_table(rows: Mapping[str, object], *, table_id: str | None = None) -> str:
    """A two-column table of labels and values."""
    attribute = f' id="{escape(table_id)}"' if table_id else ""
    body = "".join(
        f'<tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in rows.items()
    )
    return f'<table class="report-table key-value"{attribute}><tbody>{body}</tbody></table>\n'


@dataclass(frozen=True)
class Cell:
    """A table cell: its text and ``data-*`` attributes (for a reader or test to check)."""

    text: str
    data: Mapping[str, str] | None = None
    header: bool = False

    @property
    def html(self) -> str:
        """The ``<td>`` (or row ``<th>``) element."""
        attributes = "".join(
            f' data-{escape(k)}="{escape(v)}"' for k, v in (self.data or {}).items()
        )
        if self.header:
            return f'<th scope="row"{attributes}>{escape(self.text)}</th>'
        return f"<td{attributes}>{escape(self.text)}</td>"


def data_table(
    header: Sequence[str],
    rows: Iterable[Sequence[Cell | str]],
    *,
    caption: str,
    table_id: str | None = None,
) -> str:
    """A table with a caption, a header row and body rows (strings become plain cells; the first
    cell of a row is its header)."""
    attribute = f' id="{escape(table_id)}"' if table_id else ""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    body = []
    for row in rows:
        cells = [c if isinstance(c, Cell) else Cell(c) for c in row]
        if cells and not cells[0].header:
            cells[0] = Cell(cells[0].text, cells[0].data, header=True)
        body.append("<tr>" + "".join(c.html for c in cells) + "</tr>")
    return (
        f'<table class="report-table"{attribute}><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>\n"
    )


def number(value: float | None, decimals: int = 2) -> str:
    """A number with fixed decimals; NE when missing or not finite."""
    if value is None or not np.isfinite(value):
        return NE
    return f"{value:.{decimals}f}"


def estimate_ci(estimate: float, lower: float, upper: float, decimals: int = 2) -> str:
    """ "0.62 (0.35–1.10)"; NE for any missing part."""
    return f"{number(estimate, decimals)} ({number(lower, decimals)}–{number(upper, decimals)})"


def machine(value: float | None) -> str:
    """A number as a ``data-*`` attribute holds it: full precision, empty when missing."""
    if value is None or not np.isfinite(value):
        return ""
    return repr(float(value))
