"""Idempotent bulk upserts keyed by `external_ids`; only changed rows are updated (a
contact's title or status change is also appended as events, see `crm_changes`).

Ids are `stable_id(kind, system, object, key)` for new records, so a fresh database
importing the same file assigns the same ids. Everything here is dialect-neutral Core:
chunked `IN` look-ups and executemany inserts/updates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Column, Connection, String, Table, bindparam, select

from accord.ingest.crm_changes import record_contact_changes
from accord.ingest.records import Record, Ref, Target
from accord.model.ids import stable_id
from accord.store.schema import contacts, external_ids

CHUNK = 500


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def lookup_keys(conn: Connection, system: str, obj: str, keys: Iterable[str]) -> dict[str, str]:
    """external id -> entity id for the keys already known under (system, object)."""
    wanted = sorted(set(keys))
    found: dict[str, str] = {}
    t = external_ids.c
    for part in chunks(wanted):
        query = select(t.external_id, t.entity_id).where(
            t.system == system, t.object == obj, t.external_id.in_(part)
        )
        found.update(dict(conn.execute(query).all()))
    return found


def resolve_refs(conn: Connection, refs: Iterable[Ref]) -> dict[Ref, str]:
    """The entity id of every ref that is known; unknown refs are left out."""
    by_ns: dict[tuple[str, str], set[str]] = {}
    for ref in refs:
        by_ns.setdefault((ref.system, ref.object), set()).add(ref.key)
    resolved: dict[Ref, str] = {}
    for (system, obj), keys in by_ns.items():
        for key, entity in lookup_keys(conn, system, obj, keys).items():
            resolved[Ref(system, obj, key)] = entity
    return resolved


def _fold(records: Iterable[Record], ids: dict[str, str]) -> dict[str, Record]:
    """One record per entity id; the first row wins, later rows only fill its gaps."""
    folded: dict[str, Record] = {}
    for record in records:
        entity = next(ids[k] for k in record.keys if k in ids)
        if (seen := folded.get(entity)) is None:
            folded[entity] = Record(list(record.keys), dict(record.values), dict(record.attributes))
            continue
        seen.keys.extend(k for k in record.keys if k not in seen.keys)
        for column, value in record.values.items():
            if seen.values.get(column) is None:
                seen.values[column] = value
        seen.attributes = {**record.attributes, **seen.attributes}
    return folded


def _assign_ids(conn: Connection, target: Target, records: list[Record]) -> dict[str, str]:
    """key -> entity id: a known key keeps its entity, a new record gets a stable id."""
    known = lookup_keys(conn, target.system, target.object, (k for r in records for k in r.keys))
    ids = dict(known)
    for record in records:
        entity = next((known[k] for k in record.keys if k in known), None)
        entity = entity or ids.get(record.keys[0])
        entity = entity or stable_id(target.kind, target.system, target.object, record.keys[0])
        for key in record.keys:
            ids.setdefault(key, entity)
    return ids


def _bind_refs(
    conn: Connection, target: Target, folded: dict[str, Record], ids: dict[str, str]
) -> None:
    """Replace Ref values by entity ids; an unknown ref becomes None, kept in attributes."""
    refs = {v for r in folded.values() for v in r.values.values() if isinstance(v, Ref)}
    resolved = resolve_refs(conn, refs)
    for ref in refs:
        if (ref.system, ref.object) == (target.system, target.object) and ref.key in ids:
            resolved[ref] = ids[ref.key]
    for record in folded.values():
        for column, value in list(record.values.items()):
            if isinstance(value, Ref):
                record.values[column] = resolved.get(value)
                if value not in resolved:
                    record.attributes[f"{column}_unresolved"] = value.key


@cache
def _limits(table: Table) -> dict[str, int]:
    """Length limits of the table's string columns."""
    return {
        c.name: c.type.length for c in table.columns if isinstance(c.type, String) and c.type.length
    }


def _fit(table: Table, column: str, value: Any) -> Any:
    """Strings longer than the column allows are cut to fit (same on every backend)."""
    limit = _limits(table).get(column)
    if limit and isinstance(value, str) and len(value) > limit:
        return value[:limit]
    return value


@cache
def _template(table: Table) -> dict[str, Any]:
    """A row of column defaults, the base of every inserted row."""
    return {c.name: _default(c) for c in table.columns}


