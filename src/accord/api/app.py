"""The FastAPI application: Segment-compatible ingest, health, one AccordError handler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from fastapi import FastAPI, Request
from sqlalchemy import Engine
from starlette.responses import Response

from accord.api.auth import WriteKeys
from accord.api.segment import SegmentIngest, ingest_first
from accord.errors import AccordError
from accord.graph.account_lookup import AccountLookup, graph_signature
from accord.graph.stitch import IdentityStitcher, read_identities
from accord.ingest.event_catalogue import load_catalogue
from accord.realtime.consumer import Consumer
from accord.realtime.gcwatch import GcWatch, PacedFullCollections, freeze_alive
from accord.realtime.process import ConsumerProcess
from accord.realtime.watch import CommitNotifier
from accord.signals import load_library
from accord.store.group_commit import GroupCommitWriter
from accord.workspace import Workspace, open_workspace

REFRESH_SECONDS = 5.0
CONSUMER_GAP_SECONDS = 0.002  # at most one signal-consumer step per 2 ms under load
CONSUMER_POLL_SECONDS = 0.05  # a step at least this often (commits wake it sooner)
# The writer thread gives up the GIL around every database call; with the default 5 ms
# switch interval each hand-back waits behind the busy event loop and a commit takes ~15 ms.
GIL_SWITCH_SECONDS = 0.0002
log = logging.getLogger(__name__)


def error_envelope(status: int, code: str, message: str, errors: list[str]) -> Response:
    """The one error shape of non-Segment routes."""
    body = {"ok": False, "code": code, "error": message, "errors": errors, "status": status}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _refresh_forever(ingest: SegmentIngest, workspace: Workspace) -> None:
    """Rebuild the account index when the graph changes; pick up other workers' identities."""
    engine = workspace.engine
    since = datetime.now(UTC)
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        checked = datetime.now(UTC) - timedelta(seconds=1)
        signature = await asyncio.to_thread(graph_signature, engine)
        if signature != ingest.stitcher.index.signature:
            ingest.stitcher.index = await asyncio.to_thread(AccountLookup.load, engine)
            log.info("account index rebuilt")
        known, group_accounts = await asyncio.to_thread(read_identities, engine, since)
        ingest.stitcher.merge_stored(known, group_accounts)
        since = checked


class WakingWriter(GroupCommitWriter):
    """The group-commit writer that also wakes the signal consumer after each commit: the one
    in this process directly, one in another process (another worker's, `accord worker`)
    through `CommitNotifier` on PostgreSQL (SQLite's watchers see the commit by themselves).
    No notification is sent while this process's consumer leads: nobody else needs it."""

    def __init__(
        self,
        engine: Engine,
        wake: threading.Event,
        leads: Callable[[], bool] = lambda: False,
        *,
        notify_gap: float = CONSUMER_GAP_SECONDS,
    ) -> None:
        super().__init__(engine)
        self.wake = wake
        self.leads = leads
        self.notifier = CommitNotifier(engine, gap=notify_gap)

    def on_commit(self) -> None:
        self.wake.set()
        if self.notifier.enabled and not self.leads():
            self.notifier.notify()

    def stop(self) -> None:
        super().stop()
        self.notifier.close()


class PacedWake(threading.Event):
    """A wake-up event that returns from `wait` no sooner than `gap` seconds after it last
    did: under load the consumer then takes one step per `gap` over everything committed
    meanwhile (each step has a fixed cost), while an idle consumer still wakes at once."""

    def __init__(self, gap: float) -> None:
        super().__init__()
        self.gap = gap
        self._last = 0.0

    def wait(self, timeout: float | None = None) -> bool:
        pause = self._last + self.gap - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        woken = super().wait(timeout)
        self._last = time.monotonic()
        return woken


def _start_consumer(consumer: Consumer) -> None:
    """Take the lead and load the window state (before gc.freeze), then run the thread."""
    if consumer.leader.acquire():
        consumer.open()
    consumer.start()


