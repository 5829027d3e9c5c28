"""Chain-of-identity identifiers and the ISO/IEC 7064 MOD 37-2 check character (domain.md 8.3).

Published test vectors:
- UK Blood Transfusion Services "Guidelines for the Blood Transfusion Services in the UK" (Red
  Book), Annex 2 "ISBT 128 check character calculation" (JPAC,
  https://www.transfusionguidelines.org/red-book/annex-2-isbt-128-check-character-calculation):
  donation number G123 498 654 321, weighted sum 148354, 148354 mod 37 = 21, check value
  (38 - 21) mod 37 = 17, eye-readable check character "H".
- Unit tests of public ISO 7064 implementations: danieltwagner/iso7064
  (src/test/java/com/github/danieltwagner/iso7064/Mod37_2Test.java): G123489654321 -> "Y", and
  G123489654322Y invalid; konfirm/node-iso7064 (test/source/Instance/Mod37_2.ts):
  A999915000001 -> "M".
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ikctrial.errors import InputError
from ikctrial.product.identifiers import (
    CHECK_ALPHABET,
    DATA_ALPHABET,
    ChainOfIdentityId,
    UnitId,
    UnitKind,
    chain_of_identity_id,
    mod37_2_check_character,
    mod37_2_is_valid,
    parse_chain_of_identity_id,
    parse_unit_id,
)


@pytest.mark.parametrize(
    ("data", "check", "source"),
    [
        ("G123498654321", "H", "Red Book Annex 2, Table A2.2"),
        ("G123489654321", "Y", "danieltwagner/iso7064 Mod37_2Test"),
        ("A999915000001", "M", "konfirm/node-iso7064 Mod37_2 spec"),
    ],
)
def test_published_vectors(data: str, check: str, source: str) -> None:
    assert mod37_2_check_character(data) == check, source
    assert mod37_2_is_valid(data + check), source


def test_red_book_worked_steps() -> None:
    # Red Book Annex 2 steps 1-6: values x 2^n (n from the right, from 1), sum, mod 37, 38 - r.
    data = "G123498654321"
    weighted = sum(CHECK_ALPHABET.index(c) * 2 ** (len(data) - i) for i, c in enumerate(data))
    assert weighted == 148354
    assert weighted % 37 == 21
    assert CHECK_ALPHABET[(38 - 21) % 37] == "H" == mod37_2_check_character(data)


@pytest.mark.parametrize(
    "text",
    [
        "G123489654322Y",  # danieltwagner/iso7064: last data digit changed
        "G123498654321I",  # Red Book number with a wrong check character
        "G123498654321",  # check character missing ("1" is not the check of G12349865432)
        "H",
        "",
        "G12349865432-H",  # not a data character
        "G123498654321h",  # lower case is not in the ISO 7064 alphabet
    ],
)
def test_invalid_texts(text: str) -> None:
    assert not mod37_2_is_valid(text)


@pytest.mark.parametrize(
    ("data", "problem"),
    [("", "no characters"), ("G12*4", "'*' at position 4 is not one of 0-9, A-Z")],
)
def test_check_character_rejects_bad_data(data: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem.replace("*", r"\*")):
        mod37_2_check_character(data)


DATA = st.text(alphabet=DATA_ALPHABET, min_size=1, max_size=24)


@given(data=DATA)
def test_check_satisfies_the_iso_7064_congruence(data: str) -> None:
    # ISO 7064 pure system, radix 2, modulus 37: sum(a_i * 2^(i-1)) == 1 (mod 37), i from the
    # right with the check character at i = 1.
    text = data + mod37_2_check_character(data)
    total = sum(CHECK_ALPHABET.index(c) * 2**i for i, c in enumerate(reversed(text)))
    assert total % 37 == 1


@given(data=DATA)
def test_every_single_substitution_is_detected(data: str) -> None:
    text = data + mod37_2_check_character(data)
    for position, original in enumerate(text):
        alphabet = CHECK_ALPHABET if position == len(text) - 1 else DATA_ALPHABET
        for replacement in alphabet:
            if replacement != original:
                changed = text[:position] + replacement + text[position + 1 :]
                assert not mod37_2_is_valid(changed), changed


@given(data=DATA)
def test_every_adjacent_transposition_is_detected(data: str) -> None:
    text = data + mod37_2_check_character(data)
    for position in range(len(text) - 1):
        first, second = text[position], text[position + 1]
        if first != second:
            swapped = text[:position] + second + first + text[position + 2 :]
            assert not mod37_2_is_valid(swapped), swapped


def test_chain_of_identity_id_layout() -> None:
    # domain.md 8.3; ISBT 128 DIN layout: FIN (5) + year (2) + sequence (6) + check character.
    coi = chain_of_identity_id("G1234", 2026, 123)
    assert coi.data == "G123426000123"
    assert str(coi) == "G123426000123" + mod37_2_check_character("G123426000123")
    assert coi.label_text == f"G1234 26 000123 {coi.check}"
    assert parse_chain_of_identity_id(str(coi)) == coi
    assert parse_chain_of_identity_id(coi.label_text.lower()) == coi


def test_an_isbt_din_reads_as_a_coi() -> None:
    # The Red Book DIN G123 498 654 321 with its check character H uses the same layout.
    coi = parse_chain_of_identity_id("G1234 98 654321 H")
    assert (coi.facility, coi.year_yy, coi.sequence) == ("G1234", 98, 654321)


@pytest.mark.parametrize(
    ("facility", "year", "sequence", "field", "problem"),
    [
        ("O1234", 2026, 1, "facility", "not a facility code"),  # ISBT FIN never starts with O
        ("01234", 2026, 1, "facility", "not a facility code"),
        ("G123", 2026, 1, "facility", "not a facility code"),
        ("g1234", 2026, 1, "facility", "not a facility code"),
        ("GA234", 2026, 1, "facility", "not a facility code"),
        ("G1234", 1999, 1, "year", "2000..2099"),
        ("G1234", 2026, 0, "sequence", "not in 1..999999"),
        ("G1234", 2026, 1_000_000, "sequence", "not in 1..999999"),
    ],
)
def test_chain_of_identity_id_rejects_bad_parts(
    facility: str, year: int, sequence: int, field: str, problem: str
) -> None:
    with pytest.raises(InputError) as caught:
        chain_of_identity_id(facility, year, sequence)
    assert caught.value.field == field
    assert problem in caught.value.problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("G123426000123", "is not a chain-of-identity id"),
        ("G1234260001234L", "is not a chain-of-identity id"),
        ("O123426000123A", "is not a chain-of-identity id"),
        ("G1234-26-000123-L", "is not a chain-of-identity id"),
        ("G123426000000" + mod37_2_check_character("G123426000000"), "not in 1..999999"),
        ("G123498654321I", "check character does not match"),
    ],
)
def test_parse_chain_of_identity_id_errors(text: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_chain_of_identity_id(text, field="labels[0].coi_id")
    assert caught.value.field == "labels[0].coi_id"
    assert problem in caught.value.problem


COI = chain_of_identity_id("W0001", 2026, 42)


def test_derived_units_carry_the_coi() -> None:
    # domain.md 8.3 hierarchy: COI 1->n collections, collection 1->n lots, lot 1->n bags.
    collection = COI.unit(UnitKind.COLLECTION, 3)
    lot = collection.unit(UnitKind.LOT, 1)
    bag = lot.unit(UnitKind.BAG, 2)
    assert str(bag) == f"{COI}-C03L01B02-{mod37_2_check_character(COI.data + 'C03L01B02')}"
    assert (bag.kind, bag.number, bag.coi) == (UnitKind.BAG, 2, COI)
    assert bag.parent == lot
    assert lot.parent == collection
    assert collection.parent == COI
    for unit in (collection, lot, bag, COI.unit(UnitKind.LOT, 1), lot.unit(UnitKind.BAG, 99)):
        assert parse_unit_id(str(unit)) == unit
    culture = collection.unit(UnitKind.CULTURE, 1)
    assert parse_unit_id(str(culture.unit(UnitKind.LOT, 2))).parent == culture


@pytest.mark.parametrize(
    ("build", "problem"),
    [
        (lambda: COI.unit(UnitKind.BAG, 1).unit(UnitKind.LOT, 1), "does not follow"),
        (lambda: COI.unit(UnitKind.LOT, 1).unit(UnitKind.LOT, 2), "does not follow"),
        (lambda: COI.unit(UnitKind.LOT, 0), "not in 1..99"),
        (lambda: COI.unit(UnitKind.BAG, 100), "not in 1..99"),
        (lambda: UnitId(COI, ()), "at least one"),
    ],
)
def test_unit_path_rules(build: object, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        build()  # type: ignore[operator]


BAG = COI.unit(UnitKind.COLLECTION, 1).unit(UnitKind.LOT, 1).unit(UnitKind.BAG, 1)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (str(BAG)[:-2], "is not a unit id"),
        (str(BAG).replace("-C01", "C01"), "is not a unit id"),
        (str(COI), "is not a unit id"),
        (f"{COI}-X01-{mod37_2_check_character(COI.data + 'X01')}", "unit kind 'X'"),
        (f"{COI}-B01L01-{mod37_2_check_character(COI.data + 'B01L01')}", "does not follow"),
        (f"{COI}-L00-{mod37_2_check_character(COI.data + 'L00')}", "not in 1..99"),
        (str(BAG)[:-1] + ("A" if str(BAG)[-1] != "A" else "B"), "check character does not match"),
        (f"{COI.data}{'A' if COI.check != 'A' else 'B'}-C01-0", "check character does not match"),
    ],
)
def test_parse_unit_id_errors(text: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_unit_id(text, field="bag_id")
    assert caught.value.field == "bag_id"
    assert problem in caught.value.problem


COIS = st.builds(
    ChainOfIdentityId,
    facility=st.from_regex(r"[A-NP-Z1-9][0-9]{4}", fullmatch=True),
    year_yy=st.integers(0, 99),
    sequence=st.integers(1, 999_999),
)
PATHS = st.lists(st.sampled_from(list(UnitKind)), min_size=1, max_size=4, unique=True).flatmap(
    lambda kinds: st.tuples(
        *(
            st.tuples(st.just(kind), st.integers(1, 99))
            for kind in sorted(kinds, key=list(UnitKind).index)
        )
    )
)
UPPER = CHECK_ALPHABET + "-"


def _mutations(text: str) -> list[str]:
    """Every single-character substitution and every adjacent transposition of ``text``."""
    changed = [
        text[:i] + c + text[i + 1 :]
        for i, original in enumerate(text)
        for c in UPPER
        if c != original
    ]
    changed += [
        text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        for i in range(len(text) - 1)
        if text[i] != text[i + 1]
    ]
    return changed


@given(coi=COIS)
def test_coi_errors_are_detected(coi: ChainOfIdentityId) -> None:
    # domain.md 8.3 "Capture": a misread or mistyped id must never pass as another valid id.
    assert parse_chain_of_identity_id(str(coi)) == coi
    for text in _mutations(str(coi)):
        with pytest.raises(InputError):
            parse_chain_of_identity_id(text)


@settings(max_examples=40)  # each example tries every mutation (~1000 ids)
@given(coi=COIS, path=PATHS)
def test_unit_id_errors_are_detected(
    coi: ChainOfIdentityId, path: tuple[tuple[UnitKind, int], ...]
) -> None:
    unit = UnitId(coi, path)
    assert parse_unit_id(str(unit)) == unit
    for text in _mutations(str(unit)):
        with pytest.raises(InputError):
            parse_unit_id(text)
