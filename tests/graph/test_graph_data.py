"""The packaged data: counts, attributes, weights, acyclicity, crosswalks, profiles."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

import networkx as nx
import pytest

from competency import graph

CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="module")
def teacher() -> nx.DiGraph:
    return graph.teacher_map()


@pytest.fixture(scope="module")
def student() -> nx.DiGraph:
    return graph.student_indicators()


def kinds(g: nx.DiGraph) -> Counter:
    return Counter(k for _, k in g.nodes(data="kind"))


def test_teacher_map_counts_follow_jyt0646(teacher):
    assert kinds(teacher) == {"dimension": 5, "subdimension": 13, "indicator": 33}
    assert graph.top_level(teacher) == ["T1", "T2", "T3", "T4", "T5"]
    assert [len(graph.children(teacher, d)) for d in graph.top_level(teacher)] == [3, 2, 4, 2, 2]
    per_sub = [len(graph.children(teacher, s)) for s in graph.nodes_of_kind(teacher, "subdimension")]
    assert per_sub == [2, 2, 1, 2, 2, 4, 3, 3, 3, 3, 3, 3, 2]
    assert teacher.nodes["T1"]["name_zh"] == "数字化意识"
    assert teacher.nodes["T5"]["name_zh"] == "专业发展"
    assert teacher.nodes["T3.1.2"]["name_zh"] == "获取、管理与制作数字教育资源"


def test_student_system_counts_and_codes(student):
    assert graph.top_level(student) == [f"S{i}" for i in range(7)]
    indicators = graph.nodes_of_kind(student, "indicator")
    assert len(indicators) >= 20
    assert len(indicators) == 31
    role_specific = [n for n in indicators if student.nodes[n]["role_specific"]]
    assert role_specific == [f"S6.{i}" for i in range(3, 13)]
    assert student.nodes["S5.3"]["name_zh"] == "计算思维"
    assert set(graph.children(student, "S6")) == {f"S6.{i}" for i in range(1, 13)}


@pytest.mark.parametrize("which", ["teacher_map", "student_indicators"])
def test_every_node_has_the_contract_attributes(which):
    g = getattr(graph, which)()
    for code, data in g.nodes(data=True):
        assert data["code"] == code
        assert data["kind"]
        assert CJK.search(data["name_zh"]), code
        assert data["name_en"] and not CJK.search(data["name_en"]), code
    for u, v, rel in g.edges(data="relation"):
        assert rel in {"contains", "prerequisite"}, (u, v)


@pytest.mark.parametrize("which", ["teacher_map", "student_indicators"])
def test_one_container_per_node_and_acyclic(which):
    g = getattr(graph, which)()
    contains = nx.DiGraph((u, v) for u, v, r in g.edges(data="relation") if r == "contains")
    tops = set(graph.top_level(g))
    for code in g:
        expected = 0 if code in tops else 1
        assert (contains.in_degree(code) if code in contains else 0) == expected, code
    assert nx.is_directed_acyclic_graph(g)
    pre = graph.prerequisite_graph(g)
    assert pre.number_of_edges() > 10
    for u, v in pre.edges:
        assert g.nodes[u]["kind"] == g.nodes[v]["kind"] == "indicator"
        assert g.edges[u, v]["source"] == "platform"


@pytest.mark.parametrize("which", ["teacher_map", "student_indicators"])
def test_weights_sum_to_one_under_each_parent(which):
    g = getattr(graph, which)()
    groups = [graph.top_level(g)] + [graph.children(g, n) for n in g if graph.children(g, n)]
    for group in groups:
        weights = [g.nodes[n]["weight"] for n in group if g.nodes[n]["weight"] is not None]
        assert sum(weights) == pytest.approx(1.0, abs=1e-9), group


def test_role_specific_indicators_carry_no_general_weight(student):
    assert student.nodes["S6.1"]["weight"] + student.nodes["S6.2"]["weight"] == pytest.approx(1)
    for i in range(3, 13):
        assert student.nodes[f"S6.{i}"]["weight"] is None
        assert student.nodes[f"S6.{i}"]["industry"]


def test_teacher_descriptors_complete_and_distinct(teacher):
    seen: set[str] = set()
    for code in graph.nodes_of_kind(teacher, "indicator"):
        desc = teacher.nodes[code]["descriptors"]
        assert list(desc) == ["L1", "L2", "L3", "L4", "L5", "L6"]
        for level in desc.values():
            assert CJK.search(level["zh"]) and len(level["zh"]) >= 12
            assert not CJK.search(level["en"]) and len(level["en"].split()) >= 8
            assert level["zh"] not in seen  # no templated filler repeated across cells
            seen.add(level["zh"])
    assert len(seen) == 33 * 6
    text = "".join(
        d["zh"]
        for c in graph.nodes_of_kind(teacher, "indicator")
        for d in teacher.nodes[c]["descriptors"].values()
    )
    for term in ("实训", "双师", "企业"):
        assert term in text


def test_teacher_map_records_unverified_names_and_crosswalk(teacher):
    assert teacher.graph["status"] == "names to be checked against the official text"
    competences = [c["code"] for c in graph.digcompedu() if c["kind"] == "competence"]
    assert len(competences) == 22
    linked = {
        ref for c in graph.nodes_of_kind(teacher, "indicator") for ref in teacher.nodes[c]["digcompedu"]
    }
    assert linked == set(competences)


def test_student_system_crosswalks_cover_dlgf_and_digcomp(student):
    indicators = graph.nodes_of_kind(student, "indicator")
    dlgf = {ref for n in indicators for ref in student.nodes[n]["dlgf"]}
    assert dlgf == {
        "0.1",
        "0.2",
        "1.1",
        "1.2",
        "1.3",
        "2.1",
        "2.2",
        "2.3",
        "2.4",
        "2.5",
        "2.6",
        "3.1",
        "3.2",
        "3.3",
        "3.4",
        "4.1",
        "4.2",
        "4.3",
        "4.4",
        "5.1",
        "5.2",
        "5.3",
        "5.4",
        "5.5",
        "6.1",
        "6.2",
    }
    digcomp = {ref for n in indicators for ref in student.nodes[n]["digcomp"]}
    assert len(digcomp) == 21


def test_student_core_literacy_tags(student):
    literacies = {"信息意识", "计算思维", "数字化学习与创新", "信息社会责任"}
    tags = {t for n in graph.nodes_of_kind(student, "indicator") for t in student.nodes[n]["core_literacies"]}
    assert tags == literacies


def test_job_profiles_cover_twenty_roles_in_ten_industries(student):
    jobs = graph.job_profiles()
    assert len(jobs) == 20
    per_industry = Counter(j.industry for j in jobs)
    assert len(per_industry) == 10 and set(per_industry.values()) == {2}
    job_scale = graph.level_scale("job")
    own = {i.code: i.indicator for i in graph.industries()}
    for job in jobs:
        assert re.fullmatch(r"J-[0-9A-Z]+-0[12]", job.code)
        assert CJK.search(job.name_zh) and not CJK.search(job.name_en)
        assert job.typical_tasks and all(CJK.search(t.zh) and t.en for t in job.typical_tasks)
        assert own[job.industry] in job.requirements
        for code, level in job.requirements.items():
            assert student.nodes[code]["kind"] == "indicator"
            assert level in {"J1", "J2", "J3"} and level in job_scale
        assert job.version == graph.data_version()
    assert graph.job_profile("J-AI-01").name_zh == "人工智能训练师"


def test_versions_travel(teacher, student):
    version = graph.data_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert teacher.graph["version"] == student.graph["version"] == version
    assert graph.level_scale("teacher").version == version


def test_callers_cannot_corrupt_the_cache():
    g = graph.teacher_map()
    g.nodes["T1"]["name_zh"] = "changed"
    g.nodes["T1.1.1"]["descriptors"]["L1"]["zh"] = "changed"
    g.remove_node("T2")
    fresh = graph.teacher_map()
    assert fresh.nodes["T1"]["name_zh"] == "数字化意识"
    assert fresh.nodes["T1.1.1"]["descriptors"]["L1"]["zh"] != "changed"
    assert "T2" in fresh
    job = graph.job_profiles()[0]
    with pytest.raises(TypeError):
        job.requirements["S0.1"] = "J3"  # type: ignore[index]
    graph.job_profiles().clear()
    assert len(graph.job_profiles()) == 20


def test_teacher_targets_by_category_and_stage():
    codes = [c.code for c in graph.teacher_categories()]
    assert codes[0] == "public" and "practical" in codes and "specialty-NEV" in codes
    assert [s.code for s in graph.career_stages()] == ["novice", "proficient", "backbone", "expert"]
    scale = graph.level_scale("teacher")
    for cat in codes:
        previous = None
        for stage in graph.career_stages():
            targets = graph.teacher_targets(cat, stage.code, indicators=True)
            assert len(targets) == 5 + 33
            if previous:  # targets never fall as a teacher advances
                assert all(scale.compare(targets[k], previous[k]) >= 0 for k in targets)
            previous = targets
    base = graph.teacher_targets("specialty", "novice")
    ai = graph.teacher_targets("specialty-AI", "novice")
    assert base["T2"] == "L2" and ai["T2.1.2"] == "L3" and "T2.1.2" not in base
    assert graph.teacher_targets("practical", "novice")["T3.1.4"] == "L3"
    with pytest.raises(KeyError):
        graph.teacher_targets("specialty-XX", "novice")
    with pytest.raises(KeyError):
        graph.teacher_targets("public", "junior")


def test_package_stays_pure():
    code = (
        "import sys, competency.graph as g; g.teacher_map(); "
        "bad = [m for m in sys.modules if m.split('.')[0] in {'flask', 'sqlalchemy', 'numpy'} "
        "or m.startswith(('competency.models', 'competency.services', 'competency.web'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
