"""`accord scores ...`: compute, show, history, preview, apply, rollback, check."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from accord.cli.context import CliState, duration, err, workspace
from accord.errors import DefinitionError
from accord.scoring.compute import compute_and_store
from accord.scoring.history import history
from accord.scoring.library import load_library
from accord.scoring.store import current_for
from accord.scoring.versions import apply, load_definition, preview, rollback
from accord.settings import load_settings

app = typer.Typer(help="Scores: fit, engagement, intent, health and buying stage, explained.")

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _definitions(ctx: typer.Context) -> Path:
    state: CliState = ctx.find_root().obj
    return load_settings(state.workspace).definitions_dir


def _print_json(doc: object) -> None:
    sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")


def _say(text: str) -> None:
    err.print(text, highlight=False, soft_wrap=True, markup=False)


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Validate shipped and workspace score definitions; every problem as FILE:LINE:COL."""
    try:
        library = load_library(_definitions(ctx))
    except DefinitionError as e:
        for line in e.errors:
            _say(line)
        _say(e.message)
        raise typer.Exit(2) from e
    own = sum(not s.shipped for s in library.values())
    _say(f"{len(library)} score definitions OK ({own} from the workspace).")


@app.command("compute")
def compute(ctx: typer.Context, *, as_json: AsJson = False) -> None:
    """Compute every score for every account with its active definition and store it."""
    defs = _definitions(ctx)
    ws = workspace(ctx)
    try:
        summary = compute_and_store(ws.engine, defs)
    finally:
        ws.close()
    if as_json:
        _print_json(summary.to_json())
        return
    for name, n in summary.scores.items():
        sys.stdout.write(f"{name}\tv{summary.versions[name]}\t{n} accounts\n")
    _say(f"{summary.accounts} accounts scored; {summary.history_rows} values changed.")


def _show_line(row: dict[str, Any]) -> str:
    value = row["label"] or f"{row['value']:g}"
    head = f"{row['score']} {value} (v{row['version']}, {row['computed_at']})"
    parts = [
        f"  {p['name']:<12} {p['points']:>5g} / {p['max']:g}  {p['says']}" for p in row["parts"]
    ]
    return "\n".join([head, *parts])


@app.command("show")
def show(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(help="An account id (acc_...).")],
    *,
    as_json: AsJson = False,
) -> None:
    """Every current score of one account with the parts that made it up."""
    ws = workspace(ctx)
    try:
        rows = current_for(ws.engine, account_id)
    finally:
        ws.close()
    if as_json:
        _print_json({"account_id": account_id, "scores": rows})
        return
    if not rows:
        _say(f"{account_id}: no scores yet; run `accord scores compute`.")
    for row in rows:
        sys.stdout.write(_show_line(row) + "\n")


@app.command("history")
def history_cmd(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(help="An account id (acc_...).")],
    *,
    score: Annotated[str, typer.Option(help="fit, engagement, intent, health or stage.")],
    as_json: AsJson = False,
) -> None:
    """One account's score over time, each change with the parts that moved it."""
    ws = workspace(ctx)
    try:
        current_for(ws.engine, account_id)  # NotFound for an unknown account
        rows = history(ws.engine, account_id, score)
    finally:
        ws.close()
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        sys.stdout.write(f"{row['computed_at']}\tv{row['version']}\t{row['explanation']}\n")


@app.command("preview")
def preview_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A score definition (YAML).")],
    *,
    top: Annotated[int, typer.Option(help="Show this many of the biggest changes.")] = 10,
    as_json: AsJson = False,
) -> None:
    """Compute a changed definition on current data and compare; nothing is stored."""
    new = load_definition(file)
    defs = _definitions(ctx)
    ws = workspace(ctx)
    try:
        p = preview(ws.engine, new, defs, top=top)
    finally:
        ws.close()
    if as_json:
        _print_json(p.to_json())
        return
    sys.stdout.write(
        f"{p.score} v{p.from_version} -> v{p.to_version}: {p.changed} of {p.accounts} accounts "
        f"change ({p.up} up, {p.down} down, mean |change| {p.mean_abs_change:g})\n"
    )
    for c in p.biggest:
        before = c.before_label or ("-" if c.before is None else f"{c.before:g}")
        after = c.after_label or ("-" if c.after is None else f"{c.after:g}")
        sys.stdout.write(f"  {c.account_id}\t{before} -> {after}\n")
    _say("preview only: nothing was stored.")


@app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A score definition (YAML) with a new version.")],
    *,
    as_json: AsJson = False,
) -> None:
    """Store a new definition version, make it active and recompute every score."""
    new = load_definition(file)
    defs = _definitions(ctx)
    ws = workspace(ctx)
    try:
        summary = apply(ws.engine, new, defs)
    finally:
        ws.close()
    if as_json:
        _print_json(summary.to_json())
        return
    _say(f"{new.score} version {new.version} is active; {summary.history_rows} values changed.")


@app.command("rollback")
def rollback_cmd(
    ctx: typer.Context,
    score: Annotated[str, typer.Argument(help="fit, engagement, intent, health or stage.")],
    *,
    to_version: Annotated[int, typer.Option("--to-version", help="A stored version.")],
    as_json: AsJson = False,
) -> None:
    """Make an earlier stored definition version active again and recompute."""
    defs = _definitions(ctx)
    ws = workspace(ctx)
    try:
        summary = rollback(ws.engine, score, to_version, defs)
    finally:
        ws.close()
    if as_json:
        _print_json(summary.to_json())
        return
    _say(f"{score} version {to_version} is active; {summary.history_rows} values changed.")


@app.command("train")
def train_cmd(
    ctx: typer.Context,
    *,
    horizon: Annotated[
        str,
        typer.Option(
            "--horizon",
            help="Learn from outcomes decided within this span (e.g. 180d), using features "
            "as they stood at its start.",
        ),
    ] = "180d",
    as_json: AsJson = False,
) -> None:
    """Train the optional win model on won / churned outcomes, point in time; print holdout
    AUC and calibration; store `model_win` next to the rule scores."""
    from accord.scoring.model import train

    span = duration("--horizon", horizon)
    defs = _definitions(ctx)
    ws = workspace(ctx)
    try:
        report = train(ws.engine, defs, horizon=span)
    finally:
        ws.close()
    if as_json:
        _print_json(report.to_json())
        return
    sys.stdout.write(
        f"model_win: holdout AUC {report.auc:.3f} on {report.holdout} accounts "
        f"(trained on {report.won} won, {report.lost} lost or churned after "
        f"{report.cutoff:%Y-%m-%d}, from features as of that day)\n"
    )
    sys.stdout.write("probability\taccounts\tpredicted\tobserved\n")
    for row in report.calibration:
        shown = ["-" if row[k] is None else f"{row[k]:g}" for k in ("predicted", "observed")]
        sys.stdout.write(f"{row['bin']}\t{row['accounts']}\t{shown[0]}\t{shown[1]}\n")
    _say(f"{report.scored} accounts scored as model_win; the rule scores are unchanged.")
