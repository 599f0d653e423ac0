"""One active consumer per name: a PostgreSQL advisory lock, or a file lock beside SQLite.

Window state lives in the consumer's memory, so two consumers of one name would each miss
the other's events; the second one waits until the first lets go.
"""

from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text


def _key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for `name`."""
    digest = hashlib.blake2b(f"accord.consumer.{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Leadership:
    """`acquire()` without blocking; `release()` lets a waiting consumer take over."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.held = False
        self._conn: Connection | None = None
        self._file: IO[bytes] | None = None

    def acquire(self) -> bool:
        if self.held:
            return True
        if self.engine.dialect.name == "postgresql":
            self.held = self._acquire_pg()
        else:
            self.held = self._acquire_file()
        return self.held

    def _acquire_pg(self) -> bool:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = bool(
            conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _key(self.name)}).scalar()
        )
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def _acquire_file(self) -> bool:
        database = self.engine.url.database
        if not database or database == ":memory:":
            return True
        fh = Path(f"{database}.consumer-{self.name}.lock").open("ab")  # noqa: SIM115 held while leading
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        self._file = fh
        return True

    def release(self) -> None:
        if self._conn is not None:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(self.name)})
            self._conn.close()
            self._conn = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        self.held = False
