"""The Segment-compatible ingest API through a real uvicorn server, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select

from accord.errors import InputError
from accord.graph.stitch import read_identities
from accord.store.keys import revoke_key
from accord.store.schema import account_domains, accounts, contacts, groups, identities
from accord.workspace import Workspace
from tests.integration.segment_server import Server, free_port, running_server

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def seed_graph(ws: Workspace) -> None:
    """Two accounts (Initech, Globex) and one contact at Initech."""
    base = {"source": "test", "created_at": NOW, "updated_at": NOW}
    with ws.engine.begin() as conn:
        conn.execute(
            accounts.insert(),
            [
                {"id": "acc_initech", "name": "Initech", "domain": "initech.com",
                 "domains": ["initech.com"], **base},
                {"id": "acc_globex", "name": "Globex Corporation", "domain": "globex.com",
                 "domains": ["globex.com"], **base},
            ],
        )  # fmt: skip
        conn.execute(
            account_domains.insert(),
            [
                {"account_id": "acc_initech", "domain": "initech.com", "is_primary": True},
                {"account_id": "acc_globex", "domain": "globex.com", "is_primary": True},
            ],
        )
        conn.execute(
            contacts.insert(),
            {"id": "con_peter", "account_id": "acc_initech", "email": "peter@initech.com",
             **base},
        )  # fmt: skip


@pytest.fixture
def server(workspace: Workspace) -> Iterator[Server]:
    seed_graph(workspace)
    with running_server(workspace) as srv:
        yield srv


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=(server.key, ""), timeout=10) as c:
        yield c


def assert_refused(resp: httpx.Response, status: int, field: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["success"] is False
    assert field in body["error"]
    assert body["message"] == body["error"]


def test_healthz_reports_writer(server: Server) -> None:
    resp = httpx.get(f"{server.url}/healthz")
    assert resp.status_code == 200
    assert resp.json()["ok"] is True
    assert resp.json()["writer"] is True


def test_track_stores_event_fields(server: Server, client: httpx.Client) -> None:
    call = {
        "userId": "u1",
        "event": "Report Created",
        "messageId": "m-1",
        "timestamp": "2025-02-03T04:05:06.789Z",
        "properties": {"team": "product", "report": "weekly"},
        "context": {"ip": "8.8.8.8", "userAgentData": {"mobile": False}},
    }
    resp = client.post("/v1/track", json=call)
    assert resp.status_code == 200
    assert resp.json() == {"success": True}
    (row,) = server.events()
    assert row["message_id"] == "m-1"
    assert row["source"] == server.key_id
    assert row["kind"] == "usage"  # the shipped catalogue's kind for "Report Created"
    assert row["name"] == "Report Created"
    assert row["team"] == "product"
    assert row["user_id"] == "u1"
    occurred = (
        row["occurred_at"].replace(tzinfo=UTC)
        if row["occurred_at"].tzinfo is None
        else row["occurred_at"]
    )
    assert occurred == datetime(2025, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    props = (
        row["properties"]
        if isinstance(row["properties"], dict)
        else orjson.loads(row["properties"])
    )
    assert props["team"] == "product"
    assert props["report"] == "weekly"
    assert props["context"] == {"ip": "8.8.8.8"}  # bulky context is not kept


def test_each_route_stores_its_kind(server: Server, client: httpx.Client) -> None:
    calls = {
        "track": {"anonymousId": "a1", "event": "Clicked"},
        "page": {"anonymousId": "a1", "name": "Pricing"},
        "screen": {"anonymousId": "a1", "name": "Home"},
        "identify": {"anonymousId": "a1", "traits": {"plan": "pro"}},
        "group": {"anonymousId": "a1", "groupId": "g1", "traits": {"name": "Nobody Inc"}},
        "alias": {"userId": "u9", "previousId": "a1"},
    }
    for kind, call in calls.items():
        assert client.post(f"/v1/{kind}", json=call).status_code == 200
    assert [r["kind"] for r in server.events()] == list(calls)
    assert [r["name"] for r in server.events()][:3] == ["Clicked", "Pricing", "Home"]


def test_batch_with_body_write_key_stores_all(server: Server) -> None:
    body = {
        "writeKey": server.key,
        "sentAt": "2025-03-01T12:00:00Z",
        "batch": [
            {"type": "track", "userId": "u1", "event": "A", "messageId": "b-1"},
            {"type": "page", "userId": "u1", "name": "Docs", "messageId": "b-2"},
        ],
    }
    resp = httpx.post(f"{server.url}/v1/batch", json=body)
    assert resp.status_code == 200, resp.text
    assert [r["message_id"] for r in server.events()] == ["b-1", "b-2"]


def test_gzip_body_is_accepted(server: Server, client: httpx.Client) -> None:
    body = gzip.compress(orjson.dumps({"batch": [{"type": "track", "userId": "u", "event": "Z"}]}))
    resp = client.post("/v1/batch", content=body, headers={"Content-Encoding": "gzip"})
    assert resp.status_code == 200, resp.text
    assert server.event_count() == 1


def test_retried_batch_stores_each_event_once(server: Server, client: httpx.Client) -> None:
    batch = {"batch": [{"type": "track", "userId": "u", "event": "E", "messageId": f"r-{i}"}
                       for i in range(5)]}  # fmt: skip
    for _ in range(3):
        assert client.post("/v1/batch", json=batch).status_code == 200
    dup_in_one = {"batch": [{"type": "track", "userId": "u", "event": "E", "messageId": "r-9"}] * 2}
    assert client.post("/v1/batch", json=dup_in_one).status_code == 200
    assert server.event_count() == 6


def test_identify_email_stitches_contact_and_account(server: Server, client: httpx.Client) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    client.post("/v1/page", json={"anonymousId": "anon-1", "name": "Home"})
    identify = {"userId": "peter", "anonymousId": "anon-1",
                "traits": {"email": "Peter@Initech.com"}}  # fmt: skip
    assert client.post("/v1/identify", json=identify).status_code == 200
    client.post("/v1/track", json={"userId": "peter", "event": "Report Created"})
    client.post("/v1/page", json={"anonymousId": "anon-1", "name": "Pricing"})
    rows = server.events()
    for row in rows:  # the page view from before identify is attached with it
        assert (row["account_id"], row["contact_id"]) == ("acc_initech", "con_peter")
    with server.workspace.engine.connect() as conn:
        stored = conn.execute(select(identities.c.id_type, identities.c.account_id)).all()
    assert ("anonymous", "acc_initech") in stored
    assert ("user", "acc_initech") in stored
    known, _ = read_identities(server.workspace.engine, since=before)  # what workers poll
    assert known[("user", "peter")] == ("peter", "con_peter", "acc_initech")
    assert known[("anonymous", "anon-1")] == ("peter", "con_peter", "acc_initech")


def test_unknown_email_resolves_by_company_domain(server: Server, client: httpx.Client) -> None:
    identify = {"userId": "sam", "traits": {"email": "sam@globex.com"}}
    assert client.post("/v1/identify", json=identify).status_code == 200
    client.post("/v1/track", json={"userId": "sam", "event": "Signed In"})
    assert [(r["account_id"], r["contact_id"]) for r in server.events()] == [
        ("acc_globex", None),
        ("acc_globex", None),
    ]


def test_group_ties_users_and_context_group_to_account(
    server: Server, client: httpx.Client
) -> None:
    group = {"userId": "u7", "groupId": "grp-1",
             "traits": {"name": "Initech", "website": "https://www.initech.com/about"}}  # fmt: skip
    assert client.post("/v1/group", json=group).status_code == 200
    client.post("/v1/track", json={"userId": "other", "event": "Trial Started",
                                   "context": {"groupId": "grp-1"}})  # fmt: skip
    client.post("/v1/track", json={"userId": "u7", "event": "Signed In"})
    assert [r["account_id"] for r in server.events()] == ["acc_initech"] * 3
    with server.workspace.engine.connect() as conn:
        row = conn.execute(select(groups).where(groups.c.group_id == "grp-1")).mappings().one()
    assert row["account_id"] == "acc_initech"
    assert row["name"] == "Initech"
    assert row["traits"] == group["traits"]
    assert row["updated_at"] is not None


def test_alias_joins_previous_id_to_user(server: Server, client: httpx.Client) -> None:
    client.post("/v1/identify", json={"userId": "peter", "traits": {"email": "peter@initech.com"}})
    client.post("/v1/alias", json={"userId": "peter", "previousId": "old-anon"})
    client.post("/v1/page", json={"anonymousId": "old-anon", "name": "Docs"})
    assert server.events()[-1]["account_id"] == "acc_initech"
    assert server.events()[-1]["contact_id"] == "con_peter"


def test_track_rejects_missing_user_id(server: Server, client: httpx.Client) -> None:
    resp = client.post("/v1/track", json={"user_id": "u1", "event": "E"})
    assert_refused(resp, 400, "userId")
    assert "anonymousId" in resp.json()["error"]
    assert server.event_count() == 0


def test_track_rejects_missing_event_name(server: Server, client: httpx.Client) -> None:
    assert_refused(client.post("/v1/track", json={"userId": "u1"}), 400, "event")
    assert server.event_count() == 0


def test_batch_rejects_one_bad_message_whole(server: Server, client: httpx.Client) -> None:
    batch = {"batch": [
        {"type": "track", "userId": "u1", "event": "Good"},
        {"type": "track", "userId": "u1", "event": "Bad", "timestamp": "yesterday"},
    ]}  # fmt: skip
    resp = client.post("/v1/batch", json=batch)
    assert_refused(resp, 400, "batch[1].timestamp")
    assert server.event_count() == 0


def test_batch_rejects_unknown_type(server: Server, client: httpx.Client) -> None:
    resp = client.post("/v1/batch", json={"batch": [{"type": "tarck", "userId": "u"}]})
    assert_refused(resp, 400, "batch[0].type")
    assert server.event_count() == 0


def test_track_rejects_malformed_json(server: Server, client: httpx.Client) -> None:
    resp = client.post("/v1/track", content=b'{"userId": "u1", "event": ')
    assert_refused(resp, 400, "malformed JSON")
    assert server.event_count() == 0


def test_track_rejects_bad_timestamp(server: Server, client: httpx.Client) -> None:
    resp = client.post("/v1/track", json={"userId": "u", "event": "E", "timestamp": "2025-13-45"})
    assert_refused(resp, 400, "timestamp")
    resp = client.post("/v1/track", json={"userId": "u", "event": "E", "originalTimestamp": 5})
    assert_refused(resp, 400, "originalTimestamp")
    assert server.event_count() == 0


def test_api_rejects_missing_write_key(server: Server) -> None:
    resp = httpx.post(f"{server.url}/v1/track", json={"userId": "u", "event": "E"})
    assert_refused(resp, 401, "writeKey")
    assert server.event_count() == 0


def test_api_rejects_wrong_write_key(server: Server) -> None:
    call = {"userId": "u", "event": "E"}
    resp = httpx.post(f"{server.url}/v1/track", json=call, auth=("not-a-key", ""))
    assert_refused(resp, 401, "writeKey")
    body = {"writeKey": "not-a-key", "batch": [{"type": "track", **call}]}
    assert_refused(httpx.post(f"{server.url}/v1/batch", json=body), 401, "writeKey")
    assert server.event_count() == 0


def test_api_rejects_revoked_write_key(server: Server, client: httpx.Client) -> None:
    assert client.post("/v1/track", json={"userId": "u", "event": "E"}).status_code == 200
    revoke_key(server.workspace.engine, server.key_id)
    server.app.state.ingest.keys.refresh()  # servers refresh within seconds; now, for the test
    resp = client.post("/v1/track", json={"userId": "u", "event": "E"})
    assert_refused(resp, 401, "writeKey")
    assert server.event_count() == 1


def test_track_rejects_oversized_message(server: Server, client: httpx.Client) -> None:
    call = {"userId": "u", "event": "E", "properties": {"blob": "x" * (33 * 1024)}}
    assert_refused(client.post("/v1/track", json=call), 413, "32 KiB")
    assert server.event_count() == 0


def test_batch_rejects_oversized_message(server: Server, client: httpx.Client) -> None:
    big = {"type": "track", "userId": "u", "event": "E", "properties": {"b": "x" * (33 * 1024)}}
    small = {"type": "track", "userId": "u", "event": "E"}
    assert_refused(client.post("/v1/batch", json={"batch": [small, big]}), 413, "batch[1]")
    assert server.event_count() == 0


def test_batch_rejects_oversized_batch(server: Server, client: httpx.Client) -> None:
    call = {"type": "track", "userId": "u", "event": "E", "properties": {"b": "x" * 20_000}}
    resp = client.post("/v1/batch", json={"batch": [call] * 30})
    assert_refused(resp, 413, "500 KiB")
    assert server.event_count() == 0


def test_non_segment_routes_share_one_error_envelope(server: Server) -> None:
    @server.app.get("/api/probe")
    async def probe() -> None:
        raise InputError("probe: always wrong; test only", errors=["probe"])

    resp = httpx.get(f"{server.url}/api/probe")
    assert resp.status_code == 400
    assert resp.json() == {
        "ok": False,
        "code": "input_error",
        "error": "probe: always wrong; test only",
        "errors": ["probe"],
        "status": 400,
    }


def test_serve_cli_migrates_and_ingests(db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "ACCORD_DATABASE_URL": db_url}
    accord = [sys.executable, "-m", "accord", "--workspace", str(tmp_path / "ws")]
    port = free_port()
    proc = subprocess.Popen(
        [*accord, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.2)
        made = subprocess.run([*accord, "keys", "create"], env=env, capture_output=True, text=True)
        key = made.stdout.strip().splitlines()[-1]
        call = {"userId": "u1", "event": "Signed In", "messageId": "cli-1"}
        assert httpx.post(f"{url}/v1/track", json=call, auth=(key, "")).status_code == 200
        stats = subprocess.run(
            [*accord, "stats", "--json"], env=env, capture_output=True, text=True, check=True
        )
        assert orjson.loads(stats.stdout)["events"] == 1
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_ingest_first_serves_v1_and_other_routes(workspace: Workspace) -> None:
    with running_server(workspace, dispatch=True) as srv:
        call = {"userId": "u1", "event": "Signed In", "messageId": "d-1"}
        resp = httpx.post(f"{srv.url}/v1/track", json=call, auth=(srv.key, ""))
        assert resp.status_code == 200
        assert resp.json() == {"success": True}
        bad = httpx.post(f"{srv.url}/v1/track", json={"event": "x"}, auth=(srv.key, ""))
        assert_refused(bad, 400, "userId")
        assert httpx.post(f"{srv.url}/v1/nope", json=call).status_code == 404
        assert httpx.get(f"{srv.url}/healthz").json()["ok"] is True
        assert [(r["kind"], r["team"]) for r in srv.events()] == [("usage", "product")]
