"""The zh-Hant catalog: every page string translated, and the committed .mo matches the .po."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import ikctrial.web.pages

MESSAGES = Path(ikctrial.web.pages.__file__).parent / "locale" / "zh_Hant" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def po_entries() -> dict[str, str]:
    """msgid -> msgstr of django.po (header excluded), joining continued string lines."""
    entries: dict[str, str] = {}
    current: dict[str, list[str]] = {}
    key = ""
    for line in [*(MESSAGES / "django.po").read_text("utf-8").splitlines(), ""]:
        if line.startswith(("msgid ", "msgstr ")):
            key, _, literal = line.partition(" ")
            current[key] = [ast.literal_eval(literal)]
        elif line.startswith('"') and key:
            current[key].append(ast.literal_eval(line))
        elif not line.strip() and "msgstr" in current:
            msgid = "".join(current["msgid"])
            if msgid:
                entries[msgid] = "".join(current["msgstr"])
            current, key = {}, ""
    return entries


def test_every_string_translated_with_its_placeholders() -> None:
    """No empty msgstr, no fuzzy entry, and the %(name)s placeholders survive translation."""
    entries = po_entries()
    assert len(entries) > 150
    assert "#, fuzzy" not in (MESSAGES / "django.po").read_text("utf-8")
    for msgid, msgstr in entries.items():
        assert msgstr, msgid
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


def test_compiled_catalog_matches_the_po() -> None:
    """The committed django.mo was compiled from the committed django.po (not stale)."""
    with (MESSAGES / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    for msgid, msgstr in po_entries().items():
        assert catalog.gettext(msgid) == msgstr, msgid
