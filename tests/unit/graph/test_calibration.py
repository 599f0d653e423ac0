"""Confidence calibration: isotonic fit per rule, lookups with fallbacks."""

from __future__ import annotations

from accord.graph.calibration import Calibration, fit_pav


def test_fit_pav_pools_each_score_before_pooling_violators() -> None:
    points = [(0.7, True)] * 8 + [(0.7, False)] * 2 + [(0.75, True)] * 9 + [(0.75, False)]
    points += [(0.8, True)] * 50
    steps = fit_pav(points, prior=0.0)
    assert steps == [[0.7, 0.8], [0.75, 0.9], [0.8, 1.0]]


def test_fit_pav_merges_a_score_that_is_right_less_often_than_a_lower_one() -> None:
    steps = fit_pav([(0.5, True), (0.6, False), (0.7, True)], prior=0.0)
    assert steps == [[0.5, 0.5], [0.7, 1.0]]


def test_calibration_falls_back_from_context_to_rule_to_raw() -> None:
    cal = Calibration({"r:personal": [[0.0, 0.6]], "r": [[0.0, 0.7]]})
    assert cal.confidence("r", "personal", 0.9) == 0.6
    assert cal.confidence("r", "corporate", 0.9) == 0.7
    assert cal.confidence("other", "none", 0.83) == 0.83
