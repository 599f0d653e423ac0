"""Segment-compatible ingest routes: `POST /v1/{track,identify,page,screen,group,alias,batch}`.

The hot path reads the raw body, parses it with orjson, validates by hand, stitches each call
to its account, hands flat rows to the group-commit writer and answers `{"success": true}`
only after the commit. A request is all or nothing: one bad message refuses the whole batch.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from accord.api.auth import WriteKeys, basic_user
from accord.api.stitch import IdentityStitcher
from accord.errors import AccordError, InputError
from accord.ingest.segment_jsonl import (
    KINDS,
    MAX_MESSAGE_BYTES,
    Call,
    parse_call,
    parse_time,
    to_row,
)
from accord.store.events import GroupCommitWriter, WriteRequest, utc_text

MAX_BATCH_BYTES = 500 * 1024
_OK = b'{"success":true}'
log = logging.getLogger(__name__)


class PayloadTooLarge(InputError):
    code = "payload_too_large"
    http_status = 413


def segment_error(status: int, code: str, message: str, errors: list[str]) -> Response:
    """Segment-style failure body; names the offending field in `error` and `errors`."""
    body = {
        "success": False,
        "code": code,
        "message": message,
        "error": message,
        "errors": errors,
        "status": status,
    }
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _read_capped(request: Request, cap: int, what: str) -> bytes:
    length = request.headers.get("content-length")
    too_big = PayloadTooLarge(
        f"body: larger than {cap // 1024} KiB, the limit for {what}; send smaller requests",
        errors=["body"],
    )
    if length is not None and length.isdigit() and int(length) > cap:
        raise too_big
    gzipped = request.headers.get("content-encoding", "").lower() == "gzip"
    inflate = zlib.decompressobj(wbits=31) if gzipped else None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        if inflate is not None:
            try:
                chunk = inflate.decompress(chunk, cap + 1 - size)
            except zlib.error as e:
                raise InputError(f"body: not valid gzip ({e})", errors=["body"]) from None
        size += len(chunk)
        if size > cap:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _batch_calls(msg: dict[str, Any], body_size: int, received_at: datetime) -> list[Call]:
    batch = msg.get("batch")
    if not isinstance(batch, list):
        raise InputError("batch: must be a JSON array of calls", errors=["batch"])
    sent_at = parse_time(msg.get("sentAt"), "sentAt", "")
    calls = []
    check_size = body_size > MAX_MESSAGE_BYTES
    for i, item in enumerate(batch):
        where = f"batch[{i}]."
        if check_size and len(orjson.dumps(item)) > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(
                f"{where}message: larger than 32 KiB, Segment's limit per call; "
                "trim its properties",
                errors=[f"{where}message"],
            )
        calls.append(parse_call(item, received_at=received_at, sent_at=sent_at, where=where))
    return calls


class SegmentIngest:
    """The ingest endpoints over one key cache, one stitcher and one writer."""

    def __init__(self, keys: WriteKeys, stitcher: IdentityStitcher, writer: GroupCommitWriter):
        self.keys = keys
        self.stitcher = stitcher
        self.writer = writer

    def routes(self) -> list[Route]:
        routes = [Route(f"/v1/{kind}", self._endpoint(kind), methods=["POST"]) for kind in KINDS]
        routes.append(Route("/v1/batch", self._endpoint(None), methods=["POST"]))
        return routes

    def _endpoint(self, kind: str | None) -> Any:
        async def endpoint(request: Request) -> Response:
            return await self.handle(request, kind)

        endpoint.__name__ = f"segment_{kind or 'batch'}"
        return endpoint

    async def handle(self, request: Request, kind: str | None) -> Response:
        """Validate, stitch and durably store one request; answer Segment-style."""
        received_at = datetime.now(UTC)
        try:
            source, calls = await self._parse(request, kind, received_at)
        except AccordError as e:
            return segment_error(e.http_status, e.code, e.message, e.errors)
        stitch, received = self.stitcher.stitch, utc_text(received_at)
        rows = [to_row(call, source, received, *stitch(call)) for call in calls]
        idents, groups = self.stitcher.take_updates()
        try:
            await asyncio.wrap_future(self.writer.submit(WriteRequest(rows, idents, groups)))
        except SQLAlchemyError:
            log.exception("storing %d events failed", len(rows))
            return segment_error(500, "storage_error", "events could not be stored; retry", [])
        return Response(_OK, media_type="application/json")

    async def _parse(
        self, request: Request, kind: str | None, received_at: datetime
    ) -> tuple[str, list[Call]]:
        cap = MAX_BATCH_BYTES if kind is None else MAX_MESSAGE_BYTES
        body = await _read_capped(request, cap, "a batch" if kind is None else "one call")
        header_key = basic_user(request.headers.get("authorization"))
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            if header_key:
                self.keys.source_of(header_key)
            raise InputError(f"body: malformed JSON ({e})", errors=["body"]) from None
        body_key = msg.get("writeKey") if isinstance(msg, dict) else None
        source = self.keys.source_of(
            header_key or (body_key if isinstance(body_key, str) else None)
        )
        if not isinstance(msg, dict):
            raise InputError("body: must be a JSON object", errors=["body"])
        if kind is None:
            return source, _batch_calls(msg, len(body), received_at)
        return source, [parse_call(msg, received_at=received_at, kind=kind)]
