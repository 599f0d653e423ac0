"""Write docs/cli.md from the CLI's own --help output (checked by tests/test_docs.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from typer.main import get_command

from accord.cli import app

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _walk(cmd: typer.core.TyperGroup | typer.core.TyperCommand, path: list[str]):  # type: ignore[no-untyped-def]
    yield path, cmd
    for name in getattr(cmd, "commands", {}):
        yield from _walk(cmd.commands[name], [*path, name])


def render() -> str:
    root = get_command(app)
    parts = [
        "# CLI reference",
        "",
        "Generated from `accord ... --help` by `scripts/gen_cli_docs.py`; a test keeps it true.",
        "",
    ]
    for path, cmd in _walk(root, ["accord"]):
        ctx = typer.Context(cmd, info_name=" ".join(path))
        usage = cmd.get_usage(ctx).strip()
        help_text = (cmd.help or "").strip()
        parts += [f"## `{' '.join(path)}`", "", help_text, "", "```", usage]
        for param in cmd.get_params(ctx):
            record = param.get_help_record(ctx)
            if record:
                parts.append(f"  {record[0]}  {record[1]}".rstrip())
        parts += ["```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if DOC.read_text() == render() else 1)
    DOC.write_text(render())
