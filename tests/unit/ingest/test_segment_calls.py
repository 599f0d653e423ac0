"""Validation of Segment calls and batches: the answers of the common shapes and the errors."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from accord.api.segment import PayloadTooLarge, _batch_calls
from accord.errors import InputError
from accord.ingest.event_catalogue import shipped_catalogue
from accord.ingest.segment_jsonl import MAX_MESSAGE_BYTES, parse_call

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CATALOGUE = shipped_catalogue()


def track(**fields: object) -> dict[str, object]:
    return {"type": "track", "userId": "u1", "event": "Report Created", **fields}


def batch(calls: list[dict[str, object]]) -> list[object]:
    msg = {"batch": calls}
    return list(_batch_calls(msg, len(orjson.dumps(msg)), NOW, CATALOGUE))


def test_track_event_name_is_kept_as_sent_and_cut_at_255() -> None:
    call = parse_call(track(event=" Report Created "), received_at=NOW, catalogue=CATALOGUE)
    assert call.name == " Report Created "
    call = parse_call(track(event="E" * 300), received_at=NOW, catalogue=CATALOGUE)
    assert call.name == "E" * 255
    for blank in ("", "   ", None, 5):
        with pytest.raises(InputError, match="event: a track call needs a non-empty"):
            parse_call(track(event=blank), received_at=NOW, catalogue=CATALOGUE)


def test_a_type_that_is_not_a_string_is_refused_by_name() -> None:
    with pytest.raises(InputError, match=r"batch\[0\]\.type: '\['track'\]'; use one of"):
        batch([{"type": ["track"], "userId": "u1", "event": "E"}])


def test_ids_are_checked_as_before() -> None:
    call = parse_call(track(userId=42, messageId="m-1"), received_at=NOW, catalogue=CATALOGUE)
    assert (call.user_id, call.message_id) == ("42", "m-1")
    generated = parse_call(track(messageId=""), received_at=NOW, catalogue=CATALOGUE)
    assert len(generated.message_id) == 36  # a uuid of our own
    with pytest.raises(InputError, match="messageId: must be at most 255"):
        parse_call(track(messageId="m" * 256), received_at=NOW, catalogue=CATALOGUE)
    with pytest.raises(InputError, match="userId: must be a string, not list"):
        parse_call(track(userId=["u"]), received_at=NOW, catalogue=CATALOGUE)


def test_stored_properties_keep_their_layout() -> None:
    call = parse_call(
        track(properties={"groupId": "mine", "rows": 3}, context={"groupId": "g1", "ip": "::1"}),
        received_at=NOW,
        catalogue=CATALOGUE,
    )
    assert call.group_id == "g1"
    assert call.properties == '{"groupId":"g1","rows":3,"context":{"ip":"::1"}}'
    alias = {"type": "alias", "userId": "u2", "previousId": "anon-1", "context": {"groupId": "g"}}
    call = parse_call(alias, received_at=NOW, catalogue=CATALOGUE)
    assert call.properties == '{"previousId":"anon-1","groupId":"g"}'
    plain = parse_call(track(properties={"rows": 3}), received_at=NOW, catalogue=CATALOGUE)
    assert plain.properties == '{"rows":3}'


def test_team_comes_from_properties_then_context_then_catalogue() -> None:
    call = parse_call(
        track(properties={"team": ""}, context={"team": "cs"}), received_at=NOW,
        catalogue=CATALOGUE,
    )  # fmt: skip
    assert call.team == "cs"
    call = parse_call(track(properties={"team": "sales", "kind": "usage"}), received_at=NOW,
                      catalogue=CATALOGUE)  # fmt: skip
    assert (call.team, call.event_kind) == ("sales", "usage")


def test_batch_error_names_the_first_bad_call() -> None:
    calls = [track(messageId=f"m{i}") for i in range(5)]
    calls[3] = track(timestamp="yesterday")
    calls[4] = track(event="")
    with pytest.raises(InputError, match=r"^batch\[3\]\.timestamp: ") as refused:
        batch(calls)
    assert refused.value.errors == ["batch[3].timestamp"]


def test_large_batch_names_a_bad_call_ahead_of_a_later_oversized_one() -> None:
    big = track(properties={"blob": "x" * (MAX_MESSAGE_BYTES + 10)})
    with pytest.raises(InputError, match=r"^batch\[1\]\.type") as refused:
        batch([track(), {"userId": "u1", "event": "E"}, big])
    assert not isinstance(refused.value, PayloadTooLarge)
    with pytest.raises(PayloadTooLarge, match=r"^batch\[1\]\.message: larger than 32 KiB"):
        batch([track(), big, {"userId": "u1", "event": "E"}])
    fine = batch([track(properties={"blob": "x" * 20_000}), track(properties={"b": "y" * 20_000})])
    assert len(fine) == 2
