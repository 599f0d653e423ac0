"""The HTTP protocol `accord serve` runs: uvicorn's httptools protocol with the Segment
ingest routes answered inside the protocol.

A plain `POST /v1/{track,identify,page,screen,group,alias,batch}` with a Content-Length
within the route's limit is parsed when its body is complete, handed to the group-commit
writer, and answered with one write of status line, headers and body when its commit is
acknowledged: no task, no ASGI messages. Everything else (other routes, gzip or chunked
bodies, `Expect: 100-continue`, pipelined requests behind a pending one) takes uvicorn's
usual ASGI path, which serves `/v1/*` with the same answers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from accord.api.segment import (
    MAX_BATCH_BYTES,
    OK_BODY,
    SegmentIngest,
    find_ingest,
    segment_error_body,
    store_failed,
)
from accord.errors import AccordError
from accord.ingest.segment_jsonl import KINDS, MAX_MESSAGE_BYTES

_ROUTES: dict[bytes, str | None] = {f"/v1/{kind}".encode(): kind for kind in KINDS}
_ROUTES[b"/v1/batch"] = None
_JSON = b"content-type: application/json\r\ncontent-length: "


class _Awaited:
    """Stands for the unfinished cycle while a fast-path answer awaits its commit, so that
    uvicorn queues a pipelined request behind it."""

    response_complete = False


_AWAITED = _Awaited()


class _Heads:
    """Status line and headers up to the content length's value, per (status, keep-alive),
    built again when the server's default headers (their date) change, once a second."""

    def __init__(self) -> None:
        self.defaults: list[tuple[bytes, bytes]] | None = None
        self.built: dict[tuple[int, bool], bytes] = {}

    def get(self, defaults: list[tuple[bytes, bytes]], status: int, keep_alive: bool) -> bytes:
        if defaults is not self.defaults:
            self.defaults, self.built = defaults, {}
        head = self.built.get((status, keep_alive))
        if head is None:
            parts = [STATUS_LINE[status]]
            for name, value in defaults:
                parts += (name, b": ", value, b"\r\n")
            if not keep_alive:
                parts.append(b"connection: close\r\n")
            parts.append(_JSON)
            head = self.built[(status, keep_alive)] = b"".join(parts)
        return head


_HEADS = _Heads()


def _fast_headers(headers: list[tuple[bytes, bytes]], cap: int) -> tuple[bool, str | None]:
    """(whether the fast path may take a request with these headers, its Authorization)."""
    length, auth = -1, None
    for name, value in headers:
        if name == b"content-length":
            length = int(value) if value.isdigit() else -1
        elif name == b"authorization":
            auth = value.decode("latin-1")
        elif name in (b"content-encoding", b"transfer-encoding", b"expect"):
            return False, None
    return 0 <= length <= cap, auth


class IngestProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that answers plain Segment ingest requests itself.

    A fast-path request allocates little that outlives it: no ASGI scope (built only for
    requests that take the ASGI path), its headers dropped once read, and one keep-alive
    timer per connection, armed when an answer finds none armed and checked when it fires,
    instead of one timer per answer.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: Any = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.ingest: SegmentIngest | None = find_ingest(self.app)
        self.fast = False  # the request being received takes the fast path
        self.fast_kind: str | None = None  # its route (None: a batch)
        self.fast_auth: str | None = None  # its Authorization header
        self.fast_keep_alive = True
        self.body = b""  # its body so far: one chunk, or `chunks` from the second on
        self.chunks: list[bytes] | None = None
        self.receiving = False  # between the start and the end of a request message
        self.waiting = False  # a fast-path request awaits its commit
        self.closing = False  # the server is shutting down: close after the pending answer
        self.answered_at = 0.0  # loop time of the last complete answer

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.receiving = True

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value.rstrip(b" \t")))

    def _begin_scope(self) -> None:
        """The ASGI scope of the request whose headers were just read (uvicorn's own)."""
        url, headers = self.url, self.headers
        super().on_message_begin()
        self.url, self.headers = url, headers
        self.scope["headers"] = headers
        self.expect_100_continue = any(
            name == b"expect" and value.lower() == b"100-continue" for name, value in headers
        )

    def on_headers_complete(self) -> None:
        kind = _ROUTES.get(self.url, "")
        if (
            kind != ""
            and self.ingest is not None
            and self.ingest.catalogue is not None
            and not self.waiting
            and (self.cycle is None or self.cycle.response_complete)
            and self.parser.get_method() == b"POST"
        ):
            cap = MAX_BATCH_BYTES if kind is None else MAX_MESSAGE_BYTES
            fits, auth = _fast_headers(self.headers, cap)
            if fits:
                http10 = self.parser.get_http_version() == "1.0"
                self.fast, self.fast_kind, self.fast_auth = True, kind, auth
                self.fast_keep_alive = not http10 and self.parser.should_keep_alive()
                self.headers.clear()
                return
        self.fast = False
        self._begin_scope()
        if not self.waiting:
            super().on_headers_complete()
            return
        previous = self.cycle  # behind a pending answer: uvicorn queues it behind a busy cycle
        self.cycle = _AWAITED  # type: ignore[assignment]
        super().on_headers_complete()
        if self.cycle is _AWAITED:  # type: ignore[comparison-overlap]  # no cycle made (upgrade)
            self.cycle = previous

    def on_body(self, body: bytes) -> None:
        if not self.fast:
            super().on_body(body)
        elif self.chunks is not None:
            self.chunks.append(body)
        elif self.body:
            self.chunks = [self.body, body]
        else:
            self.body = body

    def on_message_complete(self) -> None:
        self.receiving = False
        if not self.fast:
            super().on_message_complete()
            return
        self.fast = False
        body = self.body if self.chunks is None else b"".join(self.chunks)
        self.body, self.chunks = b"", None
        self._answer_fast(self.fast_kind, self.fast_auth, body)

    def _answer_fast(self, kind: str | None, auth: str | None, body: bytes) -> None:
        ingest = self.ingest
        assert ingest is not None
        try:
            request = ingest.prepare(body, auth, kind, datetime.now(UTC))
        except AccordError as e:
            body = segment_error_body(e.http_status, e.code, e.message, e.errors)
            self._write(e.http_status, body)
            return
        request.loop, request.done = self.loop, self._committed
        self.waiting = True
        ingest.writer.submit(request)

    def _committed(self, rows: int, error: BaseException | None) -> None:
        """The writer's answer for the pending request (in the loop's thread)."""
        self.waiting = False
        if error is None:
            self._write(200, OK_BODY)
        else:
            self._write(*store_failed(rows, error))

    def _write(self, status: int, body: bytes) -> None:
        """Status line, uvicorn's default headers, ours, and the body in one write."""
        transport = self.transport
        if transport.is_closing():
            return
        keep_alive = self.fast_keep_alive and not self.closing
        head = _HEADS.get(self.server_state.default_headers, status, keep_alive)
        transport.write(b"".join((head, str(len(body)).encode(), b"\r\n\r\n", body)))
        if not keep_alive:
            transport.close()
        self.on_response_complete()

    # One keep-alive timer per connection ------------------------------------------------

    def _unset_keepalive_if_required(self) -> None:
        """Data arrived: the armed timer, if any, finds the connection busy when it fires."""

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:  # a request queued behind this answer starts now
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self.answered_at = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def timeout_keep_alive_handler(self) -> None:
        """Close the connection once it has been idle for the keep-alive timeout."""
        self.timeout_keep_alive_task = None
        cycle = self.cycle
        if (
            self.receiving
            or self.waiting
            or self.pipeline
            or (cycle is not None and not cycle.response_complete)
        ):
            return  # a request is under way: its answer arms the timer again
        left = self.answered_at + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(
                left, self.timeout_keep_alive_handler
            )
            return
        super().timeout_keep_alive_handler()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        super().connection_lost(exc)

    def shutdown(self) -> None:
        if self.waiting:  # answer the pending request first, then close
            self.closing = True
            return
        super().shutdown()
