"""Segment-format calls: validation into flat rows (the bulk loader is `jsonl_bulk`).

A call (track, identify, page, screen, group, alias) is checked by hand, field by field, and
turned into a `Call`: a flat tuple of strings, a datetime and the compact JSON of what later
layers need. Parsed dict trees are dropped at once; nothing keeps them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from accord.errors import InputError
from accord.ingest.event_catalogue import KIND_NAMES, EventCatalogue, shipped_catalogue
from accord.store.events import EventRow

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
    props: dict[str, Any],
    traits: dict[str, Any],
    context: dict[str, Any],
    previous_id: str | None,
    group_id: str | None,
) -> str:
    # The call's properties sit at the top level, where signal and score filters read them
    # (`path`, `seats`, `topic`...); traits, the kept context and the ids sit beside them.
    kept = None
    if context and not CONTEXT_KEEP.isdisjoint(context):  # no comprehension when none is kept
        kept = {k: v for k, v in context.items() if k in CONTEXT_KEEP}
    if not (traits or kept or previous_id or group_id):
        return orjson.dumps(props).decode() if props else "{}"
    out: dict[str, Any] = dict(props) if props else {}
    if traits:
        out["traits"] = traits
    if kept:
        out["context"] = kept
    if previous_id is not None:
        out["previousId"] = previous_id
    if group_id is not None:
        out["groupId"] = group_id
    return orjson.dumps(out).decode()


def _id_or_none(value: Any, key: str, where: str) -> str | None:
    """`_ident` with the common cases (absent, a plain short string) answered inline."""
    if value is None:
        return None
    if type(value) is str and 0 < len(value) <= MAX_ID and "\x00" not in value:
        return value
    return _ident(value, key, where)


def _email(traits: dict[str, Any], context: dict[str, Any]) -> str | None:
    """traits.email, else context.traits.email."""
    email = _text(traits.get("email")) if traits else None
    if email is None and context:
        ctx_traits = context.get("traits")
        if type(ctx_traits) is dict:
            email = _text(ctx_traits.get("email"))
    return email


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
        if type(kind) is not str or kind not in KINDS:
            got = f"'{kind}'" if kind is not None else "missing"
            raise _fail(where, "type", f"{got}; use one of {', '.join(sorted(KINDS))}")
    # The common cases of each check are answered inline (absent, or a plain short string):
    # this runs once per event on the ingest hot path.
    user_id = get("userId")
    if user_id is not None and not (
        type(user_id) is str and 0 < len(user_id) <= MAX_ID and "\x00" not in user_id
    ):
        user_id = _ident(user_id, "userId", where)
    anonymous_id = get("anonymousId")
    if anonymous_id is not None:
        anonymous_id = _id_or_none(anonymous_id, "anonymousId", where)
    if user_id is None and (anonymous_id is None or kind == "alias"):
        raise _missing_who(msg, kind, where)
    context, props, traits = get("context"), get("properties"), get("traits")
    if type(context) is not dict:
        context = _obj(context, "context", where)
    if type(props) is not dict:
        props = _obj(props, "properties", where)
    if type(traits) is not dict:
        traits = _obj(traits, "traits", where)
    name: str | None
    if kind == "track":
        event = get("event")
        if type(event) is not str or not event or event[0].isspace() or event[-1].isspace():
            event = _name(msg, kind, where)
        elif len(event) > MAX_ID:
            event = event[:MAX_ID]
        name = event
    else:
        name = _name(msg, kind, where)
    group_id = get("groupId")
    if group_id is not None:
        group_id = _id_or_none(group_id, "groupId", where)
    previous_id = None
    if kind == "group" and group_id is None:
        raise _fail(where, "groupId", "a group call needs groupId")
    if kind == "alias":
        previous_id = _id_or_none(get("previousId"), "previousId", where)
        if previous_id is None:
            raise _fail(where, "previousId", "an alias call needs previousId")
    if group_id is None and context:
        group_id = context.get("groupId")
        if group_id is not None and not (
            type(group_id) is str and 0 < len(group_id) <= MAX_ID and "\x00" not in group_id
        ):
            group_id = _ident(group_id, "groupId", f"{where}context.")
    team = props.get("team") if props else None
    if type(team) is not str or not team:
        team = context.get("team") if context else None
        if type(team) is not str or not team:
            team = None
    if kind == "track" and catalogue is not None:
        event_kind, team = _classify_track(catalogue, name or "", props, team)
    else:
        event_kind, team = _classify(catalogue, kind, name, props, context, team)
    if "timestamp" in msg or "originalTimestamp" in msg or "sentAt" in msg:
        occurred_at = _occurred_at(msg, received_at, sent_at, where)
    else:
        occurred_at = received_at
    message_id = get("messageId")
    if message_id is None or not (
        type(message_id) is str and 0 < len(message_id) <= MAX_ID and "\x00" not in message_id
    ):
        message_id = _id_or_none(message_id, "messageId", where) or str(uuid.uuid4())
    if traits:
        company = _company(traits, kind)
        website = _text(traits.get("website")) or _text(traits.get("domain"))
        email = _email(traits, context)
    else:
        company = website = None
        email = _email(traits, context) if context and "traits" in context else None
    return tuple.__new__(Call, (
        message_id,
        kind,
        name,
        team[:20] if team else None,
        event_kind,
        occurred_at,
        user_id,
        anonymous_id,
        group_id,
        previous_id,
        email,
        company,
        website,
        _compact(props, traits, context, previous_id, group_id),
    ))  # fmt: skip


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


def _classify_track(
    catalogue: EventCatalogue, name: str, props: dict[str, Any], team: str | None
) -> tuple[str, str | None]:
    """`_classify` of a track call (no page path to look at)."""
    found_kind, found_team = catalogue.classify_track(name)
    if props:
        explicit = props.get("kind")
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


def to_row(
    call: Call,
    source: str,
    received_at: str,
    account_id: str | None,
    contact_id: str | None,
    received: datetime | None = None,
) -> EventRow:
    """The events-table row of a call; `received_at` as `utc_text()` gives it (of `received`,
    when given: a call that took its time from the receipt reuses that text)."""
    occurred = call.occurred_at
    return tuple.__new__(EventRow, (
        call.message_id,
        source,
        received_at if occurred is received else occurred.isoformat(" ", "microseconds")[:26],
        received_at,
        call.event_kind,
        call.name,
        call.team,
        account_id,
        contact_id,
        call.user_id,
        call.anonymous_id,
        call.properties,
    ))  # fmt: skip
