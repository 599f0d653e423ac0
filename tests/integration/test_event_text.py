"""Event writes store every text exactly as given, on both stores: tabs, newlines, carriage
returns and backslashes (which PostgreSQL's COPY text format escapes), empty strings and
NULLs, in keys as in values; and such keys still deduplicate."""

from __future__ import annotations

from sqlalchemy import select

from accord.store.events import EventRow, write_events
from accord.store.schema import event_dedupe, events
from accord.workspace import Workspace
from tests.integration.pg_write_paths import pg_write_path  # noqa: F401 (autouse)
from tests.integration.test_segment_store import NOW

AWKWARD = ["tab\there", "line\nbreak", "carriage\rreturn", "back\\slash", "\\N", "é ✓ 😀"]


def _rows(source: str) -> list[EventRow]:
    out = []
    for i, text in enumerate(AWKWARD):
        props = f'{{"quote": "a\\"b", "path": "C:\\\\dir", "text": {i}}}'
        out.append(EventRow(f"m-{i}-{text}", source, NOW, NOW, "product", text, "", None, None,
                            text, None if i % 2 else text, props))  # fmt: skip
    return out


def test_awkward_texts_round_trip_and_dedupe(workspace: Workspace) -> None:
    first = _rows("src\tone") + _rows("plain")
    with workspace.engine.begin() as conn:
        assert write_events(conn, first) == len(first)
    with workspace.engine.begin() as conn:  # every key is recognised, however it is spelt
        assert write_events(conn, first) == 0
    cols = events.c
    query = select(cols.message_id, cols.source, cols.name, cols.team, cols.account_id,
                   cols.user_id, cols.anonymous_id, cols.properties).order_by(cols.id)  # fmt: skip
    with workspace.engine.connect() as conn:
        stored = [tuple(row) for row in conn.execute(query)]
        keys = {tuple(row) for row in conn.execute(select(event_dedupe.c.source,
                                                          event_dedupe.c.message_id))}  # fmt: skip
    expected = [(r.message_id, r.source, r.name, r.team, r.account_id, r.user_id,
                 r.anonymous_id, {"quote": 'a"b', "path": "C:\\dir", "text": i % len(AWKWARD)})
                for i, r in enumerate(first)]  # fmt: skip
    assert stored == expected
    assert keys == {(r.source, r.message_id) for r in first}
