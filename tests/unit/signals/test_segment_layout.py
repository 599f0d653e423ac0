"""Events stored from Segment calls carry their properties where signal filters read them."""

from __future__ import annotations

from datetime import UTC, datetime

from accord.ingest.segment_jsonl import parse_call
from accord.signals.filters import compile_python, parse_properties
from accord.signals.library import load_library


def _high_intent_filter():  # type: ignore[no-untyped-def]
    library = load_library(None)
    spec = next(s for s in library if s.spec.id == "high_intent_pages")
    return compile_python(spec.spec.when.event)


def _stored(path: str) -> tuple[dict[str, object], object]:
    call = parse_call(
        {
            "type": "page",
            "userId": "u1",
            "name": "Pricing",
            "properties": {"path": path, "url": f"https://acme.example{path}"},
            "context": {"groupId": "g1"},
            "timestamp": "2026-10-01T10:00:00Z",
        },
        received_at=datetime(2026, 10, 1, 10, 0, 1, tzinfo=UTC),
    )
    row = {"name": call.name, "team": call.team, "kind": "page"}
    return row, parse_properties(call.properties)


def test_segment_page_path_reaches_high_intent_filter() -> None:
    check = _high_intent_filter()
    row, props = _stored("/pricing/enterprise")
    assert props["path"] == "/pricing/enterprise"  # type: ignore[index]
    assert check(row, props, None)


def test_segment_page_outside_high_intent_paths_does_not_match() -> None:
    check = _high_intent_filter()
    row, props = _stored("/blog/hello")
    assert not check(row, props, None)
