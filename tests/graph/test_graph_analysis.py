"""Roll-up, gap analysis and learning paths."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from competency import graph


def toy() -> nx.DiGraph:
    g = nx.DiGraph(version="t1")
    for code, kind, w in [
        ("A", "area", 0.6),
        ("B", "area", 0.4),
        ("A.1", "indicator", 0.75),
        ("A.2", "indicator", 0.25),
        ("B.1", "indicator", 1.0),
        ("B.2", "indicator", None),
    ]:
        g.add_node(code, kind=kind, code=code, name_zh="节点", name_en="node", weight=w)
    for parent, child in [("A", "A.1"), ("A", "A.2"), ("B", "B.1"), ("B", "B.2")]:
        g.add_edge(parent, child, relation="contains")
    g.add_edge("A.1", "A.2", relation="prerequisite", source="platform")
    g.add_edge("A.2", "B.1", relation="prerequisite", source="platform")
    return g


def test_rollup_weighted_means_on_a_toy_map():
    r = graph.rollup(toy(), {"A.1": 2.0, "A.2": 6.0, "B.1": 1.0, "B.2": 100.0})
    assert r.scores["A"] == pytest.approx(0.75 * 2 + 0.25 * 6)  # 3.0
    assert r.scores["B"] == pytest.approx(1.0)  # B.2 has weight null: not counted
    assert r.overall == pytest.approx(0.6 * 3.0 + 0.4 * 1.0)
    assert r.overall_coverage == pytest.approx(1.0)
    assert r.version == "t1"


def test_rollup_renormalises_over_measured_children():
    r = graph.rollup(toy(), {"A.2": 4.0})
    assert r.scores == {"A.2": 4.0, "A": 4.0}
    assert r.coverage["A"] == pytest.approx(0.25)
    assert r.overall == pytest.approx(4.0) and r.overall_coverage == pytest.approx(0.6 * 0.25)
    empty = graph.rollup(toy(), {})
    assert empty.overall is None and empty.scores == {}


def test_rollup_on_teacher_map_by_hand():
    g = graph.teacher_map()
    r = graph.rollup(g, {"T1.1.1": 1.0, "T1.1.2": 0.0, "T1.2.1": 0.5, "T1.2.2": 0.5, "T1.3.1": 1.0})
    assert r.scores["T1.1"] == pytest.approx(0.5)
    assert r.scores["T1"] == pytest.approx(0.40 * 0.5 + 0.35 * 0.5 + 0.25 * 1.0)  # 0.625
    assert r.overall == pytest.approx(0.625) and r.overall_coverage == pytest.approx(0.15)
    assert "T2" not in r.scores
    assert r.version == graph.data_version()


def test_rollup_of_level_codes():
    g, t = graph.teacher_map(), graph.level_scale("teacher")
    indicators = graph.nodes_of_kind(g, "indicator")
    levels = {c: ("L4" if c.startswith("T3") else "L2") for c in indicators}
    r = graph.rollup(g, levels, t)
    assert r.levels["T3"] == "L4" and r.levels["T1"] == "L2"
    assert r.overall == pytest.approx(0.35 * 3 + 0.65 * 1)  # index 1.7
    assert r.overall_level == "L3"  # rounds half up from index 1.7
    with pytest.raises(ValueError):
        graph.rollup(g, levels)  # level codes need a scale
    with pytest.raises(ValueError):
        graph.rollup(g, {"T1": 1.0})  # scores belong to indicators


def test_student_rollup_ignores_role_specific_indicators():
    s = graph.student_indicators()
    r = graph.rollup(s, {"S6.1": 1.0, "S6.2": 3.0, "S6.4": 0.0})
    assert r.scores["S6"] == pytest.approx(2.0)
    job = graph.job_profile("J-AI-01")
    jr = graph.job_rollup(job.requirements, {"S6.4": 0.0, "S1.3": 2.0}, job.version)
    assert jr.overall == pytest.approx(1.0) and jr.overall_coverage == pytest.approx(
        2 / len(job.requirements)
    )


def test_gap_analysis_sizes_and_order():
    t = graph.level_scale("teacher")
    targets = {"T1": "L3", "T2": "L4", "T3": "L4", "T4": "L2", "T5": "L5"}
    measured = {"T1": "L3", "T2": "L2", "T3": "L5", "T4": None}
    report = graph.gap_analysis(measured, targets, t, graph.teacher_map())
    assert [(g.code, g.size) for g in report] == [("T5", 4), ("T2", 2), ("T4", 1)]
    assert report[0].measured is None and report[0].name_zh == "专业发展"
    assert report.total == 7 and report.met == ("T1", "T3") and report.version == graph.data_version()


def test_job_gaps_cover_the_requirements():
    job = graph.job_profile("J-SEC-01")
    report = graph.job_gaps(job, {code: "J3" for code in job.requirements})
    assert len(report) == 0
    report = graph.job_gaps("J-SEC-01", {"S6.9": "J1"})
    assert report.codes[0] == "S4.1" and {g.code for g in report} == set(job.requirements)
    assert next(g for g in report if g.code == "S6.9").size == 2


def test_learning_path_on_teacher_map_respects_prerequisites():
    g = graph.teacher_map()
    goals = ["T3.3.3", "T3.3.1", "T3.3.2", "T5.2.1"]
    path = graph.learning_path(g, goals)
    assert path.stages == (("T3.3.1",), ("T3.3.2",), ("T3.3.3",), ("T5.2.1",))
    pulled = graph.learning_path(g, ["T5.2.1"], met={"T2.2.2"})
    assert pulled.order[-1] == "T5.2.1"
    assert {"T5.1.2", "T5.1.1", "T1.2.1", "T3.3.3", "T3.3.2", "T3.3.1"} <= set(pulled.order)
    assert "T2.2.2" not in pulled.order
    assert path.version == graph.data_version()


def test_path_from_gaps_is_deterministic():
    g, t = graph.teacher_map(), graph.level_scale("teacher")
    targets = graph.teacher_targets("practical", "backbone", indicators=True)
    gaps = graph.gap_analysis({}, {k: v for k, v in targets.items() if k.count(".") == 2}, t, g)
    a, b = graph.learning_path(g, gaps), graph.learning_path(g, list(reversed(gaps.gaps)))
    assert a == b and len(a.order) == 33
    assert a.stages[0][:3] == ("T1.1.1", "T1.2.1", "T1.3.1")


@st.composite
def random_dag(draw):
    n = draw(st.integers(min_value=1, max_value=14))
    labels = draw(st.permutations([f"N{i}" for i in range(n)]))
    g = nx.DiGraph(version="rand")
    for code in labels:
        g.add_node(code, kind="indicator", code=code, name_zh="指标", name_en="indicator", weight=None)
    for i in range(n):
        for j in range(i + 1, n):
            if draw(st.booleans()) and draw(st.booleans()):
                g.add_edge(labels[i], labels[j], relation="prerequisite", source="platform")
    goals = draw(st.sets(st.sampled_from(labels), min_size=1))
    met = draw(st.none() | st.sets(st.sampled_from(labels)))
    return g, goals, met


@settings(max_examples=150, deadline=None)
@given(random_dag())
def test_path_property_on_random_dags(case):
    g, goals, met = case
    path = graph.learning_path(g, goals, met=met)
    order = path.order
    assert len(order) == len(set(order)) and set(goals) <= set(order)
    stage = {code: i for i, s in enumerate(path.stages) for code in s}
    for u, v in g.edges:
        if u in stage and v in stage:
            assert stage[u] < stage[v]
    for code in order:
        preds = set(g.predecessors(code))
        # every prerequisite is met, scheduled earlier, or (met=None) outside the goals
        for p in preds:
            if met is None:
                assert p not in stage or stage[p] < stage[code]
            else:
                assert p in met or (p in stage and stage[p] < stage[code])
        if stage[code] > 0:  # earliest possible stage: some prerequisite sits in the stage before
            assert any(stage.get(p) == stage[code] - 1 for p in preds)
    for s in path.stages:
        assert list(s) == sorted(s, key=graph.code_key)
