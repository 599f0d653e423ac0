"""Appending event rows from imports, deduplicated through `event_dedupe`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from accord.store.schema import event_dedupe, events

_LOOKUP = 500
_WRITE = 5_000


def append_events(conn: Connection, source: str, rows: list[dict[str, Any]]) -> int:
    """Append events whose (source, message_id) is not in `event_dedupe`; returns new count."""
    now = datetime.now(UTC)
    unique = {r["message_id"]: r for r in rows}
    ids = sorted(unique)
    seen: set[str] = set()
    d = event_dedupe.c
    for start in range(0, len(ids), _LOOKUP):
        part = ids[start : start + _LOOKUP]
        seen.update(conn.scalars(select(d.message_id).where(d.source == source,
                                                            d.message_id.in_(part))))  # fmt: skip
    fresh = [r | {"source": source, "received_at": now} for m, r in unique.items() if m not in seen]
    for start in range(0, len(fresh), _WRITE):
        part = fresh[start : start + _WRITE]
        conn.execute(events.insert(), part)
        conn.execute(
            event_dedupe.insert(),
            [{"source": source, "message_id": r["message_id"], "received_at": now} for r in part],
        )
    return len(fresh)
