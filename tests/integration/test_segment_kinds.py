"""Event kind and team from the event catalogue: shipped, workspace overrides, explicit values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from accord.demo.segment_calls import CATALOGUE
from accord.errors import DefinitionError
from accord.ingest.event_catalogue import load_catalogue, shipped_catalogue
from accord.workspace import Workspace
from tests.integration.segment_server import Server, running_server
from tests.integration.test_segment_jsonl import run_cli, write_jsonl

OVERRIDE = """\
- id: quotes
  kind: sales_activity
  team: sales
  events: [Quote Sent]
- id: reports_are_cs
  kind: cs
  team: cs
  events: [report created]
- id: partner_portal
  kind: usage
  team: product
  pages: ["/partners/*"]
"""


def test_catalogue_maps_every_demo_event_name() -> None:
    catalogue = shipped_catalogue()
    for name, (kind, team) in CATALOGUE.items():
        assert catalogue.classify("track", name, None) == (kind, team), name


def test_catalogue_maps_segment_b2b_email_and_chat_spec_events(realworld: Path) -> None:
    catalogue = shipped_catalogue()
    expected = {"b2b-saas.json": "usage", "email.json": "email", "live-chat.json": "sales_activity"}
    for file, kind in expected.items():
        calls = orjson.loads((realworld / "segment" / "payloads" / file).read_bytes())
        names = {c["event"] for c in calls if isinstance(c.get("event"), str)}
        assert names, file
        for name in names:
            assert catalogue.classify("track", name, None)[0] == kind, name


def test_catalogue_maps_pages_by_path_and_keeps_unknown_tracks() -> None:
    catalogue = shipped_catalogue()
    assert catalogue.classify("page", "Pricing", "/pricing") == ("page", "marketing")
    assert catalogue.classify("page", None, "/app/settings/users") == ("usage", "product")
    assert catalogue.classify("page", None, "/docs/getting-started") == ("page", "product")
    assert catalogue.classify("track", "Something Else", None) == ("track", None)
    assert catalogue.classify("identify", None, None) == ("identify", None)


def test_catalogue_workspace_file_overrides_shipped(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "ours.yaml").write_text(OVERRIDE)
    catalogue = load_catalogue(tmp_path)
    assert catalogue.classify("track", "Report Created", None) == ("cs", "cs")
    assert catalogue.classify("track", "Quote Sent", None) == ("sales_activity", "sales")
    assert catalogue.classify("page", None, "/partners/deals") == ("usage", "product")
    assert catalogue.classify("track", "Signed In", None) == ("usage", "product")
    assert shipped_catalogue().classify("track", "Report Created", None) == ("usage", "product")


def test_catalogue_rejects_bad_definitions_with_positions(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "bad.yaml").write_text(
        "- id: x\n  kind: telepathy\n  events: [A]\n- id: y\n  team: sales\n  pages: [pricing]\n"
    )
    with pytest.raises(DefinitionError) as caught:
        load_catalogue(tmp_path)
    errors = "\n".join(caught.value.errors)
    assert "bad.yaml:2:" in errors
    assert "kind" in errors
    assert "bad.yaml:6:" in errors
    assert "pages" in errors


@pytest.fixture
def server(workspace: Workspace) -> Iterator[Server]:
    events = workspace.settings.definitions_dir / "events"
    events.mkdir(parents=True)
    (events / "ours.yaml").write_text(OVERRIDE)
    with running_server(workspace) as srv:
        yield srv


def test_api_stores_catalogue_kind_team_and_explicit_values_win(server: Server) -> None:
    calls = [
        {"type": "track", "userId": "u1", "event": "Signed In"},
        {"type": "track", "userId": "u1", "event": "Quote Sent"},
        {"type": "track", "userId": "u1", "event": "Report Created"},
        {"type": "page", "userId": "u1", "properties": {"path": "/partners/x"}},
        {"type": "page", "userId": "u1", "context": {"page": {"path": "/pricing"}}},
        {"type": "track", "userId": "u1", "event": "Signed In",
         "properties": {"kind": "intent"}, "context": {"team": "sales"}},
        {"type": "track", "userId": "u1", "event": "Custom Thing"},
    ]  # fmt: skip
    resp = httpx.post(f"{server.url}/v1/batch", json={"batch": calls}, auth=(server.key, ""))
    assert resp.status_code == 200, resp.text
    stored = [(r["kind"], r["team"]) for r in server.events()]
    assert stored == [
        ("usage", "product"),
        ("sales_activity", "sales"),
        ("cs", "cs"),
        ("usage", "product"),
        ("page", "marketing"),
        ("intent", "sales"),
        ("track", None),
    ]


def test_events_load_cli_uses_workspace_catalogue(db_url: str, tmp_path: Path) -> None:
    events = tmp_path / "ws" / "definitions" / "events"
    events.mkdir(parents=True)
    (events / "ours.yaml").write_text(OVERRIDE)
    calls = [
        {"type": "track", "userId": "u1", "event": "Quote Sent", "messageId": "q1"},
        {"type": "track", "userId": "u1", "event": "Email Opened", "messageId": "e1"},
    ]
    path = write_jsonl(tmp_path / "events.jsonl", calls)
    loaded = run_cli(tmp_path / "ws", "events", "load", str(path), db_url=db_url)
    assert loaded.returncode == 0, loaded.stderr
    assert "2 stored" in loaded.stderr


def test_events_load_cli_rejects_bad_catalogue(db_url: str, tmp_path: Path) -> None:
    events = tmp_path / "ws" / "definitions" / "events"
    events.mkdir(parents=True)
    (events / "bad.yaml").write_text("- id: x\n  events: [A]\n")
    path = write_jsonl(tmp_path / "events.jsonl", [{"type": "track", "userId": "u", "event": "A"}])
    result = run_cli(tmp_path / "ws", "events", "load", str(path), db_url=db_url)
    assert result.returncode == 2
    assert "bad.yaml:1:" in result.stderr
    assert "give a kind, a team or both" in result.stderr
    stats = run_cli(tmp_path / "ws", "stats", "--json", db_url=db_url)
    assert orjson.loads(stats.stdout)["events"] == 0
