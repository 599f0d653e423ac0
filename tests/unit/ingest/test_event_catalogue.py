"""The event catalogue's classification and the answers it remembers."""

from __future__ import annotations

from datetime import UTC, datetime

from accord.ingest.event_catalogue import CatalogueEntry, EventCatalogue
from accord.ingest.segment_jsonl import parse_call


def _entry(**fields: object) -> CatalogueEntry:
    return CatalogueEntry.model_validate({"id": "test", **fields})


def test_catalogue_classifies_track_by_name_and_page_by_path_then_prefix() -> None:
    catalogue = EventCatalogue(
        [
            _entry(kind="intent", team="marketing", events=["Pricing Viewed"]),
            _entry(kind="page", team="marketing", pages=["/pricing", "/docs/*"]),
        ]
    )
    assert catalogue.classify("track", "pricing viewed", None) == ("intent", "marketing")
    assert catalogue.classify("page", None, "/pricing") == ("page", "marketing")
    assert catalogue.classify("page", None, "/docs/api/keys") == ("page", "marketing")
    assert catalogue.classify("track", "Unknown Thing", None) == ("track", None)


def test_catalogue_forgets_remembered_answers_when_an_entry_is_added() -> None:
    catalogue = EventCatalogue()
    assert catalogue.classify("track", "Seat Added", None) == ("track", None)
    catalogue.add(_entry(kind="usage", team="cs", events=["Seat Added"]))
    assert catalogue.classify("track", "Seat Added", None) == ("usage", "cs")
    extended = catalogue.extended([_entry(kind="cs", events=["Seat Added"])])
    assert extended.classify("track", "Seat Added", None) == ("cs", None)
    assert catalogue.classify("track", "Seat Added", None) == ("usage", "cs")


def test_parse_call_sees_an_entry_added_after_a_call_was_classified() -> None:
    catalogue = EventCatalogue()
    call = {"type": "track", "event": "Seat Added", "userId": "u1"}
    now = datetime.now(UTC)
    assert parse_call(call, received_at=now, catalogue=catalogue).event_kind == "track"
    catalogue.add(_entry(kind="usage", team="product", events=["Seat Added"]))
    parsed = parse_call(call, received_at=now, catalogue=catalogue)
    assert (parsed.event_kind, parsed.team) == ("usage", "product")
