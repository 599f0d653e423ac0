"""Signal definitions: YAML parsing, positions in errors, every error at once."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord.cli import app
from accord.errors import DefinitionError
from accord.signals.library import SHIPPED, load_folder, load_library
from accord.signals.specs import CountCondition
from accord.yamlspec import format_duration, parse_duration
from tests.conftest import DATA

BAD = DATA / "signals_bad"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7d", timedelta(days=7)), ("24h", timedelta(hours=24)), ("30m", timedelta(minutes=30)),
     ("45s", timedelta(seconds=45)), ("2w", timedelta(weeks=2))],
)  # fmt: skip
def test_duration_parses_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("text", ["3 days", "7", "7x", "", "d7", "1.5d"])
def test_duration_rejects_other_spellings(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration; write 3d or 72h"):
        parse_duration(text)


def test_shipped_library_loads_with_sources() -> None:
    specs = load_library()
    assert len(specs) >= 15
    assert all(s.shipped and ".yaml:" in s.source for s in specs)
    surge = next(s for s in specs if s.id == "research_surge")
    assert surge.source.endswith("research_surge.yaml:3")  # after the leading comment


def test_workspace_definition_overrides_shipped_by_id(tmp_path: Path) -> None:
    folder = tmp_path / "signals"
    folder.mkdir()
    text = (SHIPPED / "high_intent_pages.yaml").read_text().replace("at_least: 2", "at_least: 4")
    (folder / "pages.yaml").write_text(text)
    specs = {s.id: s for s in load_library(tmp_path)}
    pages = specs["high_intent_pages"]
    assert not pages.shipped
    assert pages.source.endswith("pages.yaml:1")
    assert isinstance(pages.spec.when, CountCondition)
    assert pages.spec.when.at_least == 4
    assert specs["research_surge"].shipped


def test_bad_definitions_reports_every_error_at_once() -> None:
    with pytest.raises(DefinitionError) as info:
        load_folder(BAD)
    errors = info.value.errors
    by_file = {Path(e.split(":", 1)[0]).name: e for e in errors}
    assert (
        f"{BAD}/unknown_field_windw.yaml:8:3: when.windw: unknown field (did you mean 'window'?)"
        in errors
    )
    assert (
        f"{BAD}/duration_in_words.yaml:9:11: cooldown: '3 days' is not a duration; write 3d or 72h"
        in errors
    )
    assert by_file["unknown_condition_kind.yaml"].startswith(
        f"{BAD}/unknown_condition_kind.yaml:4:9: when.kind: 'cuont' is not a known kind;"
    )
    assert "(did you mean 'count'?)" in by_file["unknown_condition_kind.yaml"]
    assert by_file["strength_above_one.yaml"].startswith(
        f"{BAD}/strength_above_one.yaml:4:11: strength:"
    )
    assert by_file["not_yaml.yaml"].startswith(f"{BAD}/not_yaml.yaml:")
    assert "not valid YAML" in by_file["not_yaml.yaml"]
    dup = by_file["duplicate_id_second.yaml"]
    assert dup.startswith(f"{BAD}/duplicate_id_second.yaml:1:1: id: duplicate id 'same_id'")
    assert "duplicate_id_first.yaml:1" in dup
    assert len(errors) == 6
    assert info.value.message == "6 errors in 7 files; nothing was loaded."


def test_definition_rejects_duplicate_yaml_key(tmp_path: Path) -> None:
    (tmp_path / "dup.yaml").write_text(
        "id: a\ndescription: x\nwhen: {kind: count, event: {}, window: 7d, at_least: 1}\n"
        "strength: 0.1\nstrength: 0.2\n"
    )
    with pytest.raises(DefinitionError) as info:
        load_folder(tmp_path)
    assert info.value.errors == [f"{tmp_path}/dup.yaml:5:1: strength: duplicate key 'strength'"]


def test_definition_rejects_missing_change_bound(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "id: drop\ndescription: x\nwhen:\n  kind: change\n  event: {kind: usage}\n  window: 7d\n"
        "strength: 0.1\n"
    )
    with pytest.raises(DefinitionError) as info:
        load_folder(tmp_path)
    assert info.value.errors == [
        f"{tmp_path}/c.yaml:4:3: when: give exactly one of at_least (growth) or at_most (drop)"
    ]


def test_signals_check_rejects_bad_definitions(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(BAD, ws / "definitions" / "signals")
    result = CliRunner().invoke(app, ["--workspace", str(ws), "signals", "check"])
    assert result.exit_code == 2
    assert (
        "unknown_field_windw.yaml:8:3: when.windw: unknown field (did you mean 'window'?)"
        in result.output
    )
    assert "6 errors in 7 files; nothing was loaded." in result.output
    assert not (ws / "accord.db").exists()  # checking touches no database


def test_signals_check_accepts_shipped_library(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path / "ws"), "signals", "check"])
    assert result.exit_code == 0, result.output
    assert "signal definitions OK" in result.output
