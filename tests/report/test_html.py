"""Self-contained HTML embedding of figures and tables."""

from __future__ import annotations

import base64
import re

import pandas as pd
from matplotlib.figure import Figure
from tests.report.synthetic_trial import png_size

from ikctrial.report.html import figure_png, figure_svg, inline_svg, png_img, table_html


def _figure() -> Figure:
    figure = Figure(figsize=(2, 1))
    figure.add_subplot().plot([0, 1], [1, 0])
    return figure


def test_png_img_is_a_data_uri_of_the_png() -> None:
    tag = png_img(_figure(), alt='KM "PFS" <curves>', dpi=50)
    match = re.fullmatch(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="(.*)">', tag)
    assert match is not None
    assert png_size(base64.b64decode(match.group(1))) == (100, 50)
    assert match.group(2) == "KM &quot;PFS&quot; &lt;curves&gt;"


def test_inline_svg_has_no_prologue_and_a_title() -> None:
    assert figure_svg(_figure()).lstrip().startswith("<?xml")
    svg = inline_svg(_figure(), title="Forest <plot>")
    assert svg.startswith("<svg ")
    assert 'role="img" aria-label="Forest &lt;plot&gt;"' in svg.split(">", 1)[0]
    assert "<title>Forest &lt;plot&gt;</title>" in svg
    assert "<!DOCTYPE" not in svg
    assert 'xlink:href="http' not in svg
    assert "<image" not in svg


def test_figure_png_is_deterministic_in_size() -> None:
    assert png_size(figure_png(_figure(), dpi=120)) == (240, 120)


def test_table_html_has_caption_and_escapes() -> None:
    html = table_html(pd.DataFrame({"arm": ["<IKC>"]}), caption="Table 1 & more")
    assert html.startswith(
        '<table class="dataframe report-table"><caption>Table 1 &amp; more</caption>'
    )
    assert "&lt;IKC&gt;" in html
