"""Chain-of-identity identifiers with ISO/IEC 7064 MOD 37-2 check characters (domain.md 8.3).

The chain-of-identity identifier (``COI_ID``) uses the layout of the ISBT 128 Donation
Identification Number: a 5-character facility identification number (FIN: one of A-N, P-Z, 1-9
followed by 4 digits), the 2-digit year and a 6-digit sequence, then the MOD 37-2 check character
that ISBT 128 prints beside the DIN (``G1234 26 000123 L`` on a label, ``G123426000123L`` in data).
Every derived unit (collection, culture, lot, bag) carries the CoI plus a path of its own
(``C01`` collection 1, ``C01L02`` lot 2 of it, ``C01L02B01`` bag 1 of that lot) and a check
character over the CoI data and the path: ``G123426000123L-C01L02B01-O``. A mistyped or misread
character, or two swapped neighbours, fails the check (ISO 7064 guarantees both for MOD 37-2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

from ikctrial.errors import InputError

# ISO 7064 MOD 37-2: data characters 0-9, A-Z (values 0-35); the check character may also be '*'.
CHECK_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
DATA_ALPHABET = CHECK_ALPHABET[:36]
MODULUS = 37
RADIX = 2

FACILITY = re.compile(r"[A-NP-Z1-9][0-9]{4}")
COI_TEXT = re.compile(r"([A-NP-Z1-9][0-9]{4})([0-9]{2})([0-9]{6})([0-9A-Z*])")
UNIT_TEXT = re.compile(r"([0-9A-Z]{13}[0-9A-Z*])-((?:[A-Z][0-9]{2})+)-([0-9A-Z*])")
SEGMENT = re.compile(r"([A-Z])([0-9]{2})")
MAX_SEQUENCE = 999_999
MAX_UNIT_NUMBER = 99


def mod37_2_check_character(data: str) -> str:
    """ISO/IEC 7064 MOD 37-2 check character of ``data`` (characters 0-9 and A-Z).

    Pure system with radix 2: the sum of each character's value times 2^n (n = its position
    from the right, starting at 1) plus the check value is 1 modulo 37.
    """
    if not data:
        raise InputError("", "no characters to check")
    total = 0
    for position, character in enumerate(data):
        value = DATA_ALPHABET.find(character)
        if value < 0:
            raise InputError("", f"{character!r} at position {position + 1} is not one of 0-9, A-Z")
        total = (total + value) * RADIX % MODULUS
    return CHECK_ALPHABET[(MODULUS + 1 - total) % MODULUS]


def mod37_2_is_valid(text: str) -> bool:
    """True when the last character of ``text`` is the MOD 37-2 check character of the rest."""
    if len(text) < 2 or text[-1] not in CHECK_ALPHABET:
        return False
    try:
        return mod37_2_check_character(text[:-1]) == text[-1]
    except InputError:
        return False


class UnitKind(StrEnum):
    """Kinds of unit under one CoI, in their order in the hierarchy (domain.md 8.3)."""

    COLLECTION = "C"
    CULTURE = "K"
    LOT = "L"
    BAG = "B"


UNIT_ORDER = list(UnitKind)


@dataclass(frozen=True, order=True)
class ChainOfIdentityId:
    """One patient therapy's chain-of-identity identifier (``COI_ID``)."""

    facility: str
    year_yy: int
    sequence: int

    def __post_init__(self) -> None:
        if not FACILITY.fullmatch(self.facility):
            raise InputError(
                "facility", f"{self.facility!r} is not a facility code (A-N, P-Z or 1-9, 4 digits)"
            )
        if not 0 <= self.year_yy <= 99:
            raise InputError("year", f"{self.year_yy} is not a 2-digit year")
        if not 1 <= self.sequence <= MAX_SEQUENCE:
            raise InputError("sequence", f"{self.sequence} is not in 1..{MAX_SEQUENCE}")

    @property
    def data(self) -> str:
        """The 13 data characters: facility, year, sequence."""
        return f"{self.facility}{self.year_yy:02d}{self.sequence:06d}"

    @property
    def check(self) -> str:
        """The MOD 37-2 check character of the data."""
        return mod37_2_check_character(self.data)

    def __str__(self) -> str:
        return self.data + self.check

    @property
    def label_text(self) -> str:
        """Eye-readable form for labels, grouped as ISBT 128 prints a DIN."""
        data = self.data
        return f"{data[:5]} {data[5:7]} {data[7:]} {self.check}"

    def unit(self, kind: UnitKind, number: int) -> UnitId:
        """The id of the ``number``-th unit of ``kind`` directly under this CoI."""
        return UnitId(self, ((kind, number),))