def _default(column: Column[Any]) -> Any:
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, datetime) and isinstance(new, datetime):
        return _utc(old) == _utc(new)
    if isinstance(old, date) and isinstance(new, date):
        return old == new
    return bool(old == new)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _existing(conn: Connection, table: Table, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for part in chunks(ids):
        for row in conn.execute(select(table).where(table.c.id.in_(part))).mappings():
            rows[row["id"]] = dict(row)
    return rows


def _self_refs(table: Table) -> list[str]:
    return [c.name for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)]


def upsert(conn: Connection, target: Target, records: list[Record]) -> dict[str, str]:
    """Insert new records, update changed ones, register their keys; returns key -> id."""
    if not records:
        return {}
    table = target.table
    ids = _assign_ids(conn, target, records)
    folded = _fold(records, ids)
    _bind_refs(conn, target, folded, ids)
    now = datetime.now(UTC)
    existing = _existing(conn, table, list(folded))
    new = {i: r for i, r in folded.items() if i not in existing}
    _insert(conn, target, new, now)
    found = {i: r for i, r in folded.items() if i in existing}
    changed = _update(conn, table, found, existing, now)
    if table is contacts and changed:
        record_contact_changes(conn, target.source, existing, changed, now)
    _register(conn, target, folded, ids)
    return ids


def _row(table: Table, entity: str, record: Record) -> dict[str, Any]:
    row = dict(_template(table))
    row.update({c: _fit(table, c, v) for c, v in record.values.items()})
    row["id"] = entity
    if "attributes" in row:
        row["attributes"] = dict(record.attributes)
    return row


def _insert(conn: Connection, target: Target, new: dict[str, Record], now: datetime) -> None:
    if not new:
        return
    table = target.table
    self_refs = _self_refs(table)
    stamp = {"created_at": now, "updated_at": now, "source": target.source}
    rows = [_row(table, i, r) | stamp for i, r in new.items()]
    later = [{"_id": r["id"], **{c: r[c] for c in self_refs}} for r in rows]
    for row in rows:
        row.update(dict.fromkeys(self_refs))
    for part in chunks(rows, 5000):
        conn.execute(table.insert(), list(part))
    later = [r for r in later if any(r[c] is not None for c in self_refs)]
    if later:
        conn.execute(table.update().where(table.c.id == bindparam("_id")), later)


def _changes(table: Table, record: Record, old: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for column, value in record.values.items():
        value = _fit(table, column, value)
        if not _same(old[column], value):
            changes[column] = value
    if "attributes" in table.c:
        merged = {**(old["attributes"] or {}), **record.attributes}
        if merged != old["attributes"]:
            changes["attributes"] = merged
    return changes


def _update(
    conn: Connection,
    table: Table,
    found: dict[str, Record],
    existing: dict[str, dict[str, Any]],
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """Write the changed columns of existing records; entity id -> its changes."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    changed: dict[str, dict[str, Any]] = {}
    for entity, record in found.items():
        changes = _changes(table, record, existing[entity])
        if changes:
            changed[entity] = dict(changes)
            changes["updated_at"] = now
            groups.setdefault(tuple(sorted(changes)), []).append({"_id": entity, **changes})
    for rows in groups.values():
        conn.execute(table.update().where(table.c.id == bindparam("_id")), rows)
    return changed


def _register(
    conn: Connection, target: Target, folded: dict[str, Record], ids: dict[str, str]
) -> None:
    keys = [k for r in folded.values() for k in r.keys]
    known = lookup_keys(conn, target.system, target.object, keys)
    rows = [
        {"system": target.system, "object": target.object, "external_id": k, "entity_id": ids[k]}
        for k in dict.fromkeys(keys)
        if k not in known
    ]
    for part in chunks(rows, 5000):
        conn.execute(external_ids.insert(), list(part))


def insert_missing(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> int:
    """Insert the rows whose primary key is not stored yet; returns how many were new."""
    pk = [c.name for c in table.primary_key.columns]
    seen: set[tuple[Any, ...]] = set()
    first = pk[0]
    for part in chunks(sorted({r[first] for r in rows})):
        query = select(*[table.c[c] for c in pk]).where(table.c[first].in_(part))
        seen.update(tuple(_norm(v) for v in row) for row in conn.execute(query))
    fresh: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(_norm(row[c]) for c in pk)
        if key not in seen:
            fresh.setdefault(key, row)
    for part in chunks(list(fresh.values()), 5000):
        conn.execute(table.insert(), list(part))
    return len(fresh)


def _norm(value: Any) -> Any:
    return _utc(value) if isinstance(value, datetime) else value


__all__ = ["insert_missing", "lookup_keys", "resolve_refs", "upsert"]
