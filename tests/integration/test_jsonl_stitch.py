"""The bulk loader stitches every event as the stream stitcher does, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from accord.demo.model import DemoConfig
from accord.demo.run import EVENTS_FILE, import_demo_files, write_demo_files
from accord.graph.stitch import IdentityStitcher
from accord.ingest.jsonl_bulk import bulk_load
from accord.ingest.segment_jsonl import parse_call
from accord.store.schema import events, groups, identities
from accord.workspace import Workspace
from tests.integration.test_segment_api import seed_graph

NOW = datetime(2025, 6, 1, tzinfo=UTC)
Answers = dict[str, tuple[str | None, str | None]]


def stream_answers(stitcher: IdentityStitcher, lines: list[bytes], answers: Answers) -> None:
    """Each message's (account_id, contact_id) from the stream stitcher, first line winning."""
    for raw in lines:
        call = parse_call(orjson.loads(raw), received_at=NOW)
        answer = stitcher.stitch(call)
        answers.setdefault(call.message_id, answer)


def stored_answers(ws: Workspace) -> Answers:
    e = events.c
    with ws.engine.connect() as conn:
        query = select(e.message_id, e.account_id, e.contact_id).where(e.source == "jsonl")
        rows = conn.execute(query)
        return {m: (a, c) for m, a, c in rows}


def stored_identities(ws: Workspace) -> dict[tuple[str, str], tuple[Any, ...]]:
    i = identities.c
    with ws.engine.connect() as conn:
        rows = conn.execute(select(i.id_type, i.id_value, i.user_id, i.contact_id, i.account_id))
        return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def stored_groups(ws: Workspace) -> dict[str, tuple[Any, ...]]:
    g = groups.c
    with ws.engine.connect() as conn:
        rows = conn.execute(select(g.group_id, g.account_id, g.name, g.website, g.traits))
        return {r[0]: tuple(r[1:]) for r in rows}


def expected_rows(
    stitcher: IdentityStitcher,
) -> tuple[dict[tuple[str, str], tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    idents, group_rows = stitcher.take_updates()
    return (
        {(r["id_type"], r["id_value"]): (r["user_id"], r["contact_id"], r["account_id"])
         for r in idents},
        {r["group_id"]: (r["account_id"], r["name"], r["website"], r["traits"])
         for r in group_rows},
    )  # fmt: skip


def load_parts(ws: Workspace, tmp: Path, parts: list[list[bytes]]) -> None:
    """Load each part with the bulk loader and compare with one stream stitcher over all."""
    stream = IdentityStitcher.load(ws.engine)
    idents_before, groups_before = stored_identities(ws), stored_groups(ws)
    expected: Answers = {}
    for n, lines in enumerate(parts):
        stream_answers(stream, lines, expected)
        path = tmp / f"part{n}.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        bulk_load(ws.engine, path, stitcher=IdentityStitcher.load(ws.engine))
    want_idents, want_groups = expected_rows(stream)
    assert stored_answers(ws) == expected
    assert stored_identities(ws) == idents_before | want_idents
    assert stored_groups(ws) == groups_before | want_groups


def call(n: int, kind: str, **fields: Any) -> bytes:
    body = {"type": kind, "messageId": f"m{n}", "timestamp": f"2025-01-01T00:00:{n:02d}Z"}
    if kind == "track":
        body["event"] = "Report Created"
    return orjson.dumps(body | fields)


GLOBEX = {"name": "Globex", "website": "globex.com"}
TRICKY_FIRST = [
    call(1, "page", anonymousId="a1"),
    call(2, "track", anonymousId="a1", context={"groupId": "g1"}),
    call(3, "group", userId="u2", groupId="g1", traits=GLOBEX),
    call(4, "track", anonymousId="a1", context={"groupId": "g1"}),
    call(5, "identify", userId="peter", anonymousId="a1", traits={"email": "peter@initech.com"}),
    call(6, "page", anonymousId="a1"),
    call(7, "alias", userId="peter", previousId="a2"),
    call(8, "page", anonymousId="a2"),
    call(9, "identify", userId="u3", traits={"email": "someone@initech.com"}),
    call(10, "track", userId="u3"),
    call(11, "identify", userId="u4",
         traits={"company": {"name": "Globex Corporation"}, "website": "globex.com"}),
    call(12, "track", userId="u4", context={"traits": {"email": "peter@initech.com"}}),
    call(13, "group", userId="u5", groupId="g2", traits={}),
    call(14, "track", userId="u5", context={"groupId": "g2"}),
    call(15, "group", userId="u5", groupId="g2", traits={"name": "Initech", "plan": "pro"}),
]  # fmt: skip
TRICKY_SECOND = [
    call(16, "track", userId="u5", context={"groupId": "g2"}),
    call(17, "group", userId="u6", groupId="g2", traits={"name": "Nobody Inc"}),
    call(18, "identify", userId="u3", traits={"email": "peter@initech.com"}),
    call(19, "track", userId="u7", anonymousId="a3"),
    call(10, "track", userId="u4"),  # a duplicate messageId: the first line wins
    call(21, "track", userId="u3", context={"groupId": "g1"}),
    call(22, "identify", userId="u8", traits={"email": "x@globex.com"}),
    call(23, "identify", userId="u8", traits={"email": "who@nowhere.example"}),
    call(24, "page", anonymousId="a1", context={"groupId": "g2"}),
    call(25, "page", anonymousId="a2"),
    call(26, "track", userId="u9", context={"traits": {"email": "someone@globex.com"}}),
    call(27, "identify", userId="u9", traits={"email": "peter@initech.com"}),
    call(28, "track", userId="u9"),
]  # fmt: skip


def test_bulk_stitch_matches_stream_on_tricky_stream(workspace: Workspace, tmp_path: Path) -> None:
    seed_graph(workspace)
    load_parts(workspace, tmp_path, [TRICKY_FIRST, TRICKY_SECOND])
    assert stored_answers(workspace)["m6"] == ("acc_initech", "con_peter")


def test_bulk_stitch_matches_stream_on_demo_events(workspace: Workspace, tmp_path: Path) -> None:
    _, run = write_demo_files(DemoConfig(accounts=25), tmp_path / "demo")
    import_demo_files(workspace.engine, run)
    lines = (tmp_path / "demo" / EVENTS_FILE).read_bytes().splitlines()
    half = len(lines) // 2
    load_parts(workspace, tmp_path, [lines[:half], lines[half:]])
    resolved = [a for a, _ in stored_answers(workspace).values() if a is not None]
    assert len(resolved) > len(lines) // 2
