"""Define-XML 2.1 for ADaM datasets, generated from ``adam.metadata`` (domain.md 10.4).

The same metadata that conforms the datasets and labels the XPT files describes them here: one
``ItemGroupDef`` per dataset (with its ``def:leaf`` pointing at the XPT file), one ``ItemDef`` per
variable, one ``CodeList`` per codelist used, and one ``MethodDef`` per derivation, whose text cites
the rule section of domain.md. ADaM numeric dates are ``integer`` items with a ``DATE9.`` display
format. The document validates against the Define-XML 2.1 XSD (``ikctrial.analysis.xml_schema``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd
from lxml import etree

from ikctrial.analysis.adam.metadata import CODELISTS, Dataset, Variable
from ikctrial.analysis.odm import ODM_NS, XML_NS, odm_root
from ikctrial.errors import InputError

DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
ADAMIG_VERSION = "1.3"
_O = f"{{{ODM_NS}}}"
_D = f"{{{DEF_NS}}}"
_DATA_TYPES = {
    "text": "text",
    "integer": "integer",
    "float": "float",
    "date": "integer",
    "datetime": "integer",
}
_DISPLAY_FORMATS = {"date": "DATE9.", "datetime": "DATETIME20."}


def _sub(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, tag, attributes)


def _description(parent: etree._Element, text: str, tag: str = _O + "Description") -> None:
    holder = _sub(parent, tag)
    translated = _sub(holder, _O + "TranslatedText")
    translated.set(f"{{{XML_NS}}}lang", "en")
    translated.text = text


def text_lengths(df: pd.DataFrame) -> dict[str, int]:
    """Longest value (at least 1) of each text column, as the XPT writer declares it."""
    return {
        str(column): max((len(v) for v in df[column] if isinstance(v, str)), default=1) or 1
        for column in df.columns
        if pd.api.types.is_object_dtype(df[column]) or pd.api.types.is_string_dtype(df[column])
    }


def xpt_file_name(dataset: Dataset) -> str:
    """The submission file name of a dataset (lower-case name, ``.xpt``)."""
    return f"{dataset.name.lower()}.xpt"


def _method_oid(dataset: Dataset, variable: Variable) -> str:
    return f"MT.{dataset.name}.{variable.name}"


def _codelist_types(datasets: Sequence[Dataset]) -> dict[str, str]:
    """Codelist OID -> DataType, which must match every variable that uses the codelist."""
    types: dict[str, str] = {}
    for dataset in datasets:
        for variable in dataset.variables:
            if variable.codelist is None:
                continue
            data_type = _DATA_TYPES[variable.data_type]
            known = types.setdefault(variable.codelist, data_type)
            if known != data_type:
                raise InputError(
                    f"{dataset.name}.{variable.name}.codelist",
                    f"{variable.codelist} is used by {known} and {data_type} variables",
                )
    return types


def define_xml(
    datasets: Sequence[Dataset],
    *,
    study_name: str,
    study_description: str,
    protocol_name: str,
    created: dt.datetime,
    text_lengths: Mapping[str, Mapping[str, int]] | None = None,
) -> etree._Element:
    """The Define-XML 2.1 document (ODM 1.3.2 root) describing the given ADaM datasets.

    ``text_lengths`` (dataset -> variable -> bytes), measured on the data as written, replaces
    the metadata's maximum length of text variables, so ``Length`` matches the XPT file (the XPT
    writer declares the longest value's length, as submissions expect).
    """
    if not datasets:
        raise InputError("datasets", "at least one dataset is needed")
    root = odm_root(
        file_oid=f"DEF.{study_name}.ADAM",
        file_type="Snapshot",
        created=created,
        prefixes={"def": DEF_NS, "xlink": XLINK_NS},
    )
    root.set(_D + "Context", "Submission")
    study = _sub(root, _O + "Study", OID=f"ST.{study_name}")
    global_variables = _sub(study, _O + "GlobalVariables")
    for tag, text in (
        ("StudyName", study_name),
        ("StudyDescription", study_description),
        ("ProtocolName", protocol_name),
    ):
        _sub(global_variables, _O + tag).text = text
    mdv = _sub(
        study,
        _O + "MetaDataVersion",
        OID=f"MDV.{study_name}.ADAM",
        Name=f"{study_name} ADaM",
        **{_D + "DefineVersion": "2.1.0"},
    )
    standards = _sub(mdv, _D + "Standards")
    _sub(
        standards,
        _D + "Standard",
        OID="STD.ADAMIG",
        Name="ADaMIG",
        Type="IG",
        Version=ADAMIG_VERSION,
        Status="Final",
    )
    for dataset in datasets:
        _item_group(mdv, dataset)
    for dataset in datasets:
        for variable in dataset.variables:
            measured = (text_lengths or {}).get(dataset.name, {}).get(variable.name)
            _item_def(mdv, dataset, variable, measured)
    for oid, data_type in _codelist_types(datasets).items():
        codelist = _sub(mdv, _O + "CodeList", OID=f"CL.{oid}", Name=oid, DataType=data_type)
        for coded, decode in CODELISTS[oid].items():
            item = _sub(codelist, _O + "CodeListItem", CodedValue=coded)
            _description(item, decode, _O + "Decode")
    for dataset in datasets:
        for variable in dataset.variables:
            if variable.origin == "Derived" and variable.derivation:
                method = _sub(
                    mdv,
                    _O + "MethodDef",
                    OID=_method_oid(dataset, variable),
                    Name=f"Derivation of {dataset.name}.{variable.name}",
                    Type="Computation",
                )
                _description(method, variable.derivation)
    return root


def _item_group(mdv: etree._Element, dataset: Dataset) -> None:
    group = _sub(
        mdv,
        _O + "ItemGroupDef",
        OID=f"IG.{dataset.name}",
        Name=dataset.name,
        SASDatasetName=dataset.name,
        Repeating="No" if dataset.name in {"ADSL", "ADTACE"} else "Yes",
        IsReferenceData="No",
        Purpose="Analysis",
        **{
            _D + "Structure": dataset.structure,
            _D + "StandardOID": "STD.ADAMIG",
            _D + "ArchiveLocationID": f"LF.{dataset.name}",
        },
    )
    _description(group, dataset.label)
    for order, variable in enumerate(dataset.variables, start=1):
        attributes = {
            "ItemOID": f"IT.{dataset.name}.{variable.name}",
            "OrderNumber": str(order),
            "Mandatory": "Yes" if variable.required else "No",
        }
        if variable.name in dataset.keys:
            attributes["KeySequence"] = str(dataset.keys.index(variable.name) + 1)
        if variable.origin == "Derived" and variable.derivation:
            attributes["MethodOID"] = _method_oid(dataset, variable)
        _sub(group, _O + "ItemRef", **attributes)
    _sub(group, _D + "Class", Name=dataset.adam_class)
    leaf = _sub(
        group,
        _D + "leaf",
        ID=f"LF.{dataset.name}",
        **{f"{{{XLINK_NS}}}href": xpt_file_name(dataset)},
    )
    _sub(leaf, _D + "title").text = xpt_file_name(dataset)


def _item_def(
    mdv: etree._Element, dataset: Dataset, variable: Variable, measured_length: int | None
) -> None:
    attributes = {
        "OID": f"IT.{dataset.name}.{variable.name}",
        "Name": variable.name,
        "DataType": _DATA_TYPES[variable.data_type],
        "SASFieldName": variable.name,
    }
    if variable.data_type == "text":
        attributes["Length"] = str(max(1, measured_length or variable.length))
    if variable.data_type in _DISPLAY_FORMATS:
        attributes[_D + "DisplayFormat"] = _DISPLAY_FORMATS[variable.data_type]
    item = _sub(mdv, _O + "ItemDef", **attributes)
    _description(item, variable.label)
    if variable.codelist is not None:
        _sub(item, _O + "CodeListRef", CodeListOID=f"CL.{variable.codelist}")
    origin_attributes: dict[str, str] = {"Type": variable.origin}
    if variable.origin == "Collected":
        origin_attributes["Source"] = "Investigator"
    origin = _sub(item, _D + "Origin", **origin_attributes)
    if variable.origin != "Derived" and variable.derivation:
        _description(origin, variable.derivation)
