"""The ingest fast path inside the HTTP protocol (`accord.api.protocol`), over raw sockets:
the same answers as the ASGI path, pipelined requests answered in order, connection close."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from accord.api import protocol
from accord.workspace import Workspace
from tests.integration import segment_server
from tests.integration.segment_server import Server, running_server


@pytest.fixture
def server(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setattr(segment_server, "FAST_PATH", True)
    with running_server(workspace) as srv:
        yield srv


@pytest.fixture
def answered_fast(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The routes of the requests the protocol answered itself, in order."""
    seen: list[str | None] = []
    real = protocol.IngestProtocol._answer_fast

    def counting(
        self: protocol.IngestProtocol, kind: str | None, auth: str | None, body: bytes
    ) -> None:
        seen.append(kind)
        real(self, kind, auth, body)

    monkeypatch.setattr(protocol.IngestProtocol, "_answer_fast", counting)
    return seen


def request(
    server: Server, path: str, body: bytes, *, extra: str = "", version: str = "1.1"
) -> bytes:
    auth = base64.b64encode(f"{server.key}:".encode()).decode()
    head = (
        f"POST {path} HTTP/{version}\r\nHost: test\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/json\r\n{extra}"
    )
    if "chunked" in extra:
        return f"{head}\r\n".encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def exchange(server: Server, data: bytes, answers: int) -> list[tuple[bytes, bytes]]:
    """Send `data` on one connection; read `answers` responses as (head, body)."""
    host, port = server.url.removeprefix("http://").split(":")
    out: list[tuple[bytes, bytes]] = []
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        buffer = b""
        while len(out) < answers:
            while b"\r\n\r\n" not in buffer:
                chunk = sock.recv(65536)
                assert chunk, f"connection closed after {len(out)} answers"
                buffer += chunk
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            while len(buffer) < length:
                buffer += sock.recv(65536)
            out.append((head, buffer[:length]))
            buffer = buffer[length:]
    return out


def call(n: int) -> bytes:
    return orjson.dumps({"userId": f"u{n}", "event": "Report Created", "messageId": f"p-{n}"})


def headers(head: bytes) -> list[bytes]:
    """The response's header lines but the date."""
    return sorted(line for line in head.split(b"\r\n") if not line.startswith(b"date:"))


def test_protocol_answers_pipelined_requests_in_order(
    server: Server, answered_fast: list[str | None]
) -> None:
    data = request(server, "/v1/track", call(1)) + request(server, "/v1/track", call(2))
    data += request(server, "/v1/track", b'{"event": "x"}')
    data += b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"
    data += request(server, "/v1/track", call(3))
    answers = exchange(server, data, 5)
    assert [head.split(b"\r\n")[0] for head, _ in answers] == [b"HTTP/1.1 200 OK"] * 2 + [
        b"HTTP/1.1 400 Bad Request",
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 200 OK",
    ]
    assert answers[0][1] == answers[1][1] == answers[4][1] == b'{"success":true}'
    assert b"userId" in answers[2][1]
    assert orjson.loads(answers[3][1])["ok"] is True
    assert [e["message_id"] for e in server.events()] == ["p-1", "p-2", "p-3"]
    assert answered_fast  # the first request at least took the fast path
    assert len(answered_fast) < 4  # those behind a pending answer took the ASGI path


def test_protocol_answers_like_the_asgi_path(
    server: Server, answered_fast: list[str | None]
) -> None:
    bodies = [call(7), call(7), b'{"userId": "u1"}', b"{not json", b'{"batch": [1]}']
    paths = ["/v1/track", "/v1/track", "/v1/track", "/v1/track", "/v1/batch"]
    for path, body in zip(paths, bodies, strict=True):
        (fast,) = exchange(server, request(server, path, body), 1)
        chunked = request(server, path, body, extra="Transfer-Encoding: chunked\r\n")
        (asgi,) = exchange(server, chunked, 1)
        assert headers(fast[0]) == headers(asgi[0])
        assert fast[1] == asgi[1]
    assert len(answered_fast) == len(bodies)
    assert [e["message_id"] for e in server.events()] == ["p-7"]


def test_protocol_closes_after_answering_http10_and_connection_close(server: Server) -> None:
    for extra, version in (("Connection: close\r\n", "1.1"), ("", "1.0")):
        data = request(server, "/v1/track", call(9), extra=extra, version=version)
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(data)
            received = b""
            while chunk := sock.recv(65536):  # ends when the server closes
                received += chunk
        assert received.startswith(b"HTTP/1.1 200 OK")
        assert b"connection: close" in received.lower()
    assert server.event_count() == 1  # the retry of p-9 is deduplicated


def read_answer(sock: socket.socket) -> bytes:
    """One answer's status line (the body is short and arrives with its head)."""
    received = b""
    while b'{"success":true}' not in received:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        received += chunk
    return received.split(b"\r\n")[0]


def test_protocol_closes_a_connection_once_idle_for_the_keep_alive_timeout(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One timer per connection: requests that keep coming, each within the timeout, keep
    it open past the timeout; silence closes it."""
    real_init = protocol.IngestProtocol.__init__

    def short_keep_alive(self: protocol.IngestProtocol, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        self.timeout_keep_alive = 0.4

    monkeypatch.setattr(protocol.IngestProtocol, "__init__", short_keep_alive)
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        started = time.monotonic()
        for n in range(8):
            sock.sendall(request(server, "/v1/track", call(100 + n)))
            assert read_answer(sock) == b"HTTP/1.1 200 OK"
            answered = time.monotonic()
            time.sleep(0.15)
        assert answered - started > 1.0  # well past one timeout, still open
        assert sock.recv(65536) == b""  # closed by the server
        assert 0.35 < time.monotonic() - answered < 3.0
    assert server.event_count() == 8
