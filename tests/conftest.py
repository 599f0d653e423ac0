"""Fixtures: workspaces on SQLite and on a real throwaway PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.workspace import Workspace, open_workspace
from tests.pg_server import PostgresUnavailable, create_database, postgres_server

REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "data" / "realworld"
DATA = Path(__file__).parent / "data"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and callspec.params.get("db_url") == "postgres":
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_base_url() -> Iterator[str]:
    """A PostgreSQL server for the whole session; under CI a failure to start fails."""
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as e:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL test server did not start: {e}")
        pytest.skip(f"PostgreSQL unavailable: {e}")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'accord.db'}"
    return create_database(request.getfixturevalue("pg_base_url"))


@pytest.fixture
def workspace(db_url: str, tmp_path: Path) -> Iterator[Workspace]:
    """A migrated workspace on each backend."""
    ws = open_workspace(tmp_path / "ws", database_url=db_url)
    yield ws
    ws.close()


@pytest.fixture
def sqlite_workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = open_workspace(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture
def realworld() -> Path:
    if not REALWORLD.is_dir():
        pytest.fail(f"shared real-world data not found at {REALWORLD}")
    return REALWORLD
