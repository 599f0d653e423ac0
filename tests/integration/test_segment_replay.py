"""Replay every example payload of the Segment Spec: valid calls stored, invalid ones refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from accord.store.keys import create_key
from accord.workspace import Workspace
from tests.integration.segment_server import Server, running_server

KINDS = {"track", "identify", "page", "screen", "group", "alias"}


def payloads(realworld: Path) -> list[tuple[str, dict[str, Any]]]:
    """(file[index], payload) for every example in segment/payloads/*.json."""
    found = []
    for path in sorted((realworld / "segment" / "payloads").glob("*.json")):
        for i, payload in enumerate(orjson.loads(path.read_bytes())):
            found.append((f"{path.name}[{i}]", payload))
    return found


def missing_field(payload: dict[str, Any]) -> str | None:
    """The field the Segment Spec says a call lacks, or None for a valid call."""
    kind = payload.get("type") or payload.get("action")
    if not payload.get("userId") and (kind == "alias" or not payload.get("anonymousId")):
        return "userId"
    if kind == "track" and not payload.get("event"):
        return "event"
    if kind == "group" and not payload.get("groupId"):
        return "groupId"
    if kind == "alias" and not payload.get("previousId"):
        return "previousId"
    return None


@pytest.fixture
def server(workspace: Workspace) -> Iterator[Server]:
    with running_server(workspace) as srv:
        yield srv


def test_replay_stores_valid_calls_and_refuses_invalid(server: Server, realworld: Path) -> None:
    examples = payloads(realworld)
    assert len(examples) >= 30
    stored = refused = 0
    for label, payload in examples:
        kind = payload.get("type") or payload.get("action")
        assert kind in KINDS, label
        # A fresh source per payload: the Spec's examples reuse one messageId across pages.
        _, key = create_key(server.workspace.engine, "write", label)
        before = server.event_count()
        resp = httpx.post(f"{server.url}/v1/{kind}", json=payload, auth=(key, ""))
        field = missing_field(payload)
        if field is None:
            assert resp.status_code == 200, f"{label}: {resp.text}"
            assert server.event_count() == before + 1, label
            stored += 1
        else:
            assert resp.status_code == 400, f"{label}: {resp.text}"
            assert field in resp.json()["error"], label
            assert server.event_count() == before, label
            refused += 1
    assert stored >= 20
    assert refused >= 10  # the short examples and the email.json event bodies


def test_replay_as_batches_refuses_event_bodies_whole(server: Server, realworld: Path) -> None:
    email = [p for label, p in payloads(realworld) if label.startswith("email.json")]
    valid = [p for _, p in payloads(realworld) if "type" in p and missing_field(p) is None]
    with httpx.Client(base_url=server.url, auth=(server.key, "")) as client:
        resp = client.post("/v1/batch", json={"batch": email})
        assert resp.status_code == 400
        assert "batch[0].type" in resp.json()["error"]  # event bodies carry `action`, not `type`
        assert server.event_count() == 0
        assert client.post("/v1/batch", json={"batch": valid}).status_code == 200
    distinct = {p.get("messageId") or id(p) for p in valid}
    assert server.event_count() == len(distinct)  # the Spec reuses messageIds: dedupe keeps one
