"""Blocking and fuzzy scoring: bounded candidate lists, slips, edits, common words."""

from __future__ import annotations

from accord.graph.candidates import (
    KEY_NEIGHBOURS,
    MAX_CANDIDATES,
    NameIndex,
    is_slip,
    name_edits,
    typo_kind,
)
from accord.graph.names import normalize_name


def test_is_slip_accepts_swaps_and_doubled_letters_only() -> None:
    assert is_slip("walmrat", "walmart")
    assert is_slip("walmmart", "walmart")
    assert is_slip("walmart", "wallmart")
    assert not is_slip("oakbridge", "oakridge")
    assert not is_slip("wolmart", "walmart")
    assert not is_slip("walmart", "walmart2x")


def test_typo_kind_names_keyboard_slips_and_refuses_other_edits() -> None:
    assert typo_kind("walmrat", "walmart") == ("swap", 4)
    assert typo_kind("walmmart", "walmart") == ("double", 4)
    assert typo_kind("walmarr", "walmart") == ("neighbour", 6)  # r sits next to t
    assert typo_kind("walmaert", "walmart") == ("fat_finger", 5)
    assert typo_kind("cumins", "cummins") == ("dropped_double", 3)
    assert typo_kind("walmrt", "walmart") == ("drop", 4)
    assert typo_kind("wolmart", "walmart") is None  # o is nowhere near a
    assert typo_kind("oakbridge", "oakridge") is None  # b is nowhere near k or r
    assert typo_kind("salmart", "walmart") is None  # the first letter is rarely mistyped
    assert typo_kind("walmart", "walmart") is None


def test_key_neighbours_are_symmetric_qwerty_neighbours() -> None:
    assert KEY_NEIGHBOURS["a"] == frozenset("qwsz")
    assert KEY_NEIGHBOURS["g"] == frozenset("tyfhvb")
    assert all(a in KEY_NEIGHBOURS[b] for a, near in KEY_NEIGHBOURS.items() for b in near)


def test_name_edits_ignores_word_order_and_counts_a_swap_once() -> None:
    assert name_edits(normalize_name("Group Quitzon"), normalize_name("Quitzon Group")) == 0
    assert name_edits(normalize_name("Walmrat"), normalize_name("Walmart")) == 1
    assert name_edits(normalize_name("Oakbrige"), normalize_name("Oakridge")) == 2


def test_name_index_bounds_the_candidate_list_and_finds_one_edit() -> None:
    index = NameIndex()
    for i in range(3 * MAX_CANDIDATES):
        index.add(f"a{i}", normalize_name(f"Acme{i:04d} Analytics"))
    index.add("oak", normalize_name("Oakridge Analytics"))
    assert len(index.candidates(normalize_name("Acme Analytics"))) <= MAX_CANDIDATES
    top = index.top(normalize_name("Oakrdge Analytics"))
    assert top[0].account_id == "oak"
    assert top[0].score >= 0.9


def test_name_index_counts_words_many_accounts_share_as_common() -> None:
    index = NameIndex()
    for i in range(50):
        index.add(f"a{i}", normalize_name(f"Brand{i} Widgets"))
    assert index.is_common("widgets")
    assert index.is_common("solutions")  # generic business word
    assert not index.is_common("brand1")
    assert index.distinctive_length(normalize_name("Oakridge Widgets")) == len("oakridge")
    index.remove("a0")
    assert "a0" not in index.candidates(normalize_name("Brand0 Widgets"))


def test_name_index_sees_a_slip_in_a_common_word_only() -> None:
    index = NameIndex()
    for i in range(50):
        index.add(f"a{i}", normalize_name(f"Brand{i} Widgets"))
    account = normalize_name("Oakridge Widgets")
    assert index.distinctive_words_agree(normalize_name("Oakridge Widgts"), account)
    assert not index.distinctive_words_agree(normalize_name("Oakbridge Widgets"), account)
    assert not index.distinctive_words_agree(normalize_name("Widgets"), normalize_name("Widgets"))
