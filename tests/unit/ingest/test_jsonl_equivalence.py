"""The set-based JSONL reader accepts, refuses and flattens every line exactly as `parse_call`."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.demo.events import write_events
from accord.demo.generator import generate
from accord.demo.model import DemoConfig
from accord.errors import InputError
from accord.ingest.jsonl_read import micros, open_duck, read_calls
from accord.ingest.segment_jsonl import Call, parse_call

RECEIVED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FIELDS = (
    "kind", "event_kind", "name", "team", "user_id", "anonymous_id", "group_id", "previous_id",
    "email", "company", "website",
)  # fmt: skip


def stream_view(lines: list[bytes]) -> dict[int, dict[str, Any] | str]:
    """Line number -> the call's fields, or the refusal, as the stream loader sees it."""
    out: dict[int, dict[str, Any] | str] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            call = parse_call(orjson.loads(raw), received_at=RECEIVED)
        except orjson.JSONDecodeError:
            out[number] = "not valid JSON"
            continue
        except InputError as e:
            out[number] = e.message
            continue
        out[number] = _fields(call)
    return out


def _fields(call: Call) -> dict[str, Any]:
    row = {f: getattr(call, f) for f in FIELDS}
    row["occurred_us"] = micros(call.occurred_at)
    row["properties"] = orjson.loads(call.properties)
    return row


def bulk_view(lines: list[bytes], tmp: Path) -> tuple[dict[int, dict[str, Any]], int]:
    """Line number -> the call's fields as the bulk reader stores them; and the lines skipped."""
    path = tmp / "calls.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    work = tmp / "work"
    work.mkdir()
    con = open_duck(work, 2)
    try:
        result = read_calls(con, path, work, received_at=RECEIVED, skip_bad_rows=True)
        cols = ["line", *FIELDS, "occurred_us", "properties"]
        rows = con.execute(f"SELECT {', '.join(cols)} FROM calls").fetchall()
    finally:
        con.close()
    found = {}
    for row in rows:
        record = dict(zip(cols[1:], row[1:], strict=True))
        record["properties"] = orjson.loads(record["properties"])
        found[row[0]] = record
    return found, result.skipped


def assert_same(lines: list[bytes]) -> None:
    expected = stream_view(lines)
    with tempfile.TemporaryDirectory() as tmp:
        found, skipped = bulk_view(lines, Path(tmp))
    refused = {n for n, v in expected.items() if isinstance(v, str)}
    assert skipped == len(refused)
    assert set(found) == set(expected) - refused
    for number, row in found.items():
        assert row == expected[number], lines[number - 1]


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["", " ", "\t", "x" * 300]),
    st.text(max_size=12),
)  # fmt: skip
TIMES = st.sampled_from([
    "2025-01-02T03:04:05Z", "2025-01-02T03:04:05.123Z", "2025-01-02T03:04:05.123456+02:00",
    "2025-01-02T03:04:05", "2025-01-02 03:04:05", "2025-01-02", "2025-02-30T00:00:00Z",
    "2025-01-02T23:59:60Z", "2025-01-02T03:04:05.12345Z", "2025-01-02T03:04:05-23:59",
    "2025-01-02T03:04:05+24:00", "0000-01-01T00:00:00Z", "yesterday", 1735689600,
])  # fmt: skip
IDS = st.one_of(SCALARS, st.sampled_from(["u1", "u2", "anon-1", "g1", "ü-ser", "a\x00b"]))
OBJECTS = st.dictionaries(
    st.sampled_from(["email", "name", "website", "domain", "company", "team", "path", "kind",
                     "groupId", "traits", "page", "ip", "title", "seats"]),
    st.one_of(IDS, st.sampled_from(["a@b.example", "/pricing", "usage", "sales", "Initech"]),
              st.dictionaries(st.sampled_from(["name", "path", "email"]), IDS, max_size=2)),
    max_size=5,
)  # fmt: skip
CALLS = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["track", "identify", "page", "screen", "group", "alias",
                                 "Track", None, 3]),
        "userId": IDS, "anonymousId": IDS, "messageId": IDS, "groupId": IDS,
        "previousId": IDS, "event": IDS, "name": IDS, "timestamp": TIMES,
        "originalTimestamp": TIMES, "sentAt": TIMES, "context": st.one_of(OBJECTS, SCALARS),
        "properties": st.one_of(OBJECTS, SCALARS), "traits": st.one_of(OBJECTS, SCALARS),
    },
)  # fmt: skip


