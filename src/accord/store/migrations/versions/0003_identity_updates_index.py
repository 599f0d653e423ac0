"""identities and groups: an index on updated_at

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 17:20:00.000000

Every few seconds each server worker reads the identities and groups other processes
updated since its last look (`accord.graph.stitch.read_identities`); without an index that
read scanned both tables whole, and they grow with every visitor.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TABLES = ("identities", "groups")


def upgrade() -> None:
    for table in _TABLES:
        op.create_index(f"ix_{table}_updated_at", table, ["updated_at"], unique=False)


def downgrade() -> None:
    for table in _TABLES:
        op.drop_index(f"ix_{table}_updated_at", table_name=table)
