"""Column maps: typed, unknown keys refused with file:line:col, defaults for the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.errors import DefinitionError
from accord.ingest.column_map import load_column_map
from accord.ingest.kinds import KINDS

DOCS = Path(__file__).resolve().parents[3] / "docs" / "column-map.md"


def _map(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


def test_column_map_defaults_the_key(tmp_path: Path) -> None:
    cmap = load_column_map(_map(tmp_path, "columns:\n  email: E-mail\n"), "contacts")
    assert (cmap.key, cmap.system, cmap.columns) == (("email",), "csv:csv", {"email": "E-mail"})


def test_column_map_rejects_unknown_top_level_key(tmp_path: Path) -> None:
    path = _map(tmp_path, "source: x\ncolumns:\n  name: N\nkeyy: [name]\n")
    with pytest.raises(DefinitionError) as info:
        load_column_map(path, "accounts")
    assert any(e.startswith(f"{path}:4:1: keyy") for e in info.value.errors)


def test_column_map_requires_fields_of_the_kind(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as info:
        load_column_map(_map(tmp_path, "columns:\n  domain: D\n"), "intent")
    text = "\n".join(info.value.errors)
    assert "columns.topic: required for kind intent" in text
    assert "columns.score" in text
    assert "columns.date" in text


def test_column_map_key_must_be_mapped(tmp_path: Path) -> None:
    path = _map(tmp_path, "key: [id]\ncolumns:\n  name: N\n")
    with pytest.raises(DefinitionError) as info:
        load_column_map(path, "accounts")
    assert any("key[0]: 'id' is not a mapped field" in e for e in info.value.errors)


def test_column_map_docs_list_every_field() -> None:
    text = DOCS.read_text()
    for kind in KINDS.values():
        assert f"### {kind.name}" in text
        for field in kind.fields:
            assert f"`{field}`" in text, (kind.name, field)
