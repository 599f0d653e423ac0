"""The Alembic migrations and the Core schema agree, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from accord.store.engine import current_revision, head_revision, upgrade
from accord.store.schema import metadata
from accord.workspace import Workspace


def test_migrations_reach_head(workspace: Workspace) -> None:
    assert current_revision(workspace.engine) == head_revision()
    tables = set(inspect(workspace.engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_migrations_match_models(workspace: Workspace) -> None:
    with workspace.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == []


def test_upgrade_twice_is_a_noop(workspace: Workspace) -> None:
    upgrade(workspace.engine)
    assert current_revision(workspace.engine) == head_revision()
