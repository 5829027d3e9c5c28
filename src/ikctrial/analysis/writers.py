"""File output of the standards layer, for the command line and services (the rest is pure).

Each function takes a target folder or path and writes all or nothing (``replaced_atomically``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from lxml import etree

from ikctrial.analysis.adam.metadata import conform, dataset_metadata
from ikctrial.analysis.define_xml import define_xml, text_lengths, xpt_file_name
from ikctrial.analysis.files import replaced_atomically
from ikctrial.analysis.odm import study_metadata, to_bytes
from ikctrial.analysis.sdtm.trial_design import (
    COLUMNS,
    DATASET_LABELS,
    LABELS,
    trial_design_datasets,
)
from ikctrial.analysis.xpt import write_xpt
from ikctrial.protocol.model import Protocol


def write_xml(root: etree._Element, path: str | Path) -> Path:
    """An XML document (UTF-8, declaration, indented) written all or nothing."""
    with replaced_atomically(path) as temporary:
        temporary.write_bytes(to_bytes(root))
    return Path(path)


def write_trial_design(protocol: Protocol, folder: str | Path) -> list[Path]:
    """ts.xpt, ta.xpt, te.xpt, tv.xpt and ti.xpt from the protocol, in ``folder``."""
    written = []
    for domain, frame in trial_design_datasets(protocol).items():
        target = Path(folder) / f"{domain.lower()}.xpt"
        write_xpt(
            frame,
            target,
            dataset_name=domain,
            dataset_label=DATASET_LABELS[domain],
            column_labels={c: LABELS[c] for c in COLUMNS[domain]},
        )
        written.append(target)
    return written


def write_adam(frames: dict[str, pd.DataFrame], folder: str | Path) -> list[Path]:
    """Each ADaM dataset conformed to its metadata and written as ``<name>.xpt`` in ``folder``."""
    written = []
    for name, frame in frames.items():
        meta = dataset_metadata(name)
        ready = conform(frame, name)
        target = Path(folder) / xpt_file_name(meta)
        write_xpt(
            ready,
            target,
            dataset_name=meta.name,
            dataset_label=meta.label,
            column_labels=ready.attrs["column_labels"],
        )
        written.append(target)
    return written


def write_define(
    protocol: Protocol,
    dataset_names: Sequence[str],
    path: str | Path,
    *,
    created: dt.datetime,
    frames: Mapping[str, pd.DataFrame] | None = None,
    lengths: Mapping[str, Mapping[str, int]] | None = None,
) -> Path:
    """define.xml (Define-XML 2.1) for the named ADaM datasets of this protocol's study.

    Given the ``frames`` written by ``write_adam`` (or the text ``lengths`` of a streamed
    write), text lengths are those of the XPT files.
    """
    root = define_xml(
        [dataset_metadata(name) for name in dataset_names],
        study_name=protocol.sponsor_study_id,
        study_description=protocol.title,
        protocol_name=protocol.nct_id,
        created=created,
        text_lengths={
            **{name: text_lengths(frame) for name, frame in (frames or {}).items()},
            **(lengths or {}),
        },
    )
    return write_xml(root, path)


def write_study_metadata(protocol: Protocol, path: str | Path, *, created: dt.datetime) -> Path:
    """The ODM 1.3.2 study metadata document of the protocol."""
    return write_xml(study_metadata(protocol, created=created), path)