def create_app(
    workspace: Workspace, *, consumer: bool = True, consumer_process: bool = False
) -> FastAPI:
    """The app over an opened (migrated) workspace; `consumer` runs the real-time signal
    consumer, in a thread of this process or with `consumer_process` in a child process
    (`accord.realtime.process`; leave it to `accord worker` with `consumer=False`)."""
    engine = workspace.engine
    keys = WriteKeys(engine)
    wake = PacedWake(CONSUMER_GAP_SECONDS)
    gc_watch = GcWatch(freeze_survivors=True)
    signals: Consumer | None = None
    child: ConsumerProcess | None = None
    if consumer and consumer_process:
        load_library(workspace.settings.definitions_dir)  # bad files fail here, not in the child
        child = ConsumerProcess(workspace.path, workspace.settings.database_url,
                                poll_seconds=CONSUMER_POLL_SECONDS,
                                gap_seconds=CONSUMER_GAP_SECONDS)  # fmt: skip
    elif consumer:
        specs = load_library(workspace.settings.definitions_dir)
        signals = Consumer(engine, specs, wake=wake, poll_seconds=CONSUMER_POLL_SECONDS)
    writer = WakingWriter(engine, wake, lambda: signals is not None and signals.leader.held)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        keys.refresh()
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        ingest.stitcher = await asyncio.to_thread(IdentityStitcher.load, engine)
        writer.start()
        if signals is not None:
            await asyncio.to_thread(_start_consumer, signals)
        if child is not None:
            await asyncio.to_thread(child.start)
        refresher = asyncio.create_task(_refresh_forever(ingest, workspace))
        freeze_alive()
        gc_watch.install()
        full_collections = PacedFullCollections().start()
        try:
            yield
        finally:
            full_collections.stop()
            gc_watch.uninstall()
            refresher.cancel()
            writer.stop()
            if signals is not None:
                await asyncio.to_thread(signals.stop)
            if child is not None:
                await asyncio.to_thread(child.stop)

    catalogue = load_catalogue(workspace.settings.definitions_dir)  # bad files fail at start-up
    ingest = SegmentIngest(keys, IdentityStitcher(AccountLookup.empty()), writer, catalogue)
    app = FastAPI(title="Accord", lifespan=lifespan, openapi_url=None)
    app.state.workspace = workspace
    app.state.writer = writer
    app.state.ingest = ingest
    app.state.consumer = signals
    app.state.consumer_process = child
    app.state.gc = gc_watch
    for route in ingest.routes():
        app.router.routes.append(route)

    @app.exception_handler(AccordError)
    async def accord_error(request: Request, exc: AccordError) -> Response:
        return error_envelope(exc.http_status, exc.code, exc.message, exc.errors)

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        """Liveness: the writer and consumer threads, and the longest GC pause so far."""
        body: dict[str, object] = {"ok": True, "writer": writer.is_alive(),
                                   "commits": writer.commits, "gc": gc_watch.to_json()}  # fmt: skip
        if signals is not None:
            body["consumer"] = {"alive": signals.is_alive(), "leader": signals.leader.held,
                                "processed": signals.processed, "fired": signals.fired,
                                "last_id": signals.cursor.last_id}  # fmt: skip
        if child is not None:
            body["consumer"] = child.health()
        return body

    return app


def app_from_env() -> Any:
    """Factory for `uvicorn --factory`: the workspace ACCORD_WORKSPACE names, its signal
    consumer in a child process (ACCORD_SERVE_CONSUMER=1, the default), in a thread
    (`thread`) or elsewhere (`0`).

    `/v1/*` goes straight to the ingest ASGI app, ahead of the framework's routing.
    """
    workspace = open_workspace(os.environ.get("ACCORD_WORKSPACE"), migrate=False)
    mode = os.environ.get("ACCORD_SERVE_CONSUMER", "1")
    app = create_app(workspace, consumer=mode != "0", consumer_process=mode == "1")
    return ingest_first(app, app.state.ingest)
