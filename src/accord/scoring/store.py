"""Stored scores: `scores_current` (one row per account and score) and `score_history`
(a row whenever an account's value, label or version changes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from accord.errors import NotFound
from accord.scoring.parts import Scored
from accord.store.schema import accounts, score_history, scores_current

_BATCH = 20_000


def _current(conn: Connection, names: Iterable[str]) -> dict[tuple[str, str], tuple[Any, ...]]:
    sc = scores_current
    q = select(sc.c.account_id, sc.c.score, sc.c.version, sc.c.value, sc.c.label).where(
        sc.c.score.in_(list(names))
    )
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in conn.execute(q)}


def save(
    conn: Connection,
    results: Mapping[str, Mapping[str, Scored]],
    versions: Mapping[str, int],
    now: datetime,
) -> int:
    """Replace the current rows of every score in `results`; append changed rows to history.

    Returns how many history rows were appended.
    """
    old = _current(conn, results)
    rows: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for name, by_account in results.items():
        version = versions[name]
        for acc, s in by_account.items():
            row = {"account_id": acc, "score": name, "version": version, "value": s.value,
                   "label": s.label, "parts": s.parts, "computed_at": now}  # fmt: skip
            rows.append(row)
            if old.get((acc, name)) != (version, s.value, s.label):
                changed.append(row)
    conn.execute(scores_current.delete().where(scores_current.c.score.in_(list(results))))
    for i in range(0, len(rows), _BATCH):
        conn.execute(scores_current.insert(), rows[i : i + _BATCH])
    for i in range(0, len(changed), _BATCH):
        conn.execute(score_history.insert(), changed[i : i + _BATCH])
    return len(changed)


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


__all__ = ["current_for", "current_values", "history_rows", "save"]
