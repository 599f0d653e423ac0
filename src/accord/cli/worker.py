"""`accord worker`: the real-time signal consumer as its own process."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from accord.cli.context import err, workspace
from accord.realtime.consumer import Consumer
from accord.signals import load_library


def register(app: typer.Typer) -> None:
    """Add the `worker` command to the root app."""
    app.command("worker")(worker)


def worker(
    ctx: typer.Context,
    *,
    poll_ms: Annotated[
        float, typer.Option(min=0.5, help="Milliseconds between polls of the events table.")
    ] = 5.0,
    batch: Annotated[int, typer.Option(min=1, help="Events per read at most.")] = 2000,
    save_ms: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Milliseconds a step that fired nothing may wait before its state is saved "
            "(a fired signal is saved at once).",
        ),
    ] = 250.0,
    once: Annotated[
        bool, typer.Option("--once", help="Process what is committed now, then exit.")
    ] = False,
) -> None:
    """Turn committed events into stored signals: resumes from its cursor, polls until stopped
    (Ctrl-C or SIGTERM). Only one consumer is active at a time; others wait to take over."""
    ws = workspace(ctx)
    specs = load_library(ws.settings.definitions_dir)
    consumer = Consumer(
        ws.engine, specs, batch=batch, poll_seconds=poll_ms / 1000.0, save_seconds=save_ms / 1000.0
    )
    try:
        if once:
            consumer.open()
            n = consumer.drain()
            consumer.tick()
            err.print(f"{n:,} events processed, {consumer.fired:,} signals fired.")
            return
        _run_until_signalled(consumer)
    finally:
        consumer.leader.release()
        ws.close()


def _run_until_signalled(consumer: Consumer) -> None:
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    err.print(f"worker: consuming events into signals (cursor {consumer.name!r})")
    consumer.start()
    while not done.wait(0.5):
        if not consumer.is_alive():
            raise typer.Exit(1)
    consumer.stop()
    err.print(f"worker: stopped after {consumer.processed:,} events, {consumer.fired:,} signals.")
