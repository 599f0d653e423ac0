"""`accord serve`: the HTTP API (Segment-compatible ingest) under uvicorn, uvloop + httptools."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from accord.cli.context import err, workspace


def register(app: typer.Typer) -> None:
    """Add the `serve` command to the root app."""

    @app.command("serve")
    def serve(
        ctx: typer.Context,
        *,
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
        workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
        log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
        consumer: Annotated[
            bool,
            typer.Option(
                help="Evaluate signals on committed events in a thread of the server "
                "(--no-consumer when `accord worker` does it)."
            ),
        ] = True,
    ) -> None:
        """Migrate the database if needed, then serve /v1/* ingest and /healthz, and turn
        committed events into stored signals in real time."""
        ws = workspace(ctx)  # opening migrates
        os.environ["ACCORD_WORKSPACE"] = str(ws.settings.workspace)
        os.environ["ACCORD_DATABASE_URL"] = ws.settings.database_url
        os.environ["ACCORD_SERVE_CONSUMER"] = "1" if consumer else "0"
        ws.close()
        import uvicorn  # imported here: every other command starts faster without it

        err.print(f"serving on http://{host}:{port} with {workers} worker(s)")
        uvicorn.run(
            "accord.api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http="accord.api.protocol:IngestProtocol",  # httptools; answers /v1/* itself
            log_level=log_level,
            access_log=False,
            proxy_headers=False,  # nothing reads the client address; skip the per-request check
            server_header=False,
        )
