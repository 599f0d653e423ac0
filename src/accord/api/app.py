"""The FastAPI application: Segment-compatible ingest, health, one AccordError handler."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

from accord.api.accounts import AccountIndex, graph_signature
from accord.api.auth import WriteKeys
from accord.api.segment import SegmentIngest
from accord.api.stitch import IdentityStitcher, read_identities
from accord.errors import AccordError
from accord.store.events import GroupCommitWriter
from accord.workspace import Workspace, open_workspace

REFRESH_SECONDS = 5.0
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
            ingest.stitcher.index = await asyncio.to_thread(AccountIndex.load, engine)
            log.info("account index rebuilt")
        known, group_accounts = await asyncio.to_thread(read_identities, engine, since)
        ingest.stitcher.merge_stored(known, group_accounts)
        since = checked


def create_app(workspace: Workspace) -> FastAPI:
    """The app over an opened (migrated) workspace."""
    engine = workspace.engine
    keys = WriteKeys(engine)
    writer = GroupCommitWriter(engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        keys.refresh()
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        ingest.stitcher = await asyncio.to_thread(IdentityStitcher.load, engine)
        writer.start()
        refresher = asyncio.create_task(_refresh_forever(ingest, workspace))
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            refresher.cancel()
            writer.stop()

    ingest = SegmentIngest(keys, IdentityStitcher(AccountIndex({}, {}, {}, None)), writer)
    app = FastAPI(title="Accord", lifespan=lifespan, openapi_url=None)
    app.state.workspace = workspace
    app.state.writer = writer
    app.state.ingest = ingest
    for route in ingest.routes():
        app.router.routes.append(route)

    @app.exception_handler(AccordError)
    async def accord_error(request: Request, exc: AccordError) -> Response:
        return error_envelope(exc.http_status, exc.code, exc.message, exc.errors)

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        """Liveness: the process is up and its writer thread runs."""
        return {"ok": True, "writer": writer.is_alive(), "commits": writer.commits}

    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory`: the workspace ACCORD_WORKSPACE names."""
    workspace = open_workspace(os.environ.get("ACCORD_WORKSPACE"), migrate=False)
    return create_app(workspace)
