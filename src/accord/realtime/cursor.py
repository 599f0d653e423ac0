"""Where a durable consumer is in the events table, and which ids it may still see.

Event ids come from a sequence, but on PostgreSQL concurrent writers commit them out of
order: when id 12 is visible, id 11 may belong to a transaction still in flight. The cursor
keeps `high_id` (the largest id processed) and the unseen id ranges below it (`gaps`), each
with a horizon: a transaction id drawn after the range was found unseen (the reader's own,
so every transaction id given out before it is smaller). Once a later snapshot's
`pg_snapshot_xmin` reaches the horizon, every transaction that could hold an id of the range
has ended, so after one more read of the range whatever is still missing was rolled back and
the range is dropped. This is sound because event writers insert the dedupe key before the
event row, so a writing transaction has its transaction id before it draws an event id. (A
snapshot's `pg_snapshot_xmax` is no such bound: it is one past the latest *completed*
transaction, and a writer still in flight may hold that very id, or a later one; taken as
the horizon it let a range go while its writer was about to commit, losing the event.) On
SQLite writers are serialized and ids are drawn at commit order, so a missing id never
appears later and no range is kept.

`last_id` is the floor: every id up to it is processed or will never exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from accord.store.schema import consumer_cursors

Gap = tuple[int, int, int]  # (lo, hi, horizon) with lo <= hi, ids inclusive


@dataclass
class Cursor:
    """A consumer's position: processed ids are (..last_id] and (last_id..high_id] - gaps."""

    name: str
    high_id: int = 0
    gaps: list[Gap] = field(default_factory=list)

    @property
    def last_id(self) -> int:
        return self.gaps[0][0] - 1 if self.gaps else self.high_id

    def copy(self) -> Cursor:
        return Cursor(self.name, self.high_id, list(self.gaps))

    def has_holes(self, ids: Sequence[int]) -> bool:
        """Whether sorted ids above `high_id` miss any id on the way to the last of them."""
        return bool(ids) and ids[-1] - self.high_id != len(ids)

    def add_new(self, ids: Sequence[int], horizon: int | None) -> None:
        """Take sorted ids above `high_id`; the ids missing among them become gaps unless
        `horizon` is None (the ids are walked only when some are missing)."""
        if not ids:
            return
        if horizon is not None and self.has_holes(ids):
            high = self.high_id
            for i in ids:
                if i > high + 1:
                    self.gaps.append((high + 1, i - 1, horizon))
                high = i
        self.high_id = max(self.high_id, ids[-1])

    def fill(self, ids: Iterable[int]) -> None:
        """Remove processed ids from the gaps (a range may split in two)."""
        for i in ids:
            out: list[Gap] = []
            for lo, hi, h in self.gaps:
                if lo <= i <= hi:
                    out += [g for g in ((lo, i - 1, h), (i + 1, hi, h)) if g[0] <= g[1]]
                else:
                    out.append((lo, hi, h))
            self.gaps = out

    def drop(self, dead: Iterable[Gap]) -> None:
        """Forget gaps known to hold nothing more."""
        gone = set(dead)
        self.gaps = [g for g in self.gaps if g not in gone]

    def ripe(self, xmin: int) -> list[Gap]:
        """Gaps whose every possible writer had ended when a snapshot had `xmin`."""
        return [g for g in self.gaps if g[2] <= xmin]

    def covers(self, other: Cursor) -> bool:
        """Whether every id `other` has processed is processed here too."""
        unseen = [(lo, hi) for lo, hi, _ in self.gaps]
        if self.high_id < other.high_id:
            unseen.append((self.high_id + 1, other.high_id))
        for lo, hi in unseen:
            hi = min(hi, other.high_id)
            if lo > hi:
                continue
            for glo, ghi, _ in sorted(other.gaps):  # the part of [lo, hi] other has not seen
                if ghi < lo:
                    continue
                if glo > lo:
                    return False
                lo = ghi + 1
                if lo > hi:
                    break
            if lo <= hi:
                return False
        return True


def state_name(name: str) -> str:
    """The cursor row saying how far the stored window state of consumer `name` goes (the
    row `name` says how far its signals are stored; see `accord.realtime.consumer`)."""
    return f"{name}.state"


_UPSERTS: dict[str, Any] = {}


def _upsert(conn: Connection) -> Any:
    """The dialect's cursor upsert, built once (a save holds the write lock meanwhile)."""
    name = conn.dialect.name
    stmt = _UPSERTS.get(name)
    if stmt is None:
        insert = postgresql.insert if name == "postgresql" else sqlite.insert
        stmt = insert(consumer_cursors)
        stmt = _UPSERTS[name] = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={k: stmt.excluded[k] for k in ("last_id", "high_id", "gaps", "updated_at")},
        )
    return stmt


def find_cursor(conn: Connection, name: str) -> Cursor | None:
    """The stored cursor `name`, or None when none is stored."""
    c = consumer_cursors.c
    row = conn.execute(select(c.high_id, c.gaps).where(c.name == name)).first()
    if row is None:
        return None
    gaps = [(int(g[0]), int(g[1]), int(g[2])) for g in row.gaps or []]
    return Cursor(name, int(row.high_id), gaps)


def load_cursor(conn: Connection, name: str) -> Cursor:
    """The stored cursor `name`, or a fresh one at the start of the table."""
    return find_cursor(conn, name) or Cursor(name)


def save_cursor(conn: Connection, cursor: Cursor) -> None:
    """Upsert the cursor (in the caller's transaction, with the work it covers)."""
    row = {
        "name": cursor.name,
        "last_id": cursor.last_id,
        "high_id": cursor.high_id,
        "gaps": [list(g) for g in cursor.gaps],
        "updated_at": datetime.now(UTC),
    }
    conn.execute(_upsert(conn), row)
