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


class _Pending:
    """A fast-path request being received: its route, key header and body so far."""

    __slots__ = ("auth", "chunks", "keep_alive", "kind")

    def __init__(self, kind: str | None, auth: str | None, keep_alive: bool) -> None:
        self.kind = kind
        self.auth = auth
        self.chunks: list[bytes] = []
        self.keep_alive = keep_alive


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
    """uvicorn's httptools protocol that answers plain Segment ingest requests itself."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: Any = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.ingest: SegmentIngest | None = find_ingest(self.app)
        self.fast: _Pending | None = None  # the request being received on the fast path
        self.waiting = False  # a fast-path request awaits its commit
        self.closing = False  # the server is shutting down: close after the pending answer

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
                keep_alive = not http10 and self.parser.should_keep_alive()
                self.fast = _Pending(kind, auth, keep_alive)
                return
        self.fast = None
        if not self.waiting:
            super().on_headers_complete()
            return
        previous = self.cycle  # behind a pending answer: uvicorn queues it behind a busy cycle
        self.cycle = _AWAITED  # type: ignore[assignment]
        super().on_headers_complete()
        if self.cycle is _AWAITED:  # type: ignore[comparison-overlap]  # no cycle made (upgrade)
            self.cycle = previous

    def on_body(self, body: bytes) -> None:
        if self.fast is not None:
            self.fast.chunks.append(body)
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        fast = self.fast
        if fast is None:
            super().on_message_complete()
            return
        self.fast = None
        self._answer_fast(fast)

    def _answer_fast(self, fast: _Pending) -> None:
        ingest = self.ingest
        assert ingest is not None
        chunks = fast.chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        keep_alive = fast.keep_alive
        try:
            request = ingest.prepare(body, fast.auth, fast.kind, datetime.now(UTC))
        except AccordError as e:
            body = segment_error_body(e.http_status, e.code, e.message, e.errors)
            self._write(e.http_status, body, keep_alive)
            return

        def done(rows: int, error: BaseException | None) -> None:
            self.waiting = False
            if error is None:
                self._write(200, OK_BODY, keep_alive)
            else:
                self._write(*store_failed(rows, error), keep_alive)

        request.loop, request.done = self.loop, done
        self.waiting = True
        ingest.writer.submit(request)

    def _write(self, status: int, body: bytes, keep_alive: bool) -> None:
        """Status line, uvicorn's default headers, ours, and the body in one write."""
        transport = self.transport
        if transport.is_closing():
            return
        keep_alive = keep_alive and not self.closing
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += (name, b": ", value, b"\r\n")
        head += (_JSON, str(len(body)).encode(), b"\r\n")
        if not keep_alive:
            head.append(b"connection: close\r\n")
        head += (b"\r\n", body)
        transport.write(b"".join(head))
        if not keep_alive:
            transport.close()
        self.on_response_complete()

    def shutdown(self) -> None:
        if self.waiting:  # answer the pending request first, then close
            self.closing = True
            return
        super().shutdown()
