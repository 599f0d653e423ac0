"""`import_salesforce`: data plans, sObject-tree JSON, object CSVs and report exports.

A path may be a data plan, a tree file, a CSV file, or a folder. A folder's files are
matched to objects by name (Account.csv, accounts.json, sf_account_data.csv, ...); where a
tree file and a CSV cover the same object the tree file is used, and plans and files that
name no object are listed in the report's notes. Everything is read and checked first and
then written in one transaction, so a bad row leaves the database as it was.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from accord.errors import InputError
from accord.ingest.fields import norm
from accord.ingest.options import ImportOptions, ImportReport
from accord.ingest.reader import CsvFile, RowErrors
from accord.ingest.records import Ref
from accord.ingest.salesforce_tree import is_plan, is_tree, load_plan, load_tree, read_json
from accord.ingest.sfdc_convert import RawFields, convert, link
from accord.ingest.sfdc_objects import OBJECTS, ORDER, SfObject, find_object
from accord.ingest.sfdc_write import SfLoad, StageEntry, write
from accord.ingest.values import BadValue, text, to_datetime


def import_salesforce(engine: Engine, path: Path, options: ImportOptions) -> ImportReport:
    """Import a Salesforce export at `path` (plan, tree JSON, CSV or folder)."""
    load = SfLoad()
    errors = RowErrors(options)
    read_path(path, load, errors)
    with engine.begin() as conn:
        write(conn, load)
    return ImportReport(
        source=str(path),
        counts=load.counts,
        skipped=errors.skipped,
        rejects_path=errors.write(),
        notes=load.notes,
    )


def read_path(path: Path, load: SfLoad, errors: RowErrors) -> None:
    """Read whatever `path` is into `load`."""
    if path.is_dir():
        _read_folder(path, load, errors)
    elif not path.is_file():
        raise InputError(f"{path}: no such file or folder")
    elif path.suffix.lower() == ".json":
        data = read_json(path)
        if is_plan(data):
            load_plan(path, load, errors)
        elif is_tree(data):
            load_tree(path, load, errors)
        else:
            raise InputError(f"{path}: neither a data plan nor an sObject tree")
    else:
        load_csv(path, load, errors)


def _read_folder(folder: Path, load: SfLoad, errors: RowErrors) -> None:
    chosen: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        obj = find_object(path.stem) if path.suffix.lower() in (".csv", ".json") else None
        if obj is None:
            if path.is_file():
                load.notes.append(
                    f"{path.name}: not named for an object; skipped (import it by its path)"
                )
            continue
        current = chosen.get(obj.name)
        if current is None or (path.suffix.lower() == ".json" and current.suffix != ".json"):
            if current is not None:
                load.notes.append(f"{current.name}: {path.name} covers {obj.name}; skipped")
            chosen[obj.name] = path
        else:
            load.notes.append(f"{path.name}: {current.name} covers {obj.name}; skipped")
    if not chosen:
        raise InputError(
            f"{folder}: no files named for an object (Account.csv, Contacts.json, ...)"
        )
    for name in ORDER:
        if name in chosen:
            read_path(chosen[name], load, errors)


def load_csv(path: Path, load: SfLoad, errors: RowErrors) -> None:
    """An object CSV (named for its object) or a report export (`Object: Label` headers)."""
    source = CsvFile(path, errors.options)
    if _is_report(source.header):
        _load_report(CsvFile(path, errors.options, allow_short_rows=True), load, errors)
        return
    obj = find_object(path.stem)
    if obj is None:
        raise InputError(
            f"{path}: cannot tell which object the file holds; name it for the object "
            "(Account.csv, Contact.csv, Lead.csv, Opportunity.csv, Campaign.csv, Case.csv)"
        )
    keys = [_field_key(obj, h) for h in source.header]
    _require_columns(source, obj, keys)
    scope = path.parent.name
    for line, fields in source.rows(errors):
        raw: RawFields = {k: (h, v) for k, h, v in zip(keys, source.header, fields, strict=True)}
        try:
            _add(obj, raw, scope, load)
        except BadValue as e:
            errors.bad_row(source, line, e.column, e.message, fields)


def _add(obj: SfObject, raw: RawFields, scope: str, load: SfLoad) -> None:
    if obj.table is not None:
        load.add(obj, convert(obj, raw, scope=scope))
        return
    load.history.append(_stage_entry(raw, scope))
    load.count(obj.object)


def _stage_entry(raw: RawFields, scope: str) -> StageEntry:
    """One stage-history row: `OpportunityId` (or the warehouse's `id`), stage, time."""
    given, opp = raw.get("opportunityid") or raw.get("id") or ("OpportunityId", "")
    stage_given, stage = raw.get("stagename", ("StageName", ""))
    time_given, when = raw.get("fivetranstart") or raw.get("createddate") or ("CreatedDate", "")
    if not text(opp):
        raise BadValue(given, "is empty; a history row needs its opportunity")
    if not text(stage):
        raise BadValue(stage_given, "is empty; a history row needs a stage")
    try:
        entered = to_datetime(when)
    except ValueError as e:
        raise BadValue(time_given, str(e)) from None
    if entered is None:
        raise BadValue(time_given, "is empty; a history row needs the time the stage began")
    return StageEntry(link("opportunity", str(opp).strip(), scope), str(stage).strip(), entered)


def _field_key(obj: SfObject, header: str) -> str:
    key = norm(header)
    return obj.aliases.get(key, key)


def _require_columns(source: CsvFile, obj: SfObject, keys: list[str]) -> None:
    for column in obj.required:
        wanted = [k for k, spec in obj.fields.items() if spec.column == column]
        if not any(k in keys for k in wanted):
            raise InputError(
                f"{source.name}: missing required column {wanted[0]!r} "
                f"(a {obj.name} file needs it); the header has {', '.join(source.header)}"
            )


def _is_report(header: list[str]) -> bool:
    return all(": " in h for h in header) and any(
        h.split(": ", 1)[0].lower() in OBJECTS for h in header
    )


def _load_report(source: CsvFile, load: SfLoad, errors: RowErrors) -> None:
    """Report export rows: each row may carry an Account, a Contact, an Opportunity..."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for index, label in enumerate(source.header):
        prefix, _, field = label.partition(": ")
        obj = OBJECTS.get(prefix.strip().lower())
        if obj is None or obj.table is None:
            continue
        groups.setdefault(obj.name, []).append((index, _label_key(obj, field)))
    ordered = [OBJECTS[n.lower()] for n in ORDER if n in groups]
    for line, fields in source.rows(errors):
        try:
            _report_row(ordered, groups, fields, source, load)
        except BadValue as e:
            errors.bad_row(source, line, e.column, e.message, fields)


def _report_row(
    ordered: list[SfObject],
    groups: dict[str, list[tuple[int, str]]],
    fields: list[str],
    source: CsvFile,
    load: SfLoad,
) -> None:
    account: Ref | None = None
    for obj in ordered:
        raw: RawFields = {key: (source.header[i], fields[i]) for i, key in groups[obj.name]}
        if not any(v.strip() for _, v in raw.values()):
            continue
        keyed = convert(obj, raw, scope=source.path.parent.name)
        if obj.name == "Account":
            account = Ref(keyed.system, "account", keyed.record.keys[0])
        elif account and keyed.record.values.get("account_id") is None:
            keyed.record.values["account_id"] = account
        load.add(obj, keyed)


def _label_key(obj: SfObject, label: str) -> str:
    """A report label (`Account Name`, `First Name`) as a field key of `obj`."""
    key = norm(label)
    key = obj.aliases.get(key, key)
    prefix = obj.name.lower()
    if key not in obj.fields and key.startswith(prefix) and key[len(prefix) :] in obj.fields:
        return key[len(prefix) :]
    return key
