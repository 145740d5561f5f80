"""The result page's rules: a level's place on the chart axis is its number; growth needs two attempts."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from competency import graph
from competency.services.result_page import axis_top, growth, level_position


def test_a_level_sits_at_its_number_on_every_scale():
    teacher, job = graph.level_scale("teacher"), graph.level_scale("job")
    assert [level_position(teacher, lv.code) for lv in teacher] == [1, 2, 3, 4, 5, 6]
    assert axis_top(teacher) == 6
    assert [level_position(job, lv.code) for lv in job] == [0, 1, 2, 3]  # J0 "not yet" at 0
    assert axis_top(job) == 3


def _attempt(finished, thetas: dict):
    return SimpleNamespace(
        finished_at=finished,
        result={"dimensions": [{"code": c, "theta": t} for c, t in thetas.items()]},
    )


def test_growth_is_theta_per_dimension_over_attempts():
    one = _attempt(datetime(2026, 3, 5), {"T1": -0.5, "T2": 0.1})
    assert growth([one], ["T1", "T2"]) is None  # one attempt shows no growth
    two = _attempt(None, {"T1": 0.4})  # T2 not measured in the second attempt
    found = growth([one, two], ["T1", "T2"])
    assert found.labels == ["03-05", "2"]
    assert found.points == [[-0.5, 0.4], [0.1, None]]