def chain_of_identity_id(facility: str, year: int, sequence: int) -> ChainOfIdentityId:
    """A new CoI for ``facility`` in calendar ``year`` (e.g. 2026) with the next ``sequence``."""
    if not 2000 <= year <= 2099:
        raise InputError("year", f"{year} is not a calendar year in 2000..2099")
    return ChainOfIdentityId(facility, year % 100, sequence)


@dataclass(frozen=True)
class UnitId:
    """A unit derived under a CoI: the CoI, the path of (kind, number) from it, and a check."""

    coi: ChainOfIdentityId
    path: tuple[tuple[UnitKind, int], ...]

    def __post_init__(self) -> None:
        if not self.path:
            raise InputError("path", "a unit needs at least one (kind, number) step")
        ranks = [UNIT_ORDER.index(kind) for kind, _ in self.path]
        if any(later <= earlier for earlier, later in pairwise(ranks)):
            order = " > ".join(k.name.lower() for k in UNIT_ORDER)
            raise InputError("path", f"{self.path_text} does not follow {order}")
        for kind, number in self.path:
            if not 1 <= number <= MAX_UNIT_NUMBER:
                raise InputError("path", f"{kind.name.lower()} {number} is not in 1..99")

    @property
    def path_text(self) -> str:
        return "".join(f"{kind.value}{number:02d}" for kind, number in self.path)

    @property
    def kind(self) -> UnitKind:
        return self.path[-1][0]

    @property
    def number(self) -> int:
        return self.path[-1][1]

    @property
    def parent(self) -> UnitId | ChainOfIdentityId:
        """The unit this one was derived from (the CoI itself for a top-level unit)."""
        return UnitId(self.coi, self.path[:-1]) if len(self.path) > 1 else self.coi

    @property
    def check(self) -> str:
        """MOD 37-2 check character over the CoI data and the path."""
        return mod37_2_check_character(self.coi.data + self.path_text)

    def unit(self, kind: UnitKind, number: int) -> UnitId:
        """The id of the ``number``-th unit of ``kind`` derived from this one."""
        return UnitId(self.coi, (*self.path, (kind, number)))

    def __str__(self) -> str:
        return f"{self.coi}-{self.path_text}-{self.check}"


def _normalized(text: str) -> str:
    """Upper case without the spaces of the eye-readable form."""
    return "".join(text.split()).upper()


def parse_chain_of_identity_id(text: str, *, field: str = "coi_id") -> ChainOfIdentityId:
    """Read a CoI as scanned or typed (spaces and lower case allowed); check its check character."""
    compact = _normalized(text)
    match = COI_TEXT.fullmatch(compact)
    if match is None:
        raise InputError(
            field, f"{text!r} is not a chain-of-identity id (FIN, 2-digit year, 6 digits, check)"
        )
    facility, year_yy, sequence, check = match.groups()
    try:
        coi = ChainOfIdentityId(facility, int(year_yy), int(sequence))
    except InputError as error:
        raise InputError(field, f"{text!r}: {error.problem}") from None
    if coi.check != check:
        raise InputError(field, f"{text!r}: check character does not match (mistyped or misread)")
    return coi


def parse_unit_id(text: str, *, field: str = "unit_id") -> UnitId:
    """Read a derived unit id (``COI-PATH-CHECK``); check both check characters and the path."""
    compact = _normalized(text)
    match = UNIT_TEXT.fullmatch(compact)
    if match is None:
        raise InputError(
            field, f"{text!r} is not a unit id (CoI-path-check, e.g. G123426000123L-C01L02B01-O)"
        )
    coi_text, path_text, check = match.groups()
    coi = parse_chain_of_identity_id(coi_text, field=field)
    steps: list[tuple[UnitKind, int]] = []
    for letter, number in SEGMENT.findall(path_text):
        try:
            steps.append((UnitKind(letter), int(number)))
        except ValueError:
            kinds = ", ".join(f"{k.value} ({k.name.lower()})" for k in UnitKind)
            raise InputError(
                field, f"{text!r}: unit kind {letter!r} is not one of {kinds}"
            ) from None
    try:
        unit = UnitId(coi, tuple(steps))
    except InputError as error:
        raise InputError(field, f"{text!r}: {error.problem}") from None
    if unit.check != check:
        raise InputError(field, f"{text!r}: check character does not match (mistyped or misread)")
    return unit
