"""`import_csv`: any CSV with a column map, for accounts, contacts, leads, opportunities or
an event feed (intent, ads, usage, cs). Entity kinds are upserted keyed by the map's key
under `csv:<source>`; feed rows become `events`, deduplicated by a message id derived from
the row (see `event_feeds`).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from accord.errors import InputError
from accord.ingest.column_map import ColumnMap, load_column_map
from accord.ingest.event_feeds import feed_events
from accord.ingest.event_rows import append_events
from accord.ingest.fields import FieldSpec, parse_all
from accord.ingest.kinds import KINDS, Kind
from accord.ingest.options import ImportOptions, ImportReport
from accord.ingest.reader import CsvFile, RowErrors
from accord.ingest.records import Record, Ref, Target
from accord.ingest.upsert import upsert
from accord.ingest.values import BadValue, to_date, to_datetime


def import_csv(
    engine: Engine, path: Path, *, kind: str, column_map: Path, options: ImportOptions
) -> ImportReport:
    """Import `path` as `kind` through the column map at `column_map`, in one transaction."""
    if kind not in KINDS:
        raise InputError(f"--kind {kind!r}: unknown kind; use one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    cmap = load_column_map(column_map, kind)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    source = CsvFile(path, options)
    index = _column_index(source, cmap, column_map)
    errors = RowErrors(options)
    rows = list(_parsed_rows(source, spec, cmap, index, errors))
    notes: list[str] = []
    with engine.begin() as conn:
        if spec.table is not None:
            target = Target(spec.object, spec.table, cmap.system, spec.object, "csv")
            upsert(conn, target, [r for r in rows if isinstance(r, Record)])
        else:
            feed = [r for r in rows if isinstance(r, dict)]
            events = feed_events(conn, spec.event_kind or spec.name, feed)
            fresh = append_events(conn, cmap.system, events)
            notes.append(f"{fresh} new {spec.event_kind} events, {len(events) - fresh} seen before")
    counts = {spec.object: len(rows)}
    return ImportReport(str(path), counts, errors.skipped, errors.write(), notes)


def _column_index(source: CsvFile, cmap: ColumnMap, map_path: Path) -> dict[str, int]:
    index: dict[str, int] = {}
    for field, column in cmap.columns.items():
        found = source.column(column)
        if found is None:
            raise InputError(
                f"{source.name}: missing required column {column!r} (mapped to {field!r} by "
                f"{map_path}); the header has {', '.join(source.header)}"
            )
        index[field] = found
    return index


def _specs(kind: Kind, cmap: ColumnMap) -> dict[str, FieldSpec]:
    """The kind's field specs, with the map's date format applied to date fields."""
    if not cmap.date_format:
        return kind.fields
    out = dict(kind.fields)
    for name, spec in kind.fields.items():
        if spec.parse in (to_date, to_datetime):
            parser = partial(spec.parse, fmt=cmap.date_format)
            out[name] = FieldSpec(spec.column, parser, spec.ref)
    return out


def _parsed_rows(
    source: CsvFile, kind: Kind, cmap: ColumnMap, index: dict[str, int], errors: RowErrors
) -> Any:
    specs = _specs(kind, cmap)
    mapped = set(index.values())
    extra = [i for i in range(len(source.header)) if i not in mapped] if cmap.keep_unmapped else []
    for line, fields in source.rows(errors):
        raw = {f: (source.header[i], fields[i]) for f, i in index.items()}
        try:
            row = _row(kind, cmap, specs, raw)
        except BadValue as e:
            errors.bad_row(source, line, e.column, e.message, fields)
            continue
        if isinstance(row, Record):
            row.attributes.update({source.header[i]: fields[i] for i in extra if fields[i]})
        yield row


def _row(
    kind: Kind, cmap: ColumnMap, specs: dict[str, FieldSpec], raw: dict[str, tuple[str, Any]]
) -> Record | dict[str, Any]:
    columns, _, links = parse_all(specs, raw)
    for field in kind.required:
        if columns.get(specs[field].column) is None:
            raise BadValue(raw[field][0], f"is empty; every {kind.object} row needs {field}")
    if kind.any_of and not any(columns.get(specs[f].column) for f in kind.any_of if f in raw):
        given = " or ".join(raw[f][0] for f in kind.any_of if f in raw)
        raise BadValue(given, f"is empty; an {kind.name} row needs {' or '.join(kind.any_of)}")
    if kind.table is None:
        return columns
    key_parts = []
    for field in cmap.key:
        value = str(raw[field][1]).strip()
        if not value:
            raise BadValue(raw[field][0], "is empty, and it is part of the record's key")
        key_parts.append(value.lower() if field in ("email", "domain") else value)
    columns.pop("id", None)
    values: dict[str, Any] = dict(columns)
    for column, value in links.items():
        target = next(s.ref for s in specs.values() if s.column == column)
        values[column] = Ref(cmap.system, target or "", value)
    return Record(["|".join(key_parts)], values)
