"""Steps the incremental engine leaves out when an event cannot change anything: the same
signals and the same state as taking every step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from accord.signals import SignalEngine
from accord.signals.signal import to_us
from tests.unit.signals.helpers import event, spec

ALLOWED = ["vp", "c_level", "director"]
PEOPLE = {f"c{i}": (sen, "sales") for i, sen in enumerate([*ALLOWED, "manager", None, "vp"])}

_step = st.tuples(
    st.sampled_from([None, *PEOPLE]),  # contact
    st.integers(0, 30),  # minutes since the previous event
)


def _persona(cooldown_minutes: int) -> Any:
    return spec(
        {"id": "persona", "description": "x", "strength": 0.5,
         "cooldown": f"{cooldown_minutes}m" if cooldown_minutes else "0s",
         "when": {"kind": "first_seen", "event": {"kind": "track"},
                  "key": "contact.seniority", "values": ALLOWED}}
    )  # fmt: skip


def _reference(
    rows: list[dict[str, Any]], cooldown_us: int
) -> tuple[list[str], set[str], int | None]:
    """Every step taken: fired message ids, seen keys and cooldown end."""
    seen: set[str] = set()
    cool: int | None = None
    fired = []
    for row in rows:
        contact = row["contact_id"]
        key = PEOPLE[contact][0] if contact else None
        t = to_us(row["occurred_at"])
        if key is not None and key in ALLOWED and key not in seen:
            seen.add(key)
            if cool is None or t >= cool:
                fired.append(row["message_id"])
                cool = t + cooldown_us if cooldown_us else cool
    return fired, seen, cool


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(_step, max_size=40), cooldown=st.sampled_from([0, 5, 60]))
def test_engine_first_seen_skips_events_once_every_value_is_seen(
    steps: list[tuple[str | None, int]], cooldown: int
) -> None:
    at, rows = timedelta(0), []
    for n, (contact, gap) in enumerate(steps):
        at += timedelta(minutes=gap)
        rows.append(event(n + 1, at=at, contact=contact))
    engine = SignalEngine(None, [_persona(cooldown)], contact_dims=PEOPLE)
    fired = [s.dedupe_key.rsplit(":", 1)[1] for s in engine.process_many(rows)]
    want, seen, cool = _reference(rows, cooldown * 60_000_000)
    assert fired == want
    state = engine.states.get((0, "acc_1"))
    if rows:
        assert state is not None
        assert (state.seen, state.cool) == (seen, cool)
    replayed = SignalEngine(None, [_persona(cooldown)], contact_dims=PEOPLE)
    assert replayed.replay(rows) == len(want)
    assert replayed.dirty_rows() == engine.dirty_rows()
