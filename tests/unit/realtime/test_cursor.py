"""Cursor positions compared: which one has processed every id the other has."""

from __future__ import annotations

from accord.realtime.cursor import Cursor, state_name


def test_a_later_position_covers_an_earlier_one() -> None:
    early = Cursor("c", 10, [(4, 5, 99)])
    assert early.covers(early)
    assert Cursor("c", 12).covers(early)  # the gap filled, more ids past it
    assert Cursor("c", 12, [(4, 4, 99)]).covers(early)  # part of the gap filled
    assert Cursor("c", 12, [(11, 12, 99)]).covers(early)  # a new gap past the old high id
    assert not early.covers(Cursor("c", 12))
    assert not Cursor("c", 10).covers(Cursor("c", 11))


def test_a_gap_over_ids_the_other_processed_is_not_covered() -> None:
    other = Cursor("c", 10, [(4, 5, 99)])
    assert not Cursor("c", 12, [(3, 5, 99)]).covers(other)  # 3 was processed by other
    assert not Cursor("c", 12, [(4, 6, 99)]).covers(other)
    assert not Cursor("c", 12, [(8, 8, 99)]).covers(other)
    assert Cursor("c", 12, [(4, 4, 99), (5, 5, 99)]).covers(other)
    assert Cursor("c", 12).covers(Cursor("c", 13, [(11, 13, 99)]))  # 11-13 unseen there


def test_the_state_cursor_has_a_name_of_its_own() -> None:
    assert state_name("signals") == "signals.state"


def test_new_ids_move_the_high_id_and_their_holes_become_gaps() -> None:
    cursor = Cursor("c", 10, [(4, 5, 99)])
    assert not cursor.has_holes([11, 12, 13])
    assert cursor.has_holes([11, 14, 15, 18])
    cursor.add_new([11, 14, 15, 18], horizon=120)
    assert (cursor.high_id, cursor.gaps) == (18, [(4, 5, 99), (12, 13, 120), (16, 17, 120)])
    cursor.add_new([19, 20], horizon=130)  # no holes: no gap
    assert (cursor.high_id, cursor.gaps) == (20, [(4, 5, 99), (12, 13, 120), (16, 17, 120)])
    cursor.add_new([25], horizon=None)  # no horizon (SQLite): holes are not kept
    cursor.add_new([], horizon=140)
    assert (cursor.high_id, len(cursor.gaps)) == (25, 3)
