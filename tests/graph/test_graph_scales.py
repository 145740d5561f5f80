"""Level scales: ordering, θ cut scores, next level, crosswalks."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competency import graph


def test_teacher_scale_matches_the_lead_codes():
    t = graph.level_scale("teacher")
    assert t.codes == ("L1", "L2", "L3", "L4", "L5", "L6")
    assert [lv.name_zh for lv in t] == ["新手", "探索者", "融合者", "专家", "引领者", "创新者"]
    assert [lv.name_en for lv in t] == ["Newcomer", "Explorer", "Integrator", "Expert", "Leader", "Pioneer"]
    assert t.cuts == (-1.5, -0.75, 0.0, 0.75, 1.5)
    assert [t.crosswalk(c, "digcompedu")[0] for c in t.codes] == ["A1", "A2", "B1", "B2", "C1", "C2"]
    assert [t.band(c) for c in t.codes] == ["初级", "初级", "中级", "中级", "高级", "高级"]
    assert [lv.provisional_b for lv in t] == [-2.0, -1.1, -0.4, 0.4, 1.1, 2.0]


def test_job_and_digcomp_scales():
    j = graph.level_scale("job")
    assert j.codes == ("J0", "J1", "J2", "J3")
    assert [lv.name_zh for lv in j] == ["未达到", "初级", "中级", "高级"]
    assert j.cuts == (-1.0, 0.0, 1.0)
    assert j.band("J0") is None and j.band("J2") == "中级"
    d = graph.level_scale("digcomp")
    assert d.codes == tuple(f"D{i}" for i in range(1, 9))
    assert set(j.crosswalk("J2", "digcomp")) <= set(d.codes)
    with pytest.raises(KeyError):
        graph.level_scale("nope")


def test_level_for_theta_boundaries_and_custom_cuts():
    t = graph.level_scale("teacher")
    assert t.level_for_theta(-3).code == "L1"
    assert t.level_for_theta(-1.5).code == "L2"  # a θ on a cut belongs to the upper level
    assert t.level_for_theta(-0.01).code == "L3"
    assert t.level_for_theta(0.0).code == "L4"
    assert t.level_for_theta(9).code == "L6"
    assert t.level_for_theta(0.0, cuts=[-2, -1, 0.5, 1, 2]).code == "L3"
    with pytest.raises(ValueError):
        t.level_for_theta(math.nan)
    with pytest.raises(ValueError):
        t.level_for_theta(0.0, cuts=[0, 1])
    with pytest.raises(ValueError):
        t.level_for_theta(0.0, cuts=[0, 0, 1, 2, 3])


def test_index_compare_next_previous():
    t = graph.level_scale("teacher")
    assert t.index("L3") == 2 and t["L3"].index == 2 and t[2].code == "L3"
    assert t.compare("L2", "L5") == -1 and t.compare("L5", "L2") == 1 and t.compare("L4", "L4") == 0
    assert t.next_level("L3").code == "L4" and t.next_level("L6") is None
    assert t.previous_level("L1") is None and t.previous_level("L2").code == "L1"
    assert "L6" in t and "L7" not in t and len(t) == 6
    assert t.lowest.code == "L1" and t.highest.code == "L6"
    with pytest.raises(KeyError):
        t.index("A1")


@given(st.floats(min_value=-6, max_value=6), st.floats(min_value=-6, max_value=6))
def test_level_for_theta_is_monotone(a, b):
    for name in ("teacher", "job", "digcomp"):
        s = graph.level_scale(name)
        lo, hi = sorted((a, b))
        assert s.level_for_theta(lo).index <= s.level_for_theta(hi).index


def test_scale_to_dict_is_json_ready():
    d = graph.level_scale("job").to_dict()
    assert d["levels"][1]["code"] == "J1" and d["crosswalks"]["band"]["J1"] == ["初级"]
