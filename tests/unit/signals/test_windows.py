"""The stored form of a window state: what evidence can still name keeps its message id."""

from __future__ import annotations

import orjson

from accord.signals.windows import AccountState, Entry, state_json


def _entries(n: int) -> list[Entry]:
    return [(i, f"m{i}", f"c{i % 2}", 1.0) for i in range(n)]


def test_only_the_latest_kept_entries_are_stored_whole() -> None:
    recent, older = _entries(10), _entries(3)
    text = state_json(recent, 10.0, older, 3.0, None, None, 7, keep=2, keys=False)
    doc = orjson.loads(text)
    assert doc["r"] == [[i, 1.0] for i in range(8)] + [[8, "m8", "c0", 1.0], [9, "m9", "c1", 1.0]]
    assert doc["o"] == [[i, 1.0] for i in range(3)]
    st = AccountState.loads(text, counts=False)
    assert st.latest(2) == ["m8", "m9"]
    assert [e[0] for e in st.recent] == list(range(10))
    assert (st.rsum, st.osum, st.cool) == (10.0, 3.0, 7)
    # stored again after a load, it is the same text
    assert st.dumps(keep=2, keys=False) == text


def test_a_window_counting_contacts_keeps_them() -> None:
    text = state_json(_entries(10), 0.0, [], 0.0, None, None, None, keep=0)
    assert orjson.loads(text)["r"] == [[i, f"c{i % 2}", 1.0] for i in range(10)]
    st = AccountState.loads(text, counts=True)
    assert st.counts == {"c0": 5, "c1": 5}
    assert st.latest(3) == [None, None, None]


def test_without_a_stored_form_every_entry_is_whole() -> None:
    text = state_json(_entries(4), 4.0, [], 0.0, None, None, None)
    assert orjson.loads(text)["r"] == [list(e) for e in _entries(4)]
    assert AccountState.loads(text, counts=False).recent == _entries(4)
