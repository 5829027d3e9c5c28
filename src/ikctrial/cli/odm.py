"""``ikctrial odm import-metadata FILE [--metadata-version OID] [--json]``: another system's ODM.

Reads the MetaDataVersion of a CDISC ODM 1.3.x document (``analysis.odm.read_metadata``: every
reference must resolve) and prints what it defines: study events, forms, item groups, items and
codelists. Nothing is stored. A malformed file exits 2 with one line naming the file, the element
and the problem.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer
from rich.table import Table

from ikctrial.cli.common import emit_json, fail_input, stdout
from ikctrial.errors import InputError

app = typer.Typer()


def _oids(refs: tuple[object, ...]) -> str:
    return ", ".join(str(getattr(ref, "oid", "")) for ref in refs)


@app.command("import-metadata")
def import_metadata(
    file: Path = typer.Argument(..., help="An ODM 1.3.x XML document with a MetaDataVersion."),
    metadata_version: str | None = typer.Option(
        None, "--metadata-version", help="OID of the MetaDataVersion to read (default: the first)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Import ODM study metadata: print its study events, forms, item groups, items, codelists."""
    from ikctrial.analysis.odm import read_metadata

    if not file.is_file():
        fail_input(InputError("", "file not found", source=str(file)))
    try:
        metadata = read_metadata(file, metadata_version_oid=metadata_version)
    except InputError as error:
        fail_input(error if error.source else error.with_source(str(file)))
    if as_json:
        emit_json(dataclasses.asdict(metadata))
        return
    stdout.print(
        f"Study {metadata.study_oid} ({metadata.study_name or 'no name'}), "
        f"MetaDataVersion {metadata.metadata_version_oid} ({metadata.name}): "
        f"{len(metadata.forms)} forms, {len(metadata.item_groups)} item groups, "
        f"{len(metadata.items)} items, {len(metadata.codelists)} codelists"
    )
    forms = Table(title="Forms")
    for column in ("OID", "name", "repeating", "item groups"):
        forms.add_column(column)
    for form in metadata.forms:
        forms.add_row(form.oid, form.name, str(form.repeating), _oids(form.item_groups))
    stdout.print(forms)
    groups = Table(title="Item groups")
    for column in ("OID", "name", "repeating", "domain", "items"):
        groups.add_column(column)
    for group in metadata.item_groups:
        groups.add_row(
            group.oid, group.name, str(group.repeating), group.domain or "", _oids(group.items)
        )
    stdout.print(groups)
    items = Table(title="Items")
    for column in ("OID", "name", "data type", "length", "codelist"):
        items.add_column(column)
    for item in metadata.items:
        length = "" if item.length is None else str(item.length)
        items.add_row(item.oid, item.name, item.data_type, length, item.codelist_oid or "")
    stdout.print(items)
