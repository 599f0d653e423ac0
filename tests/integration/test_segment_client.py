"""The stock Segment client (segment-analytics-python), unchanged, against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from segment.analytics import Client
from segment.analytics.request import APIError

from accord.workspace import Workspace
from tests.integration.segment_server import Server, running_server
from tests.integration.test_segment_api import seed_graph


@pytest.fixture
def server(workspace: Workspace) -> Iterator[Server]:
    seed_graph(workspace)
    with running_server(workspace) as srv:
        yield srv


def stock_client(server: Server, key: str | None = None) -> Client:
    return Client(key or server.key, host=server.url, sync_mode=True, max_retries=0)


def test_stock_client_calls_are_stored_and_stitched(server: Server) -> None:
    client = stock_client(server)
    client.identify(user_id="peter", traits={"email": "peter@initech.com"})
    client.group(user_id="u1", group_id="g1", traits={"name": "Globex", "website": "globex.com"})
    client.track(user_id="u1", event="Trial Started", context={"groupId": "g1"})
    client.page(anonymous_id="anon-7", name="Pricing", properties={"path": "/pricing"})
    client.screen(user_id="peter", name="Home")
    client.alias(previous_id="anon-7", user_id="peter")
    client.flush()
    rows = server.events()
    kinds = ["identify", "group", "usage", "page", "screen", "alias"]  # Trial Started: usage
    assert [r["kind"] for r in rows] == kinds
    assert [r["team"] for r in rows] == [None, None, "product", "marketing", None, None]
    assert [r["account_id"] for r in rows] == [
        "acc_initech",
        "acc_globex",
        "acc_globex",
        "acc_initech",  # the anonymous page view, attached by the alias that followed it
        "acc_initech",
        "acc_initech",
    ]
    assert rows[0]["contact_id"] == "con_peter"
    assert all(r["source"] == server.key_id for r in rows)


def test_stock_client_same_message_id_stores_one_event(server: Server) -> None:
    client = stock_client(server)
    for _ in range(2):
        client.track(user_id="u1", event="Report Created", message_id="dup-1")
    client.flush()
    assert [r["message_id"] for r in server.events()] == ["dup-1"]


def test_stock_client_wrong_key_is_refused(server: Server) -> None:
    client = stock_client(server, key="wrong-key")
    with pytest.raises(APIError) as caught:
        client.track(user_id="u1", event="Report Created")
    assert caught.value.status == 401
    assert "writeKey" in caught.value.message
    assert server.event_count() == 0
