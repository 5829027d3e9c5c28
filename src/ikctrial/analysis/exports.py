"""The standard exports as files, from a stream of subject records: SDTM and ADaM (XPT v5 with
Define-XML), the ODM study metadata, and the FHIR R5 bundle written entry by entry.

The ODM clinical data are written by ``odm.write_clinical_data`` (the caller maps its records,
with their audit trail, to ``odm.SubjectRecord``). Each file is written all or nothing. FHIR
resources are validated one by one by ``fhir.resources`` and streamed, so the bundle of any
number of subjects is written in bounded memory. SDTM and ADaM are streamed too: two passes over
the subjects (``write_streamed``), the first checking every value against the XPT v5 limits and
sizing each variable, the second writing chunk by chunk with ``analysis.xport_v5``, so memory is
bounded by a chunk of records whatever the number of subjects.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ikctrial.analysis.adam.datasets import ADAM_BUILDERS, adam_column_labels, adam_frame
from ikctrial.analysis.adam.metadata import dataset_metadata
from ikctrial.analysis.context import AnalysisContext
from ikctrial.analysis.define_xml import xpt_file_name
from ikctrial.analysis.fhir import StudySubject, TumorSize, bundle_entries
from ikctrial.analysis.files import replaced_atomically
from ikctrial.analysis.records import TrialSubject, check_subject
from ikctrial.analysis.sdtm.domains import (
    DATASET_LABELS,
    SDTM_BUILDERS,
    column_labels,
    domain_frame,
)
from ikctrial.analysis.writers import write_define, write_trial_design
from ikctrial.analysis.xpt import XptLayout, XptPlan, xpt_writer
from ikctrial.errors import InputError
from ikctrial.protocol.model import Protocol

FHIR_FILE = "bundle.json"


CHUNK_ROWS = 5000
"""Records of one dataset framed, checked and written at a time (memory is bounded by it)."""

Record = dict[str, Any]


@dataclass(frozen=True)
class StreamedDataset:
    """A subject-level dataset as the streamed writer needs it: per-subject records and how a
    chunk of them becomes a typed frame (``columns``: the whole dataset's, in pass 2)."""

    name: str
    label: str
    file_name: str
    column_labels: Mapping[str, str]
    build: Callable[[TrialSubject, AnalysisContext], list[Record]]
    frame: Callable[[list[Record], Sequence[str] | None], pd.DataFrame]


def sdtm_streamed() -> list[StreamedDataset]:
    """The subject-level SDTM domains (fixed variables: every chunk has them all)."""
    return [
        StreamedDataset(
            domain,
            DATASET_LABELS[domain],
            f"{domain.lower()}.xpt",
            column_labels(domain),
            build,
            partial(_sdtm_frame, domain),
        )
        for domain, build in SDTM_BUILDERS.items()
    ]


def _sdtm_frame(domain: str, records: list[Record], _columns: Sequence[str] | None) -> pd.DataFrame:
    return domain_frame(domain, records)


def adam_streamed() -> list[StreamedDataset]:
    """The ADaM datasets, conformed to their metadata chunk by chunk."""
    return [
        StreamedDataset(
            name,
            dataset_metadata(name).label,
            xpt_file_name(dataset_metadata(name)),
            adam_column_labels(name),
            build,
            partial(adam_frame, name),
        )
        for name, build in ADAM_BUILDERS.items()
    ]


def _chunks(
    datasets: Sequence[StreamedDataset],
    subjects: Iterable[TrialSubject],
    ctx: AnalysisContext,
    chunk_rows: int,
    columns: Mapping[str, Sequence[str]] | None = None,
) -> Iterator[tuple[StreamedDataset, pd.DataFrame]]:
    """One pass over the subjects (each checked): each dataset's records framed every
    ``chunk_rows`` records; a dataset without any record gives one empty frame."""
    buffers: dict[str, list[Record]] = {d.name: [] for d in datasets}
    flushed: set[str] = set()

    def flush(dataset: StreamedDataset) -> tuple[StreamedDataset, pd.DataFrame]:
        records = buffers[dataset.name]
        buffers[dataset.name] = []
        flushed.add(dataset.name)
        wanted = None if columns is None else columns[dataset.name]
        return dataset, dataset.frame(records, wanted)

    for subject in subjects:
        check_subject(subject)
        for dataset in datasets:
            buffers[dataset.name].extend(dataset.build(subject, ctx))
            if len(buffers[dataset.name]) >= chunk_rows:
                yield flush(dataset)
    for dataset in datasets:
        if buffers[dataset.name] or dataset.name not in flushed:
            yield flush(dataset)


def write_streamed(
    datasets: Sequence[StreamedDataset],
    subjects: Iterable[TrialSubject],
    ctx: AnalysisContext,
    folder: Path,
    *,
    chunk_rows: int | None = None,
    created: dt.datetime | None = None,
) -> dict[str, XptLayout]:
    """Every dataset as an XPT v5 file in ``folder`` in two passes over ``subjects`` (a list or
    any re-iterable, never a one-shot iterator): pass 1 checks every value and sizes the
    variables, pass 2 writes chunk by chunk. Memory is bounded by ``chunk_rows`` records per
    dataset (default ``CHUNK_ROWS``); the files appear only when every one is written. The
    layouts written, by name."""
    if iter(subjects) is subjects:
        raise TypeError("subjects are read twice: give a list or a re-iterable, not an iterator")
    chunk_rows = chunk_rows or CHUNK_ROWS
    plans = {d.name: XptPlan(d.name, d.label, d.column_labels) for d in datasets}
    for dataset, chunk in _chunks(datasets, subjects, ctx, chunk_rows):
        plans[dataset.name].add(chunk)
    layouts = {name: plan.layout() for name, plan in plans.items()}
    columns = {name: layout.columns for name, layout in layouts.items()}
    with ExitStack() as stack:
        writers = {
            d.name: stack.enter_context(
                xpt_writer(folder / d.file_name, layouts[d.name], created=created)
            )
            for d in datasets
        }
        for dataset, chunk in _chunks(datasets, subjects, ctx, chunk_rows, columns):
            writers[dataset.name].write(chunk)
    return layouts


def write_sdtm(
    protocol: Protocol,
    subjects: Iterable[TrialSubject],
    ctx: AnalysisContext,
    folder: Path,
    *,
    chunk_rows: int | None = None,
) -> list[Path]:
    """Trial design (TS, TA, TE, TV, TI) and the subject-level domains as ``<domain>.xpt``,
    streamed (``subjects`` is read twice, see ``write_streamed``)."""
    datasets = sdtm_streamed()
    write_streamed(datasets, subjects, ctx, folder, chunk_rows=chunk_rows)  # checks all first
    return write_trial_design(protocol, folder) + [folder / d.file_name for d in datasets]


def write_adam_export(
    protocol: Protocol,
    subjects: Iterable[TrialSubject],
    ctx: AnalysisContext,
    folder: Path,
    *,
    created: dt.datetime,
    chunk_rows: int | None = None,
) -> list[Path]:
    """The ADaM datasets as XPT files, streamed (``subjects`` is read twice), and their
    Define-XML 2.1 (``define.xml``) stating the text lengths as written."""
    datasets = adam_streamed()
    layouts = write_streamed(
        datasets, subjects, ctx, folder, chunk_rows=chunk_rows, created=created
    )
    define = write_define(
        protocol,
        list(layouts),
        folder / "define.xml",
        created=created,
        lengths={name: layout.text_lengths for name, layout in layouts.items()},
    )
    return [*(folder / d.file_name for d in datasets), define]


def fhir_subject(subject: TrialSubject, actual_arm: str | None) -> StudySubject:
    """What the FHIR bundle shows of a subject: pseudonymous key, birth year, sex, arms, dates."""
    if subject.birth_date is None:
        raise InputError(subject.where("birth_date"), "missing: the Patient needs a birth year")
    sex: Literal["M", "F", "U"] = "M" if subject.sex == "M" else "F" if subject.sex == "F" else "U"
    return StudySubject(
        subject_key=subject.subject_key,
        birth_year=subject.birth_date.year,
        sex=sex,
        assigned_arm=subject.arm or "",
        actual_arm=actual_arm,
        consent_date=subject.consent_date,
        randomization_date=subject.randomization_date,
        off_study_date=subject.exit.exit_date if subject.exit else None,
    )


def tumor_sizes(subject: TrialSubject) -> Iterator[TumorSize]:
    """Each measured target lesion's diameter (RECIST 1.1) at each assessment."""
    for assessment in subject.assessments:
        for lesion in assessment.lesions:
            if lesion.role == "TARGET" and lesion.diameter_mm is not None:
                yield TumorSize(
                    subject.subject_key, lesion.id, assessment.assessed_on, lesion.diameter_mm
                )


def write_fhir_bundle(
    protocol: Protocol,
    subjects: Iterable[StudySubject],
    sizes: Iterable[TumorSize],
    path: Path,
    *,
    timestamp: dt.datetime,
) -> int:
    """Stream the R5 collection Bundle to ``path``, one validated entry at a time; the count of
    entries. ``sizes`` is read after ``subjects`` (each must belong to a subject given)."""
    if timestamp.tzinfo is None:
        raise InputError("timestamp", "has no time zone")
    head = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timestamp.isoformat(),
        "identifier": {
            "system": "urn:ikctrial:bundle",
            "value": f"{protocol.sponsor_study_id}/{timestamp.isoformat()}",
        },
    }
    count = 0
    with replaced_atomically(path) as temporary, temporary.open("w", encoding="utf-8") as out:
        out.write(json.dumps(head)[:-1] + ', "entry": [')
        for url, resource in bundle_entries(protocol, subjects, sizes, as_of=timestamp.date()):
            if count:
                out.write(",")
            out.write(
                f'\n{{"fullUrl": {json.dumps(url)}, "resource": {resource.model_dump_json()}}}'
            )
            count += 1
        out.write("\n]}\n")
    return count
