"""Bulk loading of Segment-format JSONL event files, library and CLI, on both databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from accord.errors import InputError
from accord.graph.stitch import IdentityStitcher
from accord.ingest.jsonl_bulk import bulk_load
from accord.workspace import Workspace
from tests.integration.test_segment_api import seed_graph


def write_jsonl(path: Path, calls: list[object], extra_lines: tuple[bytes, ...] = ()) -> Path:
    lines = [orjson.dumps(c) for c in calls] + list(extra_lines)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def demo_calls(n: int = 50) -> list[dict[str, object]]:
    calls: list[dict[str, object]] = [
        {"type": "identify", "userId": "peter", "messageId": "id-0",
         "traits": {"email": "peter@initech.com"}, "timestamp": "2025-01-01T00:00:00Z"},
        {"type": "group", "userId": "u2", "groupId": "g-globex", "messageId": "gr-0",
         "traits": {"name": "Globex", "website": "globex.com"}},
    ]  # fmt: skip
    calls.extend(
        {"type": "track", "userId": "peter" if i % 2 else "u2",
         "event": "Report Created", "messageId": f"t-{i}",
         "timestamp": f"2025-01-02T00:00:{i % 60:02d}Z",
         "context": {} if i % 2 else {"groupId": "g-globex"}}
        for i in range(n)
    )  # fmt: skip
    return calls


def count(ws: Workspace, sql: str) -> int:
    with ws.engine.connect() as conn:
        return int(conn.exec_driver_sql(sql).scalar_one())


def test_load_jsonl_stores_resolves_and_dedupes(workspace: Workspace, tmp_path: Path) -> None:
    seed_graph(workspace)
    path = write_jsonl(tmp_path / "events.jsonl", demo_calls())
    report = bulk_load(workspace.engine, path, stitcher=IdentityStitcher.load(workspace.engine))
    assert (report.lines, report.stored, report.duplicates) == (52, 52, 0)
    assert count(workspace, "SELECT count(*) FROM events WHERE account_id IS NOT NULL") == 52
    assert count(workspace, "SELECT count(*) FROM events WHERE contact_id = 'con_peter'") == 26
    again = bulk_load(workspace.engine, path, stitcher=IdentityStitcher.load(workspace.engine))
    assert (again.stored, again.duplicates) == (0, 52)
    assert count(workspace, "SELECT count(*) FROM events") == 52


def test_load_jsonl_rejects_bad_line_and_writes_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    bad = b'{"type": "track", "event": "No user"}'
    path = write_jsonl(tmp_path / "bad.jsonl", demo_calls(5), (bad,))
    with pytest.raises(InputError) as caught:
        bulk_load(workspace.engine, path)
    assert "bad.jsonl line 8: userId:" in caught.value.message
    assert "--skip-bad-rows" in caught.value.message
    assert count(workspace, "SELECT count(*) FROM events") == 0
    assert count(workspace, "SELECT count(*) FROM event_dedupe") == 0


def test_load_jsonl_rejects_malformed_json(workspace: Workspace, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "broken.jsonl", demo_calls(3), (b'{"type": "tr',))
    with pytest.raises(InputError, match=r"broken.jsonl line 6: not valid JSON"):
        bulk_load(workspace.engine, path)
    assert count(workspace, "SELECT count(*) FROM events") == 0


def test_load_jsonl_skip_bad_rows_counts_them(workspace: Workspace, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", demo_calls(3), (b"nope", b"", b'{"type": 1}'))
    report = bulk_load(workspace.engine, path, skip_bad_rows=True)
    assert (report.stored, report.skipped) == (5, 2)


def run_cli(ws_dir: Path, *args: str, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ACCORD_DATABASE_URL": db_url}
    cmd = [sys.executable, "-m", "accord", "--workspace", str(ws_dir), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def test_events_load_cli_and_stats_json(db_url: str, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", demo_calls(10))
    loaded = run_cli(tmp_path / "ws", "events", "load", str(path), db_url=db_url)
    assert loaded.returncode == 0, loaded.stderr
    assert "12 stored" in loaded.stderr
    stats = run_cli(tmp_path / "ws", "stats", "--json", db_url=db_url)
    assert stats.returncode == 0, stats.stderr
    assert orjson.loads(stats.stdout) == {
        "accounts": 0, "contacts": 0, "leads": 0, "events": 12, "resolved_events": 0,
        "signals": {},
    }  # fmt: skip


def test_events_load_cli_rejects_bad_line(db_url: str, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", demo_calls(2), (b'{"type": "page"}',))
    result = run_cli(tmp_path / "ws", "events", "load", str(path), db_url=db_url)
    assert result.returncode == 2
    assert "bad.jsonl line 5: userId" in result.stderr
    stats = run_cli(tmp_path / "ws", "stats", "--json", db_url=db_url)
    assert orjson.loads(stats.stdout)["events"] == 0


def test_keys_cli_create_list_revoke(db_url: str, tmp_path: Path) -> None:
    created = run_cli(tmp_path / "ws", "keys", "create", "--kind", "write", "--label", "web",
                      db_url=db_url)  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert len(key) >= 40
    listed = run_cli(tmp_path / "ws", "keys", "list", db_url=db_url)
    key_id = listed.stdout.split("\t")[0]
    assert key not in listed.stdout  # only the hash is stored
    assert "\tweb\t" in listed.stdout
    assert run_cli(tmp_path / "ws", "keys", "revoke", key_id, db_url=db_url).returncode == 0
    assert "revoked=-" not in run_cli(tmp_path / "ws", "keys", "list", db_url=db_url).stdout
    missing = run_cli(tmp_path / "ws", "keys", "revoke", "key_nope", db_url=db_url)
    assert missing.returncode == 1
    assert "key_nope" in missing.stderr
    bad_kind = run_cli(tmp_path / "ws", "keys", "create", "--kind", "read", db_url=db_url)
    assert bad_kind.returncode == 2
    assert "--kind" in bad_kind.stderr


def test_load_jsonl_parallel_parse_matches_sequential(workspace: Workspace, tmp_path: Path) -> None:
    seed_graph(workspace)
    path = write_jsonl(tmp_path / "events.jsonl", demo_calls(3000))
    report = bulk_load(
        workspace.engine, path, stitcher=IdentityStitcher.load(workspace.engine), threads=2
    )
    assert (report.lines, report.stored, report.duplicates) == (3002, 3002, 0)
    assert count(workspace, "SELECT count(*) FROM events WHERE contact_id = 'con_peter'") == 1501
    assert count(workspace, "SELECT count(*) FROM events WHERE kind = 'usage'") == 3000


def test_load_jsonl_parallel_rejects_bad_line_with_its_number(
    workspace: Workspace, tmp_path: Path
) -> None:
    calls: list[object] = [*demo_calls(6000)]
    calls.insert(5000, {"type": "track", "userId": "u1"})
    path = write_jsonl(tmp_path / "events.jsonl", calls)
    with pytest.raises(InputError, match=r"events.jsonl line 5001: event"):
        bulk_load(workspace.engine, path, threads=2)
    assert count(workspace, "SELECT count(*) FROM events") == 0
