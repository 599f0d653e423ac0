"""A visitor's earlier anonymous events are attached in the commit that identifies them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from accord.graph.account_lookup import AccountLookup
from accord.graph.stitch import IdentityStitcher
from accord.ingest.segment_jsonl import parse_call
from accord.workspace import Workspace
from tests.integration.segment_server import Server, running_server
from tests.integration.test_segment_api import seed_graph

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
IDENTIFY = {"userId": "peter", "anonymousId": "anon-1", "messageId": "id-1",
            "traits": {"email": "peter@initech.com"}}  # fmt: skip


@pytest.fixture
def server(workspace: Workspace) -> Iterator[Server]:
    seed_graph(workspace)
    with running_server(workspace, dispatch=True) as srv:
        yield srv


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=(server.key, ""), timeout=10) as c:
        yield c


def post(client: httpx.Client, route: str, body: dict[str, Any]) -> None:
    resp = client.post(f"/v1/{route}", json=body)
    assert resp.status_code == 200, resp.text


def links(server: Server) -> dict[str, tuple[str | None, str | None]]:
    return {r["message_id"]: (r["account_id"], r["contact_id"]) for r in server.events()}


def test_identify_attaches_earlier_page_views(server: Server, client: httpx.Client) -> None:
    for i in range(3):
        post(client, "page", {"anonymousId": "anon-1", "name": "Docs", "messageId": f"p-{i}"})
    post(client, "page", {"anonymousId": "anon-2", "name": "Docs", "messageId": "other"})
    assert set(links(server).values()) == {(None, None)}
    post(client, "identify", IDENTIFY)
    found = links(server)
    for mid in ("p-0", "p-1", "p-2", "id-1"):
        assert found[mid] == ("acc_initech", "con_peter")
    assert found["other"] == (None, None)  # another visitor stays unattached


def test_batch_attaches_page_views_sent_before_identify(
    server: Server, client: httpx.Client
) -> None:
    views = [{"type": "page", "anonymousId": "anon-1", "messageId": f"b-{i}"} for i in range(2)]
    post(client, "batch", {"batch": [*views, {"type": "identify", **IDENTIFY}]})
    assert set(links(server).values()) == {("acc_initech", "con_peter")}


def test_identify_does_not_move_attached_events(server: Server, client: httpx.Client) -> None:
    group = {"anonymousId": "anon-1", "groupId": "g-1", "messageId": "grp",
             "traits": {"name": "Globex Corporation", "website": "globex.com"}}  # fmt: skip
    post(client, "group", group)
    post(client, "page", {"anonymousId": "anon-1", "messageId": "seen"})
    post(client, "identify", IDENTIFY)
    found = links(server)
    assert found["grp"] == ("acc_globex", None)
    assert found["seen"] == ("acc_globex", None)
    assert found["id-1"] == ("acc_initech", "con_peter")


def test_retried_identify_changes_nothing(server: Server, client: httpx.Client) -> None:
    post(client, "page", {"anonymousId": "anon-1", "messageId": "p-0"})
    post(client, "identify", IDENTIFY)
    before = server.events()
    post(client, "identify", IDENTIFY)
    assert server.events() == before
    assert len(before) == 2


def test_stitcher_queues_attachment_only_for_a_new_link(workspace: Workspace) -> None:
    seed_graph(workspace)
    stitcher = IdentityStitcher(AccountLookup.load(workspace.engine))
    page = parse_call({"anonymousId": "anon-1"}, received_at=NOW, kind="page")
    identify = parse_call(IDENTIFY, received_at=NOW, kind="identify")
    stitcher.stitch(page)
    assert stitcher.take_all()[2] == []
    stitcher.stitch(identify)
    assert stitcher.take_all()[2] == [("anon-1", "acc_initech", "con_peter")]
    stitcher.stitch(identify)  # a retry: the link is known, nothing to attach
    stitcher.stitch(page)
    assert stitcher.take_all() == ([], [], [])
