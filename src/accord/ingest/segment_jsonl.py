"""Segment-format calls: validation into flat rows, and the bulk loader for JSONL event files.

A call (track, identify, page, screen, group, alias) is checked by hand, field by field, and
turned into a `Call`: a flat tuple of strings, a datetime and the compact JSON of what later
layers need. Parsed dict trees are dropped at once; nothing keeps them.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import orjson
from sqlalchemy import Engine

from accord.errors import InputError
from accord.ingest.event_catalogue import KIND_NAMES, EventCatalogue, shipped_catalogue
from accord.store.events import EventRow, utc_text, write_events, write_identities

KINDS = frozenset(("track", "identify", "page", "screen", "group", "alias"))
MAX_MESSAGE_BYTES = 32 * 1024
MAX_ID = 255
CONTEXT_KEEP = frozenset(
    ("page", "campaign", "traits", "referrer", "ip", "locale", "timezone", "team")
)


class Call(NamedTuple):
    """One validated call, flat."""

    message_id: str
    kind: str  # the Segment call type
    name: str | None
    team: str | None
    event_kind: str  # the Accord kind stored: the catalogue's, else the call type
    occurred_at: datetime
    user_id: str | None
    anonymous_id: str | None
    group_id: str | None  # groupId of a group call, else context.groupId
    previous_id: str | None
    email: str | None  # traits.email or context.traits.email
    company: str | None  # group name, or traits.company on identify
    website: str | None  # group website / domain
    properties: str  # compact JSON: properties, traits, context subset, ids


def _fail(where: str, field: str, problem: str) -> InputError:
    return InputError(f"{where}{field}: {problem}", errors=[f"{where}{field}"])


def _ident(value: Any, key: str, where: str) -> str | None:
    """An id field: a non-empty string (numbers are turned into strings) or None."""
    if type(value) is str and 0 < len(value) <= MAX_ID and "\x00" not in value:
        return value
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise _fail(where, key, f"must be a string, not {type(value).__name__}")
    raise _fail(where, key, f"must be at most {MAX_ID} characters with no NUL byte")


def _obj(value: Any, key: str, where: str) -> dict[str, Any]:
    if type(value) is dict:
        return value
    if value is None:
        return {}
    raise _fail(where, key, f"must be a JSON object, not {type(value).__name__}")


def parse_time(value: Any, field: str, where: str) -> datetime | None:
    """An ISO-8601 date-time as an aware UTC datetime; naive times are taken as UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(where, field, f"must be an ISO-8601 date-time string, not {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(where, field, f"'{value[:64]}' is not an ISO-8601 date-time") from None
    tz = parsed.tzinfo
    if tz is UTC:
        return parsed
    if tz is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _occurred_at(
    msg: dict[str, Any], received_at: datetime, sent_at: datetime | None, where: str
) -> datetime:
    """`timestamp`, else `originalTimestamp` corrected for device clock skew, else receipt."""
    get = msg.get
    timestamp = parse_time(get("timestamp"), "timestamp", where)
    original, sent = get("originalTimestamp"), get("sentAt")
    if original is None and sent is None:
        return timestamp or received_at
    original = parse_time(original, "originalTimestamp", where)
    sent = parse_time(sent, "sentAt", where) or sent_at
    if timestamp is not None:
        return timestamp
    if original is not None:
        return received_at - (sent - original) if sent is not None else original
    return received_at


def _missing_who(msg: dict[str, Any], kind: str, where: str) -> InputError:
    hint = ""
    if "user_id" in msg or "anonymous_id" in msg:
        hint = " (found 'user_id'/'anonymous_id': Segment spells them userId/anonymousId)"
    return _fail(where, "userId", f"a {kind} call needs userId or anonymousId{hint}")


def _text(value: Any) -> str | None:
    return value if type(value) is str and value else None


def _compact(
    props: dict[str, Any], traits: dict[str, Any], context: dict[str, Any], extra: dict[str, Any]
) -> str:
    # The call's properties sit at the top level, where signal and score filters read them
    # (`path`, `seats`, `topic`...); traits and the kept context sit beside them.
    out: dict[str, Any] = dict(props) if props else {}
    if traits:
        out["traits"] = traits
    if context:
        kept = {k: v for k, v in context.items() if k in CONTEXT_KEEP}
        if kept:
            out["context"] = kept
    if extra:
        out.update(extra)
    return orjson.dumps(out).decode()


def parse_call(
    msg: Any,
    *,
    received_at: datetime,
    kind: str | None = None,
    sent_at: datetime | None = None,
    where: str = "",
    catalogue: EventCatalogue | None = None,
) -> Call:
    """Validate one Segment call; `kind` comes from the route, else from the message's `type`.

    Errors name the field, prefixed by `where` (e.g. `batch[3].`). The stored kind and team
    come from the call's own `properties.kind` / `properties.team` / `context.team`, else
    from `catalogue` (the shipped one by default).
    """
    if type(msg) is not dict:
        raise _fail(where, "message", "must be a JSON object")
    get = msg.get
    if kind is None:
        kind = get("type")
        if kind not in KINDS:
            got = f"'{kind}'" if kind is not None else "missing"
            raise _fail(where, "type", f"{got}; use one of {', '.join(sorted(KINDS))}")
    user_id = _ident(get("userId"), "userId", where)
    anonymous_id = _ident(get("anonymousId"), "anonymousId", where)
    if user_id is None and (anonymous_id is None or kind == "alias"):
        raise _missing_who(msg, kind, where)
    context = _obj(get("context"), "context", where)
    props = _obj(get("properties"), "properties", where)
    traits = _obj(get("traits"), "traits", where)
    name = _name(msg, kind, where)
    extra: dict[str, str] = {}
    group_id = _ident(get("groupId"), "groupId", where)
    previous_id = None
    if kind == "group" and group_id is None:
        raise _fail(where, "groupId", "a group call needs groupId")
    if kind == "alias":
        previous_id = _ident(get("previousId"), "previousId", where)
        if previous_id is None:
            raise _fail(where, "previousId", "an alias call needs previousId")
        extra["previousId"] = previous_id
    if group_id is None and context:
        group_id = _ident(context.get("groupId"), "groupId", f"{where}context.")
    if group_id is not None:
        extra["groupId"] = group_id
    email = _text(traits.get("email")) if traits else None
    if email is None and context:
        ctx_traits = context.get("traits")
        if type(ctx_traits) is dict:
            email = _text(ctx_traits.get("email"))
    team = (_text(props.get("team")) if props else None) or _text(context.get("team"))
    event_kind, team = _classify(catalogue, kind, name, props, context, team)
    return Call(
        message_id=_ident(get("messageId"), "messageId", where) or str(uuid.uuid4()),
        kind=kind,
        name=name,
        team=team[:20] if team else None,
        event_kind=event_kind,
        occurred_at=_occurred_at(msg, received_at, sent_at, where),
        user_id=user_id,
        anonymous_id=anonymous_id,
        group_id=group_id,
        previous_id=previous_id,
        email=email,
        company=_company(traits, kind) if traits else None,
        website=(_text(traits.get("website")) or _text(traits.get("domain"))) if traits else None,
        properties=_compact(props, traits, context, extra),
    )


def _classify(
    catalogue: EventCatalogue | None,
    kind: str,
    name: str | None,
    props: dict[str, Any],
    context: dict[str, Any],
    team: str | None,
) -> tuple[str, str | None]:
    """(stored kind, team): explicit values win, then the catalogue, then the call type."""
    path = None
    if kind == "page" or kind == "screen":
        path = _text(props.get("path")) if props else None
        if path is None and context:
            page = context.get("page")
            path = _text(page.get("path")) if type(page) is dict else None
    found_kind, found_team = (catalogue or shipped_catalogue()).classify(kind, name, path)
    explicit = props.get("kind") if props else None
    if type(explicit) is str and explicit in KIND_NAMES:
        found_kind = explicit
    return found_kind, team or found_team


def _company(traits: dict[str, Any], kind: str) -> str | None:
    """The group's name, or on other calls `traits.company` (a string or `{name: ...}`)."""
    if kind == "group":
        return _text(traits.get("name"))
    company = traits.get("company")
    if isinstance(company, dict):
        company = company.get("name")
    return _text(company)


def _name(msg: dict[str, Any], kind: str, where: str) -> str | None:
    if kind == "track":
        event = msg.get("event")
        if not isinstance(event, str) or not event.strip():
            raise _fail(where, "event", "a track call needs a non-empty event name")
        return event[:MAX_ID]
    if kind in ("page", "screen"):
        name = _text(msg.get("name"))
        return name[:MAX_ID] if name else None
    return None


# -- bulk loading -------------------------------------------------------------------------


class Stitcher(Protocol):
    """Attaches each call to an account and contact, remembering identities as it goes."""

    def stitch(self, call: Call) -> tuple[str | None, str | None]:
        """(account_id, contact_id) known for `call` at this point of the stream."""
        ...

    def take_updates(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Identity and group rows learnt since the last call, to store with the events."""
        ...


@dataclass
class LoadReport:
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


def _line_error(path: Path, number: int, problem: str) -> InputError:
    return InputError(
        f"{path.name} line {number}: {problem}; fix the line or pass --skip-bad-rows",
        errors=[f"{path.name}:{number}"],
    )


Block = tuple[int, bytes, datetime, str, EventCatalogue | None]  # line number, lines, ...
# a call with its row before and after (account_id, contact_id), which stitching adds
Split = tuple[Call, tuple[Any, ...], tuple[Any, ...]]
Parsed = tuple[list[Split], list[tuple[int, str]], int]  # calls, (line, problem), last line


def _blocks(
    path: Path,
    received_at: datetime,
    source: str,
    catalogue: EventCatalogue | None,
    size: int = 1 << 20,
) -> Iterator[Block]:
    """The file in blocks of whole lines, each with the number of its first line."""
    number, rest = 1, b""
    with path.open("rb") as fh:
        while data := fh.read(size):
            data = rest + data
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            block, rest = data[:cut], data[cut:]
            yield number, block, received_at, source, catalogue
            number += block.count(b"\n")
    if rest:
        yield number, rest, received_at, source, catalogue


def _parse_block(job: Block) -> Parsed:
    """Validate every line of a block; bad lines are reported, not raised."""
    number, block, received_at, source, catalogue = job
    received = utc_text(received_at)
    loads, calls, errors, last = orjson.loads, [], [], 0
    for number, line in enumerate(block.splitlines(), start=number):  # noqa: B020
        try:
            call = parse_call(loads(line), received_at=received_at, catalogue=catalogue)
            row = to_row(call, source, received, None, None)
            calls.append((call, row[:7], row[9:]))
        except orjson.JSONDecodeError as e:
            if not line.strip():
                continue
            errors.append((number, f"not valid JSON ({e})"))
        except InputError as e:
            errors.append((number, e.message))
        last = number
    return calls, errors, last


def _parsed(
    path: Path, received_at: datetime, source: str, catalogue: EventCatalogue | None, workers: int
) -> Iterator[Parsed]:
    """Parsed blocks in file order; in `workers` processes for big files."""
    blocks = _blocks(path, received_at, source, catalogue)
    if workers < 2 or path.stat().st_size < PARALLEL_AT_BYTES:
        yield from map(_parse_block, blocks)
        return
    with multiprocessing.get_context().Pool(workers) as pool:
        yield from pool.imap(_parse_block, blocks)


PARALLEL_AT_BYTES = 16 << 20


def _calls(
    path: Path,
    received_at: datetime,
    source: str,
    skip_bad_rows: bool,
    report: LoadReport,
    catalogue: EventCatalogue | None,
    workers: int = 1,
) -> Iterator[list[Split]]:
    """Blocks of valid calls; the first bad line raises unless `skip_bad_rows`."""
    for calls, errors, last in _parsed(path, received_at, source, catalogue, workers):
        if errors and not skip_bad_rows:
            number, problem = errors[0]
            raise _line_error(path, number, problem)
        report.skipped += len(errors)
        report.lines = max(report.lines, last)
        yield calls


def default_workers() -> int:
    """Parser processes for big files: one per CPU beyond the one that stitches and stores
    (on two CPUs that is none: the hand-over costs more than a shared core gives back)."""
    return max(1, min(4, (os.cpu_count() or 1) - 1))


def _unstitched(call: Call) -> tuple[None, None]:
    return None, None


def load_jsonl(
    engine: Engine,
    path: Path,
    *,
    source: str = "jsonl",
    stitcher: Stitcher | None = None,
    skip_bad_rows: bool = False,
    chunk: int = 20_000,
    catalogue: EventCatalogue | None = None,
    workers: int | None = None,
) -> LoadReport:
    """Load a Segment-format JSONL file in one transaction; messageId dedupes re-loads.

    `catalogue` gives each event its kind and team (the shipped catalogue by default). Big
    files are parsed in `workers` processes (default: `default_workers()`) while this
    process stitches and stores them in file order.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file; give the path of a .jsonl event file")
    report, started = LoadReport(), time.perf_counter()
    received_at = datetime.now(UTC)
    received = utc_text(received_at)
    workers = workers if workers is not None else default_workers()
    rows: list[Any] = []  # EventRow-shaped tuples
    stitch = stitcher.stitch if stitcher else _unstitched
    blocks = _calls(path, received_at, source, skip_bad_rows, report, catalogue, workers)
    with engine.begin() as conn:
        for calls in blocks:
            rows += [head + stitch(call) + tail for call, head, tail in calls]
            if len(rows) >= chunk:
                report.stored += write_events(conn, rows, received)
                rows = []
        report.stored += write_events(conn, rows, received)
        if stitcher:
            write_identities(conn, *stitcher.take_updates())
    report.duplicates = report.lines - report.skipped - report.stored
    report.seconds = time.perf_counter() - started
    return report


def to_row(
    call: Call, source: str, received_at: str, account_id: str | None, contact_id: str | None
) -> EventRow:
    """The events-table row of a call; `received_at` as `utc_text()` gives it."""
    return EventRow(
        call.message_id,
        source,
        call.occurred_at.isoformat(" ", "microseconds")[:26],
        received_at,
        call.event_kind,
        call.name,
        call.team,
        account_id,
        contact_id,
        call.user_id,
        call.anonymous_id,
        call.properties,
    )
