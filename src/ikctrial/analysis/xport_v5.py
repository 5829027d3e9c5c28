"""The bytes of a SAS XPORT version 5 file (SAS technical note TS-140), written chunk by chunk.

A file is a sequence of 80-byte records: the library header, the member header, the descriptor
(dataset name and label), one 140-byte NAMESTR per variable, the OBS header, then the
observations back to back, the last record padded with blanks. Numbers are 8-byte IBM System/370
floating point (sign, base-16 exponent biased by 64, 56-bit fraction); an IEEE double converts
exactly (its 53-bit mantissa fits the 56-bit fraction) when its magnitude is within IBM range.
Missing numbers are ``.`` followed by seven zero bytes. Character values are blank padded.

This module only encodes: what may be written (names, labels, ASCII, lengths) is decided by
``analysis.xpt``, which gives a ``Layout`` and chunks of ready values.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

RECORD = 80
NAMESTR_LENGTH = 140
NUMERIC_WIDTH = 8
SAS_VERSION = "9.4"
OPERATING_SYSTEM = "PYTHON"
_MISSING = 0x2E << 56
_LIBRARY = "LIBRARY "
_MEMBER = "MEMBER  "
_DESCRIPTOR = "DSCRPTR "
_NAMESTR = "NAMESTR "
_OBS = "OBS     "
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


class IbmRangeError(ValueError):
    """A finite number whose magnitude is beyond what IBM floating point can hold."""

    def __init__(self, position: int, value: float) -> None:
        self.position = position
        self.value = value
        super().__init__(f"{value!r} is outside the IBM floating-point range of XPT")


@dataclass(frozen=True)
class Variable:
    """One variable as the NAMESTR record declares it."""

    name: str
    label: str
    numeric: bool
    width: int
    """Bytes per value: 8 for numbers, the declared length (1-200) for text."""
    format_name: str = ""
    format_width: int = 0
    format_decimals: int = 0


@dataclass(frozen=True)
class Layout:
    """A dataset's name, label and variables: everything the headers say."""

    name: str
    label: str
    variables: tuple[Variable, ...]

    @property
    def observation_width(self) -> int:
        """Bytes per observation (the sum of the variables' widths)."""
        return sum(v.width for v in self.variables)


