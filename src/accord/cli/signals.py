"""`accord signals ...`: check definitions, run the batch evaluation, list and explain."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer

from accord.cli.context import CliState, duration, err, workspace
from accord.errors import DefinitionError
from accord.settings import load_settings
from accord.signals.batch import run_batch
from accord.signals.explain import explanation, render
from accord.signals.library import load_library
from accord.signals.signal import Signal
from accord.signals.specs import LoadedSignal
from accord.signals.store import list_signals

app = typer.Typer(help="Signals: validate definitions, evaluate them, explain what fired.")


def _specs(ctx: typer.Context) -> list[LoadedSignal]:
    state: CliState = ctx.find_root().obj
    return load_library(load_settings(state.workspace).definitions_dir)


def _print_json(doc: object) -> None:
    sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")


def _line(s: Signal) -> str:
    numbers = ", ".join(f"{k}={v}" for k, v in s.evidence.items() if k != "events")
    return f"{s.id}\t{s.type}\t{s.account_id}\t{s.observed_at.isoformat()}\t{s.strength}\t{numbers}"


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Validate shipped and workspace definitions; print every problem as FILE:LINE:COL."""
    try:
        specs = _specs(ctx)
    except DefinitionError as e:
        for line in e.errors:
            err.print(line, highlight=False, soft_wrap=True, markup=False)
        err.print(e.message, highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(2) from e
    own = sum(not s.shipped for s in specs)
    err.print(f"{len(specs)} signal definitions OK ({own} from the workspace).", highlight=False)


@app.command("run")
def run(
    ctx: typer.Context,
    *,
    since: Annotated[
        str, typer.Option(help="Report signals observed within this period (7d, 24h).")
    ] = "30d",
    save: Annotated[bool, typer.Option(help="Store the fired signals (idempotent).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Evaluate every definition over the whole event history (batch) and store what fired."""
    period = duration("--since", since)
    specs = _specs(ctx)
    ws = workspace(ctx)
    try:
        fired = run_batch(ws.engine, specs, period, save=save)
    finally:
        ws.close()
    if as_json:
        _print_json([s.to_json() for s in fired])
    else:
        for s in fired:
            sys.stdout.write(_line(s) + "\n")
    err.print(f"{len(fired)} signals observed in the last {since}.", highlight=False)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    *,
    account: Annotated[str | None, typer.Option(help="Only this account id.")] = None,
    type: Annotated[str | None, typer.Option("--type", help="Only this signal type.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    definitions: Annotated[
        bool, typer.Option("--definitions", help="List the loaded definitions instead.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """List stored signals (newest first), or the loaded definitions with --definitions."""
    if definitions:
        specs = _specs(ctx)
        if as_json:
            _print_json([{"id": s.id, "kind": s.spec.when.kind, "source": s.source,
                          "description": s.spec.description} for s in specs])  # fmt: skip
        else:
            for d in specs:
                sys.stdout.write(f"{d.id}\t{d.spec.when.kind}\t{d.source}\t{d.spec.description}\n")
        return
    ws = workspace(ctx)
    try:
        stored = list_signals(ws.engine, account_id=account, type=type, limit=limit)
    finally:
        ws.close()
    if as_json:
        _print_json([s.to_json() for s in stored])
    else:
        for s in stored:
            sys.stdout.write(_line(s) + "\n")


@app.command("explain")
def explain(
    ctx: typer.Context,
    signal_id: Annotated[str, typer.Argument(help="A stored signal id (sig_...).")],
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Why a signal fired: definition and line, the numbers that crossed, the events."""
    specs = _specs(ctx)
    ws = workspace(ctx)
    try:
        doc = explanation(ws.engine, signal_id, specs)
    finally:
        ws.close()
    if as_json:
        _print_json(doc)
    else:
        sys.stdout.write(render(doc) + "\n")
