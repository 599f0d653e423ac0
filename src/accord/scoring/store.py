"""Stored scores: `scores_current` (one row per account and score) and `score_history`
(a row whenever an account's value, label or version changes)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    Select,
    Table,
    and_,
    func,
    or_,
    select,
)

from accord.errors import NotFound
from accord.store.schema import TS, accounts, score_history, scores_current

_BATCH = 50_000
_COLS = ("account_id", "score", "version", "value", "label", "parts", "computed_at")
_KEYS = ("account_id", "score", "version", "value", "label")


def _previous() -> Table:
    """A temporary table for the replaced rows' values (no parts)."""
    sc = scores_current.c
    return Table(
        "_scores_old",
        MetaData(),
        Column("account_id", sc.account_id.type, primary_key=True),
        Column("score", sc.score.type, primary_key=True),
        Column("version", Integer, nullable=False),
        Column("value", Float, nullable=False),
        Column("label", sc.label.type),
        prefixes=["TEMPORARY"],
    )


def _stamp(conn: Connection, now: datetime) -> str:
    """`now` as the store's own text for a timestamp column."""
    if conn.dialect.name == "postgresql":
        return now.isoformat()
    proc = TS.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return str(proc(now) if proc else now)


def _new_rows(
    con: duckdb.DuckDBPyConnection,
    tables: Mapping[str, str],
    versions: Mapping[str, int],
    stamp: str,
) -> duckdb.DuckDBPyConnection:
    """A cursor over every new row, parts as JSON text, in `_COLS` order."""
    selects = [
        f"SELECT account_id, '{name}' AS score, {int(versions[name])} AS version, value, label,"
        f" parts, $stamp AS computed_at FROM {table}"
        for name, table in tables.items()
    ]
    return con.execute(" UNION ALL ".join(selects), {"stamp": stamp})


def _load(conn: Connection, rows: duckdb.DuckDBPyConnection) -> None:
    """Bulk-load pre-serialised rows into `scores_current`: COPY on PostgreSQL, else
    executemany."""
    cur: Any = conn.connection.cursor()
    cols = ", ".join(_COLS)
    table = scores_current.name
    try:
        if conn.dialect.name == "postgresql":
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                while batch := rows.fetchmany(_BATCH):
                    for row in batch:
                        copy.write_row(row)
            return
        sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(_COLS))})"
        while batch := rows.fetchmany(_BATCH):
            cur.executemany(sql, batch)
    finally:
        cur.close()


def _moved(old: Table, names: list[str]) -> Select[Any]:
    """The new current rows whose value, label or version differ from the replaced ones."""
    sc, o = scores_current.c, old.c
    same = and_(o.account_id == sc.account_id, o.score == sc.score)
    differs = or_(
        o.account_id.is_(None),
        o.version != sc.version,
        o.value != sc.value,
        o.label.is_distinct_from(sc.label),
    )
    return (
        select(*(sc[c] for c in _COLS))
        .select_from(scores_current.outerjoin(old, same))
        .where(sc.score.in_(names), differs)
    )


def _append_history(conn: Connection, moved: Select[Any]) -> int:
    """Insert `moved` into the history; how many rows that was."""
    if conn.dialect.name == "sqlite":  # sqlite3 counts INSERT ... SELECT rows itself
        return int(conn.execute(score_history.insert().from_select(list(_COLS), moved)).rowcount)
    changed = conn.execute(select(func.count()).select_from(moved.subquery())).scalar_one()
    conn.execute(score_history.insert().from_select(list(_COLS), moved))
    return int(changed)


def save_tables(
    conn: Connection,
    con: duckdb.DuckDBPyConnection,
    tables: Mapping[str, str],
    versions: Mapping[str, int],
    now: datetime,
) -> int:
    """Replace the current rows of every score in `tables` (DuckDB tables made by
    `accord.scoring.compute.compute_tables`); append the rows that changed to history.

    Returns how many history rows were appended.
    """
    if not tables:
        return 0
    names = list(tables)
    old = _previous()
    old.create(conn)
    try:
        sc = scores_current.c
        keep = select(*(sc[c] for c in _KEYS)).where(sc.score.in_(names))
        conn.execute(old.insert().from_select(list(_KEYS), keep))
        conn.execute(scores_current.delete().where(sc.score.in_(names)))
        _load(conn, _new_rows(con, tables, versions, _stamp(conn, now)))
        changed = _append_history(conn, _moved(old, names))
    finally:
        old.drop(conn)
    return int(changed)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _as_dict(r: Any) -> dict[str, Any]:
    return {
        "account_id": r.account_id,
        "score": r.score,
        "version": r.version,
        "value": r.value,
        "label": r.label,
        "parts": r.parts,
        "computed_at": _utc(r.computed_at).isoformat(),
    }


def current_for(engine: Engine, account_id: str) -> list[dict[str, Any]]:
    """Every current score of one account; NotFound when the account does not exist."""
    with engine.connect() as conn:
        found = conn.execute(select(accounts.c.id).where(accounts.c.id == account_id)).first()
        if found is None:
            raise NotFound(f"account {account_id!r}: not found; check the id (acc_...)")
        q = select(scores_current).where(scores_current.c.account_id == account_id)
        rows = [_as_dict(r) for r in conn.execute(q)]
    order = {n: i for i, n in enumerate(("fit", "engagement", "intent", "health", "stage"))}
    return sorted(rows, key=lambda r: order.get(r["score"], 99))


def history_rows(engine: Engine, account_id: str, score: str) -> list[dict[str, Any]]:
    """One account's history of one score, oldest first."""
    h = score_history
    q = (
        select(h)
        .where(h.c.account_id == account_id, h.c.score == score)
        .order_by(h.c.computed_at, h.c.id)
    )
    with engine.connect() as conn:
        return [_as_dict(r) for r in conn.execute(q)]


def current_values(engine: Engine, score: str) -> dict[str, tuple[float, str | None]]:
    """account -> (value, label) of one score, as stored now."""
    sc = scores_current
    q = select(sc.c.account_id, sc.c.value, sc.c.label).where(sc.c.score == score)
    with engine.connect() as conn:
        return {a: (v, lbl) for a, v, lbl in conn.execute(q)}


__all__ = ["current_for", "current_values", "history_rows", "save_tables"]
