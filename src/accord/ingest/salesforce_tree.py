"""Salesforce sObject-tree JSON files and the data plans that list them.

A tree file is `{"records": [{"attributes": {"type", "referenceId"}, field: value, ...}]}`;
children may nest under a relationship name (`"Contacts": {"records": [...]}`) and then
link to their parent. A plan is a list of `{"sobject", "files", "saveRefs", "resolveRefs"}`;
every file it names must exist, or nothing is imported.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import orjson

from accord.errors import InputError
from accord.ingest.fields import norm
from accord.ingest.reader import RowErrors
from accord.ingest.sfdc_convert import RawFields, convert
from accord.ingest.sfdc_objects import OBJECTS
from accord.ingest.sfdc_write import SfLoad
from accord.ingest.values import BadValue


def read_json(path: Path) -> Any:
    """Parsed JSON; a syntax error names the file, line and column."""
    data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise InputError(
            f"{path} line {e.lineno}, column {e.colno}: not valid JSON: {e.msg}"
        ) from e


def is_plan(data: Any) -> bool:
    return isinstance(data, list) and all(isinstance(e, dict) and "sobject" in e for e in data)


def is_tree(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("records"), list)


def plan_files(path: Path, plan: Any) -> list[tuple[str, Path]]:
    """(sobject, file) for every file the plan names; all must exist."""
    if not is_plan(plan):
        raise InputError(f"{path}: not a data plan (a JSON list of {{sobject, files}} entries)")
    entries: list[tuple[str, Path]] = []
    for number, entry in enumerate(plan, start=1):
        files = entry.get("files")
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise InputError(f"{path} entry {number} ({entry['sobject']}): 'files' must be a list")
        entries.extend((str(entry["sobject"]), path.parent / f) for f in files)
    missing = [f.name for _, f in entries if not f.is_file()]
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise InputError(
            f"{path}: the plan names {names}, not found in {path.parent}; "
            "add the missing file(s) or remove them from the plan"
        )
    return entries


def load_plan(path: Path, load: SfLoad, errors: RowErrors) -> None:
    """Read every tree file a plan names, in plan order."""
    for sobject, file in plan_files(path, read_json(path)):
        if sobject.lower() not in OBJECTS:
            load.notes.append(f"{file.name}: {sobject} is not an object Accord imports; skipped")
            continue
        load_tree(file, load, errors)


def load_tree(path: Path, load: SfLoad, errors: RowErrors) -> None:
    """Read one sObject-tree file; its reference ids are scoped by its folder's name."""
    data = read_json(path)
    if not is_tree(data):
        raise InputError(f"{path}: not an sObject tree (a JSON object with a 'records' list)")
    skipped: dict[str, int] = {}
    for number, record in enumerate(data["records"], start=1):
        _tree_record(path, number, record, None, load, errors, skipped)
    for sobject, n in skipped.items():
        load.notes.append(f"{path.name}: {n} {sobject} records skipped (not imported by Accord)")


def _tree_record(
    path: Path,
    number: int,
    record: Any,
    parent: tuple[str, str] | None,
    load: SfLoad,
    errors: RowErrors,
    skipped: dict[str, int],
) -> None:
    where = f"{path} record {number}"
    attrs = record.get("attributes") if isinstance(record, dict) else None
    if not isinstance(attrs, dict) or not isinstance(attrs.get("type"), str):
        raise InputError(f"{where}: has no attributes.type; every tree record names its sObject")
    obj = OBJECTS.get(attrs["type"].lower())
    if obj is None or obj.table is None:
        skipped[attrs["type"]] = skipped.get(attrs["type"], 0) + 1
        return
    reference = attrs.get("referenceId")
    raw, children = _split(record)
    if parent is not None and norm(parent[0] + "Id") not in raw:
        raw[norm(parent[0] + "Id")] = (parent[0] + "Id", "@" + parent[1])
    if reference:
        where += f" ({reference})"
    try:
        keyed = convert(obj, raw, scope=path.parent.name, reference=reference)
    except BadValue as e:
        body = orjson.dumps(record).decode()
        errors.bad(
            f"{where}, field {e.column!r}",
            e.message,
            file=str(path),
            line=number,
            header=["record"],
            fields=[body],
        )
        return
    load.add(obj, keyed)
    for child in children:
        link = (obj.name, reference) if reference else None
        _tree_record(path, number, child, link, load, errors, skipped)


def _split(record: dict[str, Any]) -> tuple[RawFields, list[Any]]:
    """A record's own fields, and its nested child records."""
    raw: RawFields = {}
    children: list[Any] = []
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict) and isinstance(value.get("records"), list):
            children.extend(value["records"])
        else:
            raw[norm(key)] = (key, value)
    return raw, children