NAMES = st.sampled_from(["Signed In", "Report Created", "Pricing", "Home", "  ", "é" * 3])
VALID_CALLS = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["track", "identify", "page", "screen", "group", "alias"]),
        "userId": st.sampled_from(["u1", "u2", 42]), "event": NAMES, "groupId": IDS,
        "previousId": st.sampled_from(["anon-1", "anon-2"]),
    },
    optional={
        "anonymousId": st.sampled_from(["anon-1", "anon-2"]), "name": NAMES,
        "messageId": st.sampled_from(["m1", "m2", "m3"]), "timestamp": TIMES,
        "originalTimestamp": TIMES, "sentAt": TIMES, "context": OBJECTS,
        "properties": OBJECTS, "traits": OBJECTS,
    },
)  # fmt: skip


def _dump(call: dict[str, Any], style: int) -> bytes:
    compact = json.dumps(call, separators=(",", ":"), ensure_ascii=False).encode()
    if style == 0:
        return compact
    if style == 1:
        return json.dumps(call).encode()  # ", " separators and \u escapes
    return compact[:-1] + b",}" if call else b"{,}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(CALLS | VALID_CALLS, st.integers(0, 2)), min_size=1, max_size=40))
def test_jsonl_reader_matches_parse_call_on_random_calls(calls: list[Any]) -> None:
    assert_same([_dump(call, style) for call, style in calls])


ODD_LINES = [
    b"",
    b"   ",
    b"not json",
    b'{"type": "tr',
    b"[1, 2]",
    b'"text"',
    b'{"type":"track"}',
    b'{"type":"track","userId":"u","event":"E","properties":{"x":NaN}}',
    b'{"type":"track","userId":"u","event":"E","properties":{"x":1,}}',
    b'\xef\xbb\xbf{"type":"track","userId":"u","event":"E"}',
    b'{"type":"track","userId":"u","event":"\xff\xfe"}',
    b'{"type":"track","userId":"u","event":"a\x01b"}',
    b'{"type":"track","userId":"u","event":"E"}\r',
    b'{"type":"track","userId":"u","event":"E","properties":{"traits":{"a":1}}}',
    b'{"type":"track","user_id":"u","event":"E"}',
    b'{"type":"alias","anonymousId":"a","previousId":"p"}',
    b'{"type":"page","userId":"u","context":{"page":{"path":"/pricing"},"groupId":7}}',
    b'{"type":"group","userId":"u","groupId":"","context":{"groupId":"g"}}',
    b'{"type":"identify","userId":"u","traits":{"company":{"name":"Initech"},"email":"a@b.c"}}',
    b'{"type":"track","userId":"u","event":"E","timestamp":"2025-01-01T00:00:00+01:00",'
    b'"originalTimestamp":"2025-01-01T00:00:00Z","sentAt":"2025-01-01T00:00:10Z"}',
    b'{"type":"track","userId":"u","event":"E","originalTimestamp":"2025-01-01T00:00:00Z",'
    b'"sentAt":"2025-01-01T00:00:10Z"}',
    b'{"type":"track","userId":"u","event":"E","sentAt":"2025-01-01T00:00:10Z"}',
    b'{"type":"track","userId":-0,"event":"E"}',
    b'{"type":"track","userId":12345678901234567890,"event":"E"}',
]


def test_jsonl_reader_matches_parse_call_on_odd_lines() -> None:
    assert_same(ODD_LINES)


def test_jsonl_reader_matches_parse_call_on_segment_spec_payloads(realworld: Path) -> None:
    lines = []
    for path in sorted((realworld / "segment" / "payloads").glob("*.json")):
        lines += [orjson.dumps(p) for p in orjson.loads(path.read_bytes())]
    assert len(lines) >= 30
    assert_same(lines)


def test_jsonl_reader_matches_parse_call_on_demo_events(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_events(generate(DemoConfig(accounts=30)), path)
    assert_same(path.read_bytes().splitlines())


@pytest.mark.parametrize("bad", [b'{"type":"page"}', b"{oops"])
def test_jsonl_reader_rejects_first_bad_line_with_parse_call_message(
    tmp_path: Path, bad: bytes
) -> None:
    good = b'{"type":"track","userId":"u","event":"E"}'
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join([good, good, bad, bad]) + b"\n")
    con = open_duck(tmp_path, 1)
    with pytest.raises(InputError) as caught:
        read_calls(con, path, tmp_path, received_at=RECEIVED)
    con.close()
    expected = stream_view([bad])[1]
    assert isinstance(expected, str)
    assert caught.value.message.startswith(f"bad.jsonl line 3: {expected}")
