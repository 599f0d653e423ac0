"""Collects converted Salesforce records and writes them, parents first, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from accord.ingest.records import Record, Ref, Target
from accord.ingest.sfdc_convert import Keyed
from accord.ingest.sfdc_objects import OBJECTS, ORDER, SfObject
from accord.ingest.upsert import chunks, insert_missing, resolve_refs, upsert
from accord.store.schema import opportunities, opportunity_stages


@dataclass
class StageEntry:
    opportunity: Ref
    stage: str
    entered_at: datetime


@dataclass
class SfLoad:
    """Everything read from one import: records per object, stage history, notes."""

    records: dict[str, list[Keyed]] = field(default_factory=dict)
    history: list[StageEntry] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, obj: SfObject, keyed: Keyed) -> None:
        self.records.setdefault(obj.name, []).append(keyed)
        self.count(obj.object)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


def write(conn: Connection, load: SfLoad) -> None:
    """Upsert every object in dependency order, then the opportunity stage history."""
    for name in ORDER:
        obj = OBJECTS[name.lower()]
        if obj.table is None:
            continue
        by_system: dict[str, list[Record]] = {}
        for keyed in load.records.get(name, []):
            by_system.setdefault(keyed.system, []).append(keyed.record)
        for system, records in by_system.items():
            upsert(conn, Target(obj.object, obj.table, system, obj.object, "sfdc"), records)
    if load.history:
        _write_history(conn, load)


def _write_history(conn: Connection, load: SfLoad) -> None:
    resolved = resolve_refs(conn, {e.opportunity for e in load.history})
    owners = _opportunity_accounts(conn, sorted(set(resolved.values())))
    rows: list[dict[str, Any]] = []
    for entry in load.history:
        opp = resolved.get(entry.opportunity)
        if opp is None:
            continue
        rows.append(
            {
                "opportunity_id": opp,
                "stage": entry.stage[:100],
                "entered_at": entry.entered_at,
                "account_id": owners.get(opp),
            }
        )
    missing = len(load.history) - len(rows)
    if missing:
        load.notes.append(
            f"{missing} opportunity history rows name opportunities that are not imported; "
            "import the opportunities first"
        )
    insert_missing(conn, opportunity_stages, rows)


def _opportunity_accounts(conn: Connection, ids: list[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    c = opportunities.c
    for part in chunks(ids):
        found.update(dict(conn.execute(select(c.id, c.account_id).where(c.id.in_(part))).all()))
    return found
