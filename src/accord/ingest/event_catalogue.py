"""The event catalogue: event names and page paths to Accord event kinds and teams.

The shipped `definitions/events/catalogue.yaml` is read first, then the workspace's
`definitions/events/*.yaml`, whose names and pages win. Classifying an event is a dict
lookup (a few for a page path), done on the ingest hot path.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from accord.yamlspec import Loaded, load_all, yaml_files

EventKind = Literal[
    "page", "screen", "track", "identify", "group", "intent", "ad", "usage", "cs", "email",
    "meeting", "sales_activity",
]  # fmt: skip
Team = Literal["marketing", "sales", "cs", "product"]
KIND_NAMES: frozenset[str] = frozenset(EventKind.__args__)  # type: ignore[attr-defined]
TEAM_NAMES: frozenset[str] = frozenset(Team.__args__)  # type: ignore[attr-defined]
SHIPPED = Path(__file__).resolve().parents[1] / "definitions" / "events"

EventName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
PagePattern = Annotated[
    str, StringConstraints(pattern=r"^/[^*]*\*?$", max_length=255)
]  # "/pricing" exactly, or "/docs/*" (a trailing * matches any suffix)
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Mapping = tuple[str | None, str | None]  # (kind, team); None keeps what the call says


class CatalogueEntry(BaseModel):
    """Event names and page paths that share one kind and team."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    kind: EventKind | None = None
    team: Team | None = None
    events: list[EventName] = Field(default_factory=list)
    pages: list[PagePattern] = Field(default_factory=list)

    @model_validator(mode="after")
    def _says_something(self) -> CatalogueEntry:
        if self.kind is None and self.team is None:
            raise ValueError("give a kind, a team or both")
        if not self.events and not self.pages:
            raise ValueError("list the events or pages this entry covers")
        return self


ANSWERS_KEPT = 4096  # distinct (call type, name, path) answers a catalogue remembers


class EventCatalogue:
    """Flat lookups: lower-cased event name, exact page path, page path prefix."""

    def __init__(self, entries: Iterable[CatalogueEntry] = ()) -> None:
        self.names: dict[str, Mapping] = {}
        self.paths: dict[str, Mapping] = {}
        self.prefixes: dict[str, Mapping] = {}
        self._lengths: list[int] = []
        self._answers: dict[tuple[str, str | None, str | None], tuple[str, str | None]] = {}
        self._tracks: dict[str, tuple[str, str | None]] = {}  # the same, for track names
        for entry in entries:
            self.add(entry)

    def add(self, entry: CatalogueEntry) -> None:
        """Add (or override) the names and pages of `entry`."""
        mapping = (entry.kind, entry.team)
        for name in entry.events:
            self.names[name.lower()] = mapping
        for page in entry.pages:
            if page.endswith("*"):
                self.prefixes[page[:-1]] = mapping
            else:
                self.paths[page] = mapping
        self._lengths = sorted({len(p) for p in self.prefixes}, reverse=True)
        self._answers.clear()
        self._tracks.clear()

    def extended(self, entries: Iterable[CatalogueEntry]) -> EventCatalogue:
        """A copy of this catalogue with `entries` added over it."""
        copy = EventCatalogue()
        copy.names, copy.paths = dict(self.names), dict(self.paths)
        copy.prefixes, copy._lengths = dict(self.prefixes), list(self._lengths)
        for entry in entries:
            copy.add(entry)
        return copy

    def for_name(self, name: str) -> Mapping | None:
        """(kind, team) of a track event name, if catalogued."""
        return self.names.get(name.lower())

    def for_path(self, path: str) -> Mapping | None:
        """(kind, team) of a page path: the exact path, else the longest matching prefix."""
        found = self.paths.get(path)
        if found is not None:
            return found
        prefixes = self.prefixes
        for n in self._lengths:
            found = prefixes.get(path[:n])
            if found is not None:
                return found
        return None

    def classify(
        self, call_type: str, name: str | None, path: str | None
    ) -> tuple[str, str | None]:
        """(kind, team) for a call: track by name, page/screen by path (else name).

        Answers are remembered per (call type, name, path), at most ANSWERS_KEPT of them,
        because ingest asks the same few questions for every event."""
        key = (call_type, name, path)
        answer = self._answers.get(key)
        if answer is None:
            if len(self._answers) >= ANSWERS_KEPT:
                self._answers.clear()
            answer = self._answers[key] = self._classify(call_type, name, path)
        return answer

    def classify_track(self, name: str) -> tuple[str, str | None]:
        """`classify("track", name, None)`, remembered by name alone (the commonest call)."""
        answer = self._tracks.get(name)
        if answer is None:
            if len(self._tracks) >= ANSWERS_KEPT:
                self._tracks.clear()
            answer = self._tracks[name] = self._classify("track", name, None)
        return answer

    def _classify(
        self, call_type: str, name: str | None, path: str | None
    ) -> tuple[str, str | None]:
        found: Mapping | None = None
        if call_type == "track":
            found = self.names.get(name.lower()) if name else None
        elif call_type in ("page", "screen"):
            found = self.for_path(path) if path else None
            if found is None and name:
                found = self.names.get(name.lower())
        if found is None:
            return call_type, None
        return found[0] or call_type, found[1]


def _load_folder(folder: Path, label: str | None) -> list[Loaded[CatalogueEntry]]:
    files = yaml_files(folder)
    shown = {p: f"{label}/{p.name}" if label else str(p) for p in files}
    return load_all(files, CatalogueEntry, shown=shown)


@cache
def shipped_catalogue() -> EventCatalogue:
    """The catalogue shipped with Accord (cached)."""
    return EventCatalogue(e.spec for e in _load_folder(SHIPPED, "accord/definitions/events"))


def load_catalogue(workspace_definitions: Path | None = None) -> EventCatalogue:
    """The shipped catalogue overridden by `workspace_definitions/events/*.yaml`.

    Raises one DefinitionError listing every problem in the workspace files.
    """
    shipped = shipped_catalogue()
    if workspace_definitions is None or not yaml_files(workspace_definitions / "events"):
        return shipped
    own = _load_folder(workspace_definitions / "events", None)
    return shipped.extended(loaded.spec for loaded in own)


__all__ = [
    "KIND_NAMES",
    "TEAM_NAMES",
    "CatalogueEntry",
    "EventCatalogue",
    "load_catalogue",
    "shipped_catalogue",
]
