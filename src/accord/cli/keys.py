"""`accord keys ...`: API write keys (stored hashed; the key is shown once, at creation)."""

from __future__ import annotations

from typing import Annotated

import typer

from accord.cli.context import err, workspace
from accord.store.keys import create_key, list_keys, revoke_key

app = typer.Typer(help="API keys: create, list and revoke write keys.", no_args_is_help=True)


@app.command("create")
def keys_create(
    ctx: typer.Context,
    *,
    kind: Annotated[
        str, typer.Option(help="Key kind (write: Segment-compatible ingest).")
    ] = "write",
    label: Annotated[str | None, typer.Option(help="A note saying who uses the key.")] = None,
) -> None:
    """Create a key; the key itself is printed alone on the last stdout line, only this once."""
    ws = workspace(ctx)
    key_id, key = create_key(ws.engine, kind, label)
    err.print(
        f"created {kind} key {key_id}; store it now, it cannot be shown again", soft_wrap=True
    )
    typer.echo(key)


@app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """List keys (id, kind, label, created, revoked); keys themselves are never stored."""
    ws = workspace(ctx)
    for key in list_keys(ws.engine):
        revoked = key.revoked_at.isoformat() if key.revoked_at else "-"
        created = key.created_at.isoformat()
        typer.echo(f"{key.id}\t{key.kind}\t{key.label or '-'}\t{created}\trevoked={revoked}")


@app.command("revoke")
def keys_revoke(
    ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="The key's id.")]
) -> None:
    """Revoke a key; running servers refuse it within seconds."""
    ws = workspace(ctx)
    revoke_key(ws.engine, key_id)
    err.print(f"revoked {key_id}")
