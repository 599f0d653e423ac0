"""Stored score definitions (`score_definitions`): every version ever used, one active.

The active version of a score is the stored one marked active. A definition found on disk
(shipped or in the workspace) is stored the first time it is seen; one whose version is
newer than every stored version of its score becomes active (so a bumped workspace file
takes effect), while an older or equal one never undoes an apply or a rollback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from accord.errors import Conflict
from accord.scoring.library import LoadedScore
from accord.scoring.specs import ORDER, ScoreSpec, spec_from_json
from accord.store.schema import score_definitions

sd = score_definitions


@dataclass(frozen=True)
class Active:
    """The definition a score is computed with now."""

    spec: ScoreSpec
    source: str

    @property
    def version(self) -> int:
        return self.spec.version


def as_json(spec: ScoreSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", exclude_defaults=False)


def stored(conn: Connection, score: str, version: int) -> dict[str, Any] | None:
    q = select(sd.c.spec, sd.c.source).where(sd.c.score == score, sd.c.version == version)
    row = conn.execute(q).first()
    return None if row is None else {"spec": row.spec, "source": row.source}


def max_version(conn: Connection, score: str) -> int:
    return int(
        conn.execute(select(func.max(sd.c.version)).where(sd.c.score == score)).scalar() or 0
    )


def register(conn: Connection, loaded: LoadedScore) -> bool:
    """Store `loaded` under its version; False when that exact definition is already stored.

    A different definition under a stored version is a Conflict: versions never change.
    """
    spec, score, version = loaded.spec, loaded.score, loaded.version
    have = stored(conn, score, version)
    if have is not None:
        if have["spec"] != as_json(spec):
            raise Conflict(
                f"{loaded.source}: {score} version {version} is already stored with a "
                f"different definition; give this one version {max_version(conn, score) + 1}"
            )
        return False
    conn.execute(
        sd.insert(),
        [{"score": score, "version": version, "spec": as_json(spec), "source": loaded.source,
          "created_at": datetime.now(UTC), "active": False}],
    )  # fmt: skip
    return True


def activate(conn: Connection, score: str, version: int) -> None:
    conn.execute(update(sd).where(sd.c.score == score).values(active=sd.c.version == version))


def versions(conn: Connection, score: str) -> list[dict[str, Any]]:
    q = (
        select(sd.c.version, sd.c.source, sd.c.created_at, sd.c.active)
        .where(sd.c.score == score)
        .order_by(sd.c.version)
    )
    return [dict(r._mapping) for r in conn.execute(q)]


def active_spec(conn: Connection, score: str) -> ScoreSpec | None:
    """The stored active definition of `score`, if any."""
    q = select(sd.c.spec).where(sd.c.score == score, sd.c.active.is_(True))
    row = conn.execute(q).first()
    return None if row is None else spec_from_json(row.spec)


def resolve(conn: Connection, library: Mapping[str, LoadedScore]) -> dict[str, Active]:
    """The active definition of every score, registering the library's as needed."""
    out: dict[str, Active] = {}
    for score in ORDER:
        loaded = library.get(score)
        if loaded is not None:
            newest = max_version(conn, score)
            register(conn, loaded)
            if loaded.version > newest:
                activate(conn, score, loaded.version)
        q = select(sd.c.spec, sd.c.source).where(sd.c.score == score, sd.c.active.is_(True))
        row = conn.execute(q).first()
        if row is not None:
            out[score] = Active(spec=spec_from_json(row.spec), source=row.source)
    return out


__all__ = [
    "Active",
    "activate",
    "active_spec",
    "as_json",
    "max_version",
    "register",
    "resolve",
    "versions",
]
