"""Settings from the environment (`ACCORD_*`) and the command line; built by a function."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from accord.errors import ConfigError

DEFAULT_WORKSPACE = "./accord-data"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    workspace: Path
    database_url: str

    @property
    def definitions_dir(self) -> Path:
        return self.workspace / "definitions"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def check_database_url(url: str) -> str:
    """Reject URLs whose driver we do not ship, with the fix in the message."""
    scheme = url.split("://", 1)[0]
    if scheme == "sqlite" or scheme == "postgresql+psycopg":
        return url
    if scheme in ("postgres", "postgresql", "postgresql+psycopg2"):
        raise ConfigError(
            f"ACCORD_DATABASE_URL: scheme '{scheme}://' is not supported; "
            "use postgresql+psycopg://user@host/db"
        )
    raise ConfigError(
        f"ACCORD_DATABASE_URL: scheme '{scheme}://' is not supported; "
        "use sqlite:///path/accord.db or postgresql+psycopg://user@host/db"
    )


def load_settings(workspace: str | Path | None = None, database_url: str | None = None) -> Settings:
    """Resolve the workspace folder and database URL (argument > environment > default)."""
    ws = Path(workspace or os.environ.get("ACCORD_WORKSPACE") or DEFAULT_WORKSPACE)
    url = database_url or os.environ.get("ACCORD_DATABASE_URL") or sqlite_url(ws / "accord.db")
    return Settings(workspace=ws, database_url=check_database_url(url))
