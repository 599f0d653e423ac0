"""Docs stay true: the public API is pinned, every command has help and is in docs/cli.md."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import accord

ROOT = Path(__file__).resolve().parents[1]


def _gen_cli_docs():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts/gen_cli_docs.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_public_api_is_pinned() -> None:
    assert sorted(accord.__all__) == [
        "AccordError",
        "AuthError",
        "ConfigError",
        "Conflict",
        "DefinitionError",
        "InputError",
        "NotFound",
        "Workspace",
        "open_workspace",
    ]


def test_every_command_has_help() -> None:
    from typer.main import get_command

    from accord.cli import app

    gen = _gen_cli_docs()
    missing = [
        " ".join(path)
        for path, cmd in gen._walk(get_command(app), ["accord"])
        if not (cmd.help or "").strip()
    ]
    assert missing == []


def test_cli_reference_is_current() -> None:
    gen = _gen_cli_docs()
    assert (ROOT / "docs/cli.md").read_text() == gen.render(), (
        "docs/cli.md is stale: run `.venv/bin/python scripts/gen_cli_docs.py`"
    )


def test_readme_quick_start_is_two_make_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme
    assert "make test" in readme
    assert "make test" in (ROOT / ".ci/run").read_text()


def test_readme_library_example_runs(tmp_path: Path, monkeypatch) -> None:
    """The README's Python block runs as written, on the Salesforce sample folder."""
    readme = (ROOT / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    sample = ROOT.parent / "shared/data/realworld/salesforce/apex-recipes/data-plan.json"
    monkeypatch.chdir(tmp_path)
    code = code.replace('Path("export/")', f"Path({str(sample)!r})")
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["result"].account_id == "acc_1"  # type: ignore[attr-defined]
    assert namespace["report"].counts["account"] == 50  # type: ignore[attr-defined]
