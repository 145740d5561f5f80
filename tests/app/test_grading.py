"""Grading rules (pure): level by cut scores, overall grade rules, readiness."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competency import graph
from competency.services import grading

SCALE = graph.level_scale("teacher")
CUTS = [-1.5, -0.75, 0.0, 0.75, 1.5]


def _dims(thetas):
    return [
        {"code": f"T{i + 1}", "theta": t, "level": grading.level_of(SCALE, t, CUTS)}
        for i, t in enumerate(thetas)
    ]


def test_levels_by_cut_scores():
    assert [grading.level_of(SCALE, t, CUTS) for t in (-2, -1, -0.1, 0, 1, 2)] == [
        "L1",
        "L2",
        "L3",
        "L4",
        "L5",
        "L6",
    ]


def test_composite_is_capped_by_the_weakest_dimension():
    dims = _dims([2.0, 2.0, 2.0, 2.0, -2.0])  # mean 1.2 → L5, but one dimension is L1
    assert grading.overall_level(SCALE, dims, {"rule": "composite", "cap_above_min": 1}, CUTS) == "L2"
    assert grading.overall_level(SCALE, dims, {"rule": "composite", "cap_above_min": None}, CUTS) == "L5"


def test_minimum_and_majority():
    dims = _dims([1.0, 1.0, 1.0, 1.0, -1.0])
    assert grading.overall_level(SCALE, dims, {"rule": "minimum"}, CUTS) == "L2"
    assert grading.overall_level(SCALE, dims, {"rule": "majority", "share": 0.8}, CUTS) == "L5"


def test_weights():
    dims = _dims([1.6, -1.6, 0.0, 0.0, 0.0])
    heavy = {"rule": "composite", "weights": {"T1": 10}, "cap_above_min": None}
    assert grading.overall_level(SCALE, dims, heavy, CUTS) == "L5"


def test_unknown_rule():
    with pytest.raises(ValueError, match="unknown grade rule"):
        grading.overall_level(SCALE, _dims([0, 0, 0]), {"rule": "vibes"}, CUTS)


@given(st.lists(st.floats(min_value=-4, max_value=4), min_size=1, max_size=6))
def test_overall_never_exceeds_best_or_falls_below_worst_with_cap(thetas):
    dims = _dims(thetas)
    indices = [SCALE.index(d["level"]) for d in dims]
    for rule in ({"rule": "minimum"}, {"rule": "majority"}, {"rule": "composite", "cap_above_min": 1}):
        overall = SCALE.index(grading.overall_level(SCALE, dims, rule, CUTS))
        assert min(indices) <= overall <= max(indices)


def test_readiness():
    job = graph.level_scale("job")
    assert grading.readiness(job, "J2", "J2") is True
    assert grading.readiness(job, "J1", "J2") is False
    assert grading.readiness(job, None, "J2") is None
