"""event_dedupe: keys clustered (SQLite WITHOUT ROWID), byte-order keys and BRIN (PostgreSQL)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 07:05:00.000000

Every stored event inserts one dedupe key, so the key table is made cheaper to grow: on
SQLite it becomes a WITHOUT ROWID table (one B-tree per key, not a row plus an index entry);
on PostgreSQL its key columns compare in byte order (COLLATE "C") and `received_at`, read
only to prune old keys, gets a BRIN index instead of a B-tree. Stored keys are kept, so
events already stored still deduplicate after the upgrade.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = "source, message_id, received_at"


def _sqlite_copy(with_rowid: bool) -> None:
    """Rebuild event_dedupe (SQLite) with or without its rowid, keeping every key."""
    suffix = "" if with_rowid else " WITHOUT ROWID"
    op.execute(
        "CREATE TABLE event_dedupe_new ("
        "source VARCHAR(100) NOT NULL, message_id VARCHAR(255) NOT NULL, "
        "received_at DATETIME NOT NULL, "
        f"CONSTRAINT pk_event_dedupe PRIMARY KEY (source, message_id)){suffix}"
    )
    op.execute(
        f"INSERT INTO event_dedupe_new ({_COLUMNS}) SELECT {_COLUMNS} FROM event_dedupe "
        "ORDER BY source, message_id"
    )
    op.execute("DROP TABLE event_dedupe")  # its index goes with it
    op.execute("ALTER TABLE event_dedupe_new RENAME TO event_dedupe")
    op.create_index("ix_event_dedupe_received_at", "event_dedupe", ["received_at"])


def _pg_keys(collation: str | None, index_using: str) -> None:
    collate = f' COLLATE "{collation}"' if collation else ' COLLATE "default"'
    op.execute(
        f"ALTER TABLE event_dedupe ALTER COLUMN source TYPE VARCHAR(100){collate}, "
        f"ALTER COLUMN message_id TYPE VARCHAR(255){collate}"
    )
    op.drop_index("ix_event_dedupe_received_at", table_name="event_dedupe")
    op.create_index(
        "ix_event_dedupe_received_at",
        "event_dedupe",
        ["received_at"],
        postgresql_using=index_using,
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_copy(with_rowid=False)
    else:
        _pg_keys("C", "brin")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_copy(with_rowid=True)
    else:
        _pg_keys(None, "btree")
