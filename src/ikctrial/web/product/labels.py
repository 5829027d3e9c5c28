"""Unit labels: a QR code of the unit id (segno) beside the eye-readable CoI, unit id and the two
patient identifiers (domain.md 8.3: human- and machine-readable on every bag and tube).

The label is drawn with matplotlib (its Agg and PDF back ends need no display), 90 x 50 mm, the
QR code's error correction level M, its quiet zone kept.
"""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
import segno
from matplotlib.figure import Figure

from ikctrial.product.identifiers import UnitKind
from ikctrial.web.product.models import ProductUnit
from ikctrial.web.product.selectors import therapy_coi

LabelFormat = Literal["png", "pdf"]
CONTENT_TYPES: dict[str, str] = {"png": "image/png", "pdf": "application/pdf"}
WIDTH_MM, HEIGHT_MM = 90, 50
MM_PER_INCH = 25.4
DPI = 300


def qr_matrix(text: str) -> np.ndarray:
    """The QR code of ``text`` as a 0/1 matrix (1 = dark module), quiet zone included."""
    code = segno.make_qr(text, error="m")
    return np.array([list(row) for row in code.matrix_iter(scale=1, border=4)], dtype=np.uint8)


def label_lines(unit: ProductUnit) -> list[str]:
    """The eye-readable lines of a unit's label."""
    therapy = unit.therapy
    lines = [
        f"COI {therapy_coi(therapy).label_text}",
        unit.unit_id,
        f"{UnitKind(unit.kind).name.title()} {unit.number}",
        therapy.patient_identifier_1,
        therapy.patient_identifier_2,
    ]
    if unit.infusion_number is not None:
        lines.append(f"Infusion {unit.infusion_number}")
    return lines


def unit_label(unit: ProductUnit, fmt: str) -> tuple[bytes, str]:
    """The label of ``unit`` as PNG or PDF bytes, with its content type."""
    figure = Figure(figsize=(WIDTH_MM / MM_PER_INCH, HEIGHT_MM / MM_PER_INCH), dpi=DPI)
    code = figure.add_axes((0.02, 0.05, 0.40, 0.9))
    code.imshow(1 - qr_matrix(unit.unit_id), cmap="gray", interpolation="nearest", vmin=0, vmax=1)
    code.set_axis_off()
    for index, line in enumerate(label_lines(unit)):
        weight = "bold" if index < 2 else "normal"
        figure.text(0.45, 0.88 - index * 0.15, line, fontsize=6, family="monospace", weight=weight)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=DPI)
    return buffer.getvalue(), CONTENT_TYPES[fmt]
