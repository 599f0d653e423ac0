"""Versioned score definitions: preview a change on current data, apply it, roll back.

`preview` computes the new definition's scores on the store's current data and compares
them with the stored ones; it writes nothing. `apply` stores the new version, makes it
active and recomputes; `rollback` makes an earlier stored version active and recomputes,
so the new rows record the version they were made with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from accord.errors import Conflict, DefinitionError, NotFound
from accord.scoring import definitions
from accord.scoring.compute import (
    RunSummary,
    active_definitions,
    compute_and_store,
    compute_from_store,
)
from accord.scoring.library import LoadedScore, load_file, load_library
from accord.scoring.store import current_values


def load_definition(path: Path) -> LoadedScore:
    """One score definition file, or a DefinitionError listing every problem in it."""
    if not path.is_file():
        raise DefinitionError(f"{path}: no such file; give the path of a score definition")
    loaded, errors = load_file(path)
    if errors or loaded is None:
        n = len(errors)
        raise DefinitionError(f"{n} error{'s' * (n != 1)} in {path}; nothing was applied.",
                              errors=errors)  # fmt: skip
    return loaded


@dataclass(frozen=True)
class Change:
    account_id: str
    before: float | None
    after: float | None
    before_label: str | None = None
    after_label: str | None = None

    @property
    def delta(self) -> float:
        return (self.after or 0.0) - (self.before or 0.0)


@dataclass(frozen=True)
class Preview:
    """The new definition's scores against the stored ones (nothing was written)."""

    score: str
    from_version: int | None
    to_version: int
    accounts: int
    changed: int
    up: int
    down: int
    mean_abs_change: float
    biggest: list[Change] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "accounts": self.accounts,
            "changed": self.changed,
            "up": self.up,
            "down": self.down,
            "mean_abs_change": self.mean_abs_change,
            "biggest": [
                {"account_id": c.account_id, "before": c.before, "after": c.after,
                 "before_label": c.before_label, "after_label": c.after_label}
                for c in self.biggest
            ],
        }  # fmt: skip


def preview(
    engine: Engine,
    new: LoadedScore,
    definitions_dir: Path | None = None,
    *,
    now: datetime | None = None,
    top: int = 10,
) -> Preview:
    """The scores `new` would give on current data, compared with the stored ones."""
    specs = {k: v.spec for k, v in load_library(definitions_dir).items()}
    with engine.connect() as conn:  # read-only: nothing is registered
        for k in list(specs):
            if (stored := definitions.active_spec(conn, k)) is not None:
                specs[k] = stored
        current = definitions.active_spec(conn, new.score)
    specs[new.score] = new.spec
    results = compute_from_store(engine, specs, now or datetime.now(UTC))
    after = results.get(new.score, {})
    before = current_values(engine, new.score)
    changes = [
        Change(acc, before.get(acc, (None, None))[0], s.value,
               before.get(acc, (None, None))[1], s.label)
        for acc, s in after.items()
    ]  # fmt: skip
    changes += [Change(acc, v, None, lbl, None) for acc, (v, lbl) in before.items()
                if acc not in after]  # fmt: skip
    moved = [c for c in changes if (c.before, c.before_label) != (c.after, c.after_label)]
    moved.sort(key=lambda c: (-abs(c.delta), c.account_id))
    return Preview(
        score=new.score,
        from_version=current.version if current else None,
        to_version=new.version,
        accounts=len(after),
        changed=len(moved),
        up=sum(c.delta > 0 for c in moved),
        down=sum(c.delta < 0 for c in moved),
        mean_abs_change=round(sum(abs(c.delta) for c in moved) / len(changes), 2)
        if changes
        else 0.0,
        biggest=moved[:top],
    )


def apply(
    engine: Engine,
    new: LoadedScore,
    definitions_dir: Path | None = None,
    *,
    now: datetime | None = None,
) -> RunSummary:
    """Store `new` (its version must be new, or the same definition), activate it, recompute."""
    active_definitions(engine, definitions_dir)  # register the library first
    with engine.begin() as conn:
        newest = definitions.max_version(conn, new.score)
        known = definitions.stored(conn, new.score, new.version) is not None
        if not known and new.version <= newest:
            raise Conflict(
                f"{new.source}: version: {new.score} version {new.version} is not newer than "
                f"the stored version {newest}; give it version {newest + 1}"
            )
        definitions.register(conn, new)
        definitions.activate(conn, new.score, new.version)
    return compute_and_store(engine, definitions_dir, now)


def rollback(
    engine: Engine,
    score: str,
    version: int,
    definitions_dir: Path | None = None,
    *,
    now: datetime | None = None,
) -> RunSummary:
    """Make stored `version` of `score` active again and recompute."""
    active_definitions(engine, definitions_dir)
    with engine.begin() as conn:
        if definitions.stored(conn, score, version) is None:
            known = [v["version"] for v in definitions.versions(conn, score)]
            raise NotFound(
                f"{score} version {version}: not stored; stored versions: "
                f"{', '.join(map(str, known)) or 'none'}"
            )
        definitions.activate(conn, score, version)
    return compute_and_store(engine, definitions_dir, now)


__all__ = ["Change", "Preview", "apply", "load_definition", "preview", "rollback"]
