"""`import_hubspot`: HubSpot UI export CSVs (companies, contacts, deals) and warehouse tables.

Records are keyed by HubSpot's record id (system `hubspot`). Like HubSpot itself, companies
sharing a domain are one account and contacts sharing an e-mail are one contact: the first
row's id keys the record and the others become aliases. Associations come from
`Associated Company IDs` / `Associated Contact IDs` (first id links, all are kept in the
attributes) or from the warehouse's `deal_company` / `deal_contact` tables; an association
naming a record that was not imported links nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from accord.errors import InputError
from accord.ingest.fields import as_text, parse_all
from accord.ingest.hubspot_objects import (
    LINKS,
    OBJECTS,
    HsObject,
    account_lifecycle,
    field_key,
    find_file_object,
    id_list,
)
from accord.ingest.options import ImportOptions, ImportReport
from accord.ingest.reader import CsvFile, RowErrors
from accord.ingest.records import Record, Ref, Target
from accord.ingest.upsert import upsert
from accord.ingest.values import BadValue

Associations = dict[str, dict[str, list[str]]]  # deal_company -> deal id -> company ids


def import_hubspot(engine: Engine, path: Path, options: ImportOptions) -> ImportReport:
    """Import HubSpot export CSVs from a file or folder, in one transaction."""
    files, notes = _files(path)
    errors = RowErrors(options)
    associations: Associations = {}
    for name in ("deal_company", "deal_contact"):
        if name in files:
            associations[name] = _read_associations(files[name], errors)
    records: dict[str, list[Record]] = {}
    for name, obj in OBJECTS.items():
        if name in files:
            records[name] = _dedupe(obj, _read_object(files[name], obj, associations, errors))
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for name, obj in OBJECTS.items():
            if name in records:
                target = Target(obj.kind, obj.table, "hubspot", obj.name, "hubspot")
                upsert(conn, target, records[name])
                counts[obj.kind] = len(records[name])
    return ImportReport(str(path), counts, errors.skipped, errors.write(), notes)


def _files(path: Path) -> tuple[dict[str, Path], list[str]]:
    if path.is_file():
        name = find_file_object(path.stem)
        if name is None:
            raise InputError(
                f"{path}: cannot tell which HubSpot object the file holds; name it "
                "companies.csv, contacts.csv or deals.csv"
            )
        return {name: path}, []
    if not path.is_dir():
        raise InputError(f"{path}: no such file or folder")
    files: dict[str, Path] = {}
    notes: list[str] = []
    for file in sorted(path.glob("*.csv")):
        name = find_file_object(file.stem)
        if name is None or name in files:
            notes.append(f"{file.name}: not a companies, contacts or deals export; skipped")
        else:
            files[name] = file
    if not set(files) & set(OBJECTS):
        raise InputError(f"{path}: no companies.csv, contacts.csv or deals.csv found")
    return files, notes


def _read_associations(path: Path, errors: RowErrors) -> dict[str, list[str]]:
    source = CsvFile(path, errors.options)
    deal = source.require("deal_id")
    other = source.column("company_id", "contact_id")
    if other is None:
        raise InputError(f"{source.name}: missing required column 'company_id' (or 'contact_id')")
    found: dict[str, list[str]] = {}
    for _, fields in source.rows(errors):
        if fields[deal].strip() and fields[other].strip():
            found.setdefault(fields[deal].strip(), []).append(fields[other].strip())
    return found


def _read_object(
    path: Path, obj: HsObject, associations: Associations, errors: RowErrors
) -> list[Record]:
    source = CsvFile(path, errors.options)
    keys = [field_key(h) for h in source.header]
    id_key = next((k for k in obj.id_keys if k in keys), None)
    if id_key is None:
        raise InputError(f"{source.name}: missing required column 'Record ID'")
    records: list[Record] = []
    for line, fields in source.rows(errors):
        raw = {k: (h, v) for k, h, v in zip(keys, source.header, fields, strict=True)}
        try:
            records.append(_convert(obj, raw, id_key, associations))
        except BadValue as e:
            errors.bad_row(source, line, e.column, e.message, fields)
    return records


def _convert(
    obj: HsObject, raw: dict[str, tuple[str, Any]], id_key: str, associations: Associations
) -> Record:
    given, record_id = raw.pop(id_key)
    key = as_text(record_id)
    if not key:
        raise BadValue(given, f"is empty; every HubSpot {obj.name} has a record id")
    links = {k: raw.pop(k) for k in list(raw) if k in LINKS}
    columns, attributes, _ = parse_all(obj.fields, raw)
    values: dict[str, Any] = dict(columns)
    for link_key, (link_given, value) in links.items():
        ids = id_list(value)
        if ids:
            attributes[link_given] = ids
        column = "account_id" if LINKS[link_key] == "company" else "contact_id"
        if column in obj.table.c:
            values[column] = Ref("hubspot", LINKS[link_key], ids[0]) if ids else None
    _from_associations(obj, key, values, associations)
    _derive(obj, key, values)
    return Record([key], values, attributes)


def _from_associations(
    obj: HsObject, key: str, values: dict[str, Any], associations: Associations
) -> None:
    if obj.name != "deal":
        return
    for table, column, other in (
        ("deal_company", "account_id", "company"),
        ("deal_contact", "contact_id", "contact"),
    ):
        ids = associations.get(table, {}).get(key)
        if ids and values.get(column) is None:
            values[column] = Ref("hubspot", other, ids[0])


def _derive(obj: HsObject, key: str, values: dict[str, Any]) -> None:
    """Columns HubSpot implies: the domain list, lifecycle, won/closed from the stage."""
    if obj.name == "company":
        domain = values.pop("domains", None)
        values["domains"] = [domain] if domain else []
        if "lifecycle_stage" in values:
            values["lifecycle_stage"] = account_lifecycle(values["lifecycle_stage"])
        if not values.get("name"):
            values["name"] = domain or f"HubSpot company {key}"
    elif obj.name == "deal":
        if not values.get("name"):
            values["name"] = f"HubSpot deal {key}"
        stage = (values.get("stage") or "").lower().replace(" ", "")
        values["stage"] = values.get("stage") or "unknown"
        values["is_won"] = stage == "closedwon"
        values["is_closed"] = stage.startswith("closed")


def _dedupe(obj: HsObject, records: list[Record]) -> list[Record]:
    """HubSpot's own rule: one company per domain, one contact per e-mail (first row wins)."""
    if obj.dedupe is None:
        return records
    first: dict[str, str] = {}
    for record in records:
        value = record.values.get(obj.dedupe)
        dedupe_key = _dedupe_key(value)
        if not dedupe_key:
            continue
        canonical = first.setdefault(dedupe_key, record.keys[0])
        if canonical != record.keys[0]:
            record.keys.insert(0, canonical)
    return records


def _dedupe_key(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if not value:
        return None
    return str(value).strip().lower().removeprefix("www.")
