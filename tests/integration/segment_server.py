"""A real uvicorn server over a workspace, on 127.0.0.1 and a free port, in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from accord.api.app import create_app
from accord.api.protocol import IngestProtocol
from accord.api.segment import ingest_first
from accord.store.keys import create_key
from accord.store.schema import events
from accord.workspace import Workspace


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    key: str
    key_id: str
    workspace: Workspace
    app: FastAPI

    def event_count(self) -> int:
        with self.workspace.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())

    def events(self) -> list[dict[str, Any]]:
        with self.workspace.engine.connect() as conn:
            rows = conn.execute(select(events).order_by(events.c.id)).mappings().all()
            return [dict(row) for row in rows]


FAST_PATH = False  # serve every test as `accord serve` does (the test_segment_fast_* files)


@contextmanager
def running_server(
    workspace: Workspace, *, dispatch: bool = False, consumer_process: bool = False
) -> Iterator[Server]:
    """Serve `create_app(workspace)` with uvloop + httptools until the block ends; with
    `dispatch`, behind `ingest_first` (the `/v1/*` ASGI fast path); with FAST_PATH set, as
    `accord serve` runs it (also `IngestProtocol`, ingest answered inside the protocol)."""
    key_id, key = create_key(workspace.engine, "write", "tests")
    app = create_app(workspace, consumer_process=consumer_process)
    served = ingest_first(app, app.state.ingest) if dispatch or FAST_PATH else app
    port = free_port()
    http: type[IngestProtocol] | str = IngestProtocol if FAST_PATH else "httptools"
    config = uvicorn.Config(
        served, host="127.0.0.1", port=port, loop="uvloop", http=http, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield Server(f"http://127.0.0.1:{port}", key, key_id, workspace, app)
    finally:
        server.should_exit = True
        thread.join(20)
