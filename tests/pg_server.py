"""A throwaway PostgreSQL server for tests: initdb in a temp dir, loopback, a free port.

As root (CI), initdb and the server run as the unprivileged `postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


class PostgresUnavailable(RuntimeError):
    pass


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable("initdb not found; install Debian's postgresql package")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str], as_user: str | None) -> None:
    cmd = ["runuser", "-u", as_user, "--", *args] if as_user else args
    subprocess.run(cmd, check=True, capture_output=True, text=True)


# Tests need no durability: a crash loses only a throwaway database.
FAST = "-c fsync=off -c full_page_writes=off"
# Benchmarks measure what a production server does: every commit flushed to disk (the
# defaults), with room for the WAL a bulk load writes between checkpoints.
DURABLE = "-c max_wal_size=4GB -c checkpoint_timeout=15min"


@contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[str]:
    """Yield a base URL `postgresql+psycopg://accord@127.0.0.1:PORT` for a fresh server;
    `durable` keeps PostgreSQL's fsync and full-page writes on (benchmarks), else off."""
    bindir = _bindir()
    as_user = "postgres" if os.geteuid() == 0 else None
    tmp = Path(tempfile.mkdtemp(prefix="accord-pg-"))
    if as_user:
        shutil.chown(tmp, as_user)
    data, log, port = tmp / "data", tmp / "log", _free_port()
    try:
        _run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "accord"], as_user)
        opts = f"-h 127.0.0.1 -p {port} -k {tmp} {DURABLE if durable else FAST}"
        start = [str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w"]
        _run([*start, "start"], as_user)
    except subprocess.CalledProcessError as e:
        server_log = log.read_text() if log.exists() else ""
        shutil.rmtree(tmp, ignore_errors=True)
        raise PostgresUnavailable(f"{e.cmd}: {e.stderr}\n{server_log}") from e
    try:
        yield f"postgresql+psycopg://accord@127.0.0.1:{port}"
    finally:
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], as_user)
        shutil.rmtree(tmp, ignore_errors=True)


def create_database(base_url: str) -> str:
    """Create a uuid-named database on the server and return its SQLAlchemy URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = base_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"
