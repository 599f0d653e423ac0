"""The library entry point: a workspace is settings + a migrated database engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from accord.settings import Settings, load_settings
from accord.store.engine import ensure_schema, make_engine


@dataclass
class Workspace:
    settings: Settings
    engine: Engine = field(repr=False)

    @property
    def path(self) -> Path:
        return self.settings.workspace

    def close(self) -> None:
        self.engine.dispose()


def open_workspace(
    path: str | Path | None = None, *, database_url: str | None = None, migrate: bool = True
) -> Workspace:
    """Open (and by default migrate) the workspace at `path`, or ACCORD_WORKSPACE."""
    settings = load_settings(path, database_url)
    settings.workspace.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    if migrate:
        ensure_schema(engine)
    return Workspace(settings=settings, engine=engine)
