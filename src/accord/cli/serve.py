"""`accord serve`: the HTTP API (Segment-compatible ingest) under uvicorn, uvloop + httptools.

With several workers, each listens on a socket of its own on the same port (SO_REUSEPORT),
and the kernel spreads new connections evenly over them. On one shared socket, the worker
that wakes first accepts every connection waiting (libuv accepts until the queue is empty),
so a burst of new connections can land mostly on one worker while the other idles.
"""

from __future__ import annotations

import operator
import os
import socket
from typing import Annotated, Any

import typer

from accord.cli.context import err, workspace
from accord.errors import ConfigError


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
                help="Evaluate signals on committed events in a process beside each server "
                "worker (--no-consumer when `accord worker` does it)."
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
        options: dict[str, Any] = {
            "factory": True,
            "host": host,
            "port": port,
            "workers": workers,
            "loop": "uvloop",
            "http": "accord.api.protocol:IngestProtocol",  # httptools; answers /v1/* itself
            "log_level": log_level,
            "access_log": False,
            "proxy_headers": False,  # nothing reads the client address; skip the check
            "server_header": False,
        }
        if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
            uvicorn.run(APP, **options)
            return
        from uvicorn.supervisors import Multiprocess

        config = uvicorn.Config(APP, **options)
        Multiprocess(config, sockets=[PortPerWorker.create(host, port)]).run()


APP = "accord.api.app:app_from_env"


class _Call:
    """Pickles as the call `fn(*args)`: unpickled, it is that call's result."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.fn, self.args


class PortPerWorker(socket.socket):
    """The port held by the supervisor: bound with SO_REUSEPORT and never listening. A worker
    process receives, in place of a copy of it, a socket of its own bound to the same address
    with SO_REUSEPORT (see `__reduce_ex__`); uvicorn listens on it once the worker has started
    up: one accept queue per worker, none before the worker can serve. The socket is made by
    standard-library calls as the worker unpickles it, ahead of the worker's first answer to
    its supervisor's health check, so it imports nothing more."""

    @classmethod
    def create(cls, host: str, port: int) -> PortPerWorker:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = cls(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
        except OSError as e:
            sock.close()
            raise ConfigError(
                f"--port {port}: cannot listen on {host}:{port} ({e.strerror}); "
                "stop what uses it or pick another port"
            ) from None
        return sock

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        made = _Call(socket.socket, self.family, socket.SOCK_STREAM)
        steps = [
            made,  # the same object in each step below (the pickle's memo)
            _Call(socket.socket.setsockopt, made, socket.SOL_SOCKET, socket.SO_REUSEADDR, 1),
            _Call(socket.socket.setsockopt, made, socket.SOL_SOCKET, socket.SO_REUSEPORT, 1),
            _Call(socket.socket.bind, made, self.getsockname()),
        ]
        return operator.itemgetter(0), (steps,)