def ibm_float(values: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """IEEE doubles as 8-byte big-endian IBM floats, one row of 8 bytes per value.

    NaN becomes SAS missing (``.``); zero is eight zero bytes. ``IbmRangeError`` names the first
    value too large (>= 16**63) or too small (< 16**-65, not zero) to be stored exactly.
    """
    numbers = np.asarray(values, dtype=np.float64).reshape(-1)
    missing = np.isnan(numbers)
    magnitude = np.where(missing, 0.0, np.abs(numbers))
    mantissa, exponent = np.frexp(magnitude)
    hexponent = -(-exponent // 4)
    shift = 4 * hexponent - exponent
    fraction = np.ldexp(mantissa, 56 - shift).astype(np.uint64)
    biased = hexponent + 64
    zero = magnitude == 0.0
    bad = ~zero & ((biased < 0) | (biased > 127) | np.isinf(magnitude))
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise IbmRangeError(position, float(numbers[position]))
    sign = np.where(numbers < 0, np.uint64(1) << np.uint64(63), np.uint64(0))
    words = sign | (np.clip(biased, 0, 127).astype(np.uint64) << np.uint64(56)) | fraction
    words = np.where(zero, np.uint64(0), words)
    words = np.where(missing, np.uint64(_MISSING), words)
    return words.astype(">u8").view(np.uint8).reshape(-1, NUMERIC_WIDTH)


def _sas_timestamp(moment: dt.datetime) -> str:
    """``ddMMMyy:hh:mm:ss`` as the headers carry it."""
    return (
        f"{moment.day:02d}{_MONTHS[moment.month - 1]}{moment.year % 100:02d}:"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def _text(value: str, width: int) -> bytes:
    """ASCII, blank padded to ``width``; longer is a bug of the caller, never truncated."""
    data = value.encode("ascii")
    if len(data) > width:
        raise ValueError(f"{value!r} does not fit in {width} bytes")
    return data.ljust(width, b" ")


def _header(kind: str, numbers: str = "0" * 30) -> bytes:
    return _text(f"HEADER RECORD*******{kind}HEADER RECORD!!!!!!!{numbers}", RECORD)


def _namestr(variable: Variable, number: int, position: int) -> bytes:
    return struct.pack(
        ">hhhh8s40s8shhh2s8shhi52s",
        1 if variable.numeric else 2,
        0,
        variable.width,
        number,
        _text(variable.name, 8),
        _text(variable.label, 40),
        _text(variable.format_name, 8),
        variable.format_width,
        variable.format_decimals,
        1 if variable.numeric else 0,
        b"\0\0",
        _text("", 8),
        0,
        0,
        position,
        b"\0" * 52,
    )


def _padded(data: bytes) -> bytes:
    return data + b" " * (-len(data) % RECORD)


def header_bytes(layout: Layout, created: dt.datetime) -> bytes:
    """Everything before the first observation: library, member, descriptor, NAMESTR and OBS
    headers."""
    stamp = _sas_timestamp(created)
    modified = _text(stamp, 16) + _text("", 64)
    library = (
        _text("SAS", 8)
        + _text("SAS", 8)
        + _text("SASLIB", 8)
        + _text(SAS_VERSION, 8)
        + _text(OPERATING_SYSTEM, 8)
        + _text("", 24)
        + _text(stamp, 16)
    )
    member = (
        _text("SAS", 8)
        + _text(layout.name, 8)
        + _text("SASDATA", 8)
        + _text(SAS_VERSION, 8)
        + _text(OPERATING_SYSTEM, 8)
        + _text("", 24)
        + _text(stamp, 16)
    )
    descriptor = _text(stamp, 16) + _text("", 16) + _text(layout.label, 40) + _text("", 8)
    namestrs = b""
    position = 0
    for number, variable in enumerate(layout.variables, start=1):
        namestrs += _namestr(variable, number, position)
        position += variable.width
    count = len(layout.variables)
    return b"".join(
        [
            _header(_LIBRARY),
            library,
            modified,
            _header(_MEMBER, f"{0:017d}160{0:08d}{NAMESTR_LENGTH:03d}"),
            _header(_DESCRIPTOR),
            member,
            descriptor,
            _header(_NAMESTR, f"{0:06d}{count:04d}{0:020d}"),
            _padded(namestrs),
            _header(_OBS),
        ]
    )


class ObservationWriter:
    """Writes a dataset's observations in chunks to an open binary file, then pads the end."""

    def __init__(self, out: BinaryIO, layout: Layout, created: dt.datetime) -> None:
        self.out = out
        self.layout = layout
        self.written = 0
        out.write(header_bytes(layout, created))

    def write(self, columns: Sequence[npt.NDArray[np.float64] | Sequence[str]]) -> None:
        """One chunk: per variable, float64 numbers (NaN missing) or ASCII strings that fit."""
        rows = len(columns[0]) if columns else 0
        if rows == 0:
            return
        block = np.empty((rows, self.layout.observation_width), dtype=np.uint8)
        position = 0
        for variable, values in zip(self.layout.variables, columns, strict=True):
            end = position + variable.width
            if variable.numeric:
                block[:, position:end] = ibm_float(np.asarray(values, dtype=np.float64))
            else:
                text = b"".join(_text(str(v), variable.width) for v in values)
                block[:, position:end] = np.frombuffer(text, dtype=np.uint8).reshape(
                    rows, variable.width
                )
            position = end
        data = block.tobytes()
        self.out.write(data)
        self.written += len(data)

    def finish(self) -> None:
        """Pad the last 80-byte record with blanks."""
        self.out.write(b" " * (-self.written % RECORD))
