"""events.jsonl: valid Segment calls in time order, with the accounts' stories visible."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from accord.demo.segment_calls import CATALOGUE
from tests.unit.demo.conftest import SMALL, Written


@pytest.fixture(scope="module")
def calls(written: Written) -> list[dict[str, Any]]:
    with (written.out / "events.jsonl").open("rb") as f:
        return [orjson.loads(line) for line in f]


def _at(call: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(call["timestamp"].replace("Z", "+00:00"))


def test_events_are_segment_calls(calls: list[dict[str, Any]], written: Written) -> None:
    assert len(calls) == written.run.files["events.jsonl"] > 10_000
    for call in calls:
        assert call["type"] in ("track", "page", "identify", "group")
        assert "userId" in call or "anonymousId" in call
        assert call["timestamp"].endswith("Z")
        if call["type"] == "track":
            assert call["event"] in CATALOGUE
            assert call["context"]["groupId"].startswith("ws_")
    ids = [c["messageId"] for c in calls]
    assert len(ids) == len(set(ids))


def test_events_are_in_time_order_within_the_window(calls: list[dict[str, Any]]) -> None:
    times = [_at(c) for c in calls]
    assert times == sorted(times)
    start = datetime.combine(SMALL.start, datetime.min.time(), UTC)
    end = datetime.combine(SMALL.as_of, datetime.min.time(), UTC) + timedelta(days=1)
    assert start <= times[0]
    assert times[-1] < end


def test_events_identify_and_group_come_first(calls: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for call in calls:
        if call["type"] == "identify":
            seen.add(call["userId"])
            assert "@" in call["traits"]["email"]
        elif call["type"] == "group":
            seen.add(call["groupId"])
            assert call["traits"]["name"]
            assert call["traits"]["website"]
        else:
            assert call.get("userId", "anon") == "anon" or call["userId"] in seen
            group = call.get("context", {}).get("groupId")
            assert group is None or group in seen


def test_events_cover_every_kind(calls: list[dict[str, Any]]) -> None:
    kinds = Counter(CATALOGUE[c["event"]][0] for c in calls if c["type"] == "track")
    for kind in ("usage", "intent", "ad", "cs", "email", "meeting", "sales_activity"):
        assert kinds[kind] > 0, kind
    paths = {c["context"]["page"]["path"] for c in calls if c["type"] == "page"}
    assert {"/pricing", "/demo", "/compare/6sense"} <= paths


def _by_group(written: Written, pattern: str) -> set[str]:
    return {a.group_id for a in written.world.accounts if a.pattern == pattern}


def test_events_show_surging_accounts_on_pricing(
    calls: list[dict[str, Any]], written: Written
) -> None:
    surging = _by_group(written, "surging")
    recent = datetime.combine(SMALL.as_of, datetime.min.time(), UTC) - timedelta(weeks=6)
    before, after = Counter(), Counter()
    for c in calls:
        if c["type"] == "track" and c["event"] == "Review Site Activity":
            bucket = after if _at(c) >= recent else before
            bucket[c["context"]["groupId"] in surging] += 1
    # Surging accounts do most of their category research in the last six weeks.
    assert after[True] > before[True]
    assert after[True] > after[False]


def test_events_show_churning_customers_fading(
    calls: list[dict[str, Any]], written: Written
) -> None:
    churning = _by_group(written, "churning")
    halfway = datetime.combine(SMALL.start, datetime.min.time(), UTC) + timedelta(weeks=26)
    signed_in = [
        _at(c)
        for c in calls
        if c.get("event") == "Signed In" and c["context"]["groupId"] in churning
    ]
    early = sum(1 for at in signed_in if at < halfway)
    assert len(signed_in) - early < early
