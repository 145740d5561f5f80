"""The maturity model data: codes, descriptors, crosswalks, variants and the graph."""

from __future__ import annotations

import copy
import subprocess
import sys

import networkx as nx
import pytest

from competency.maturity import GROUPS, ModelError, build, load_data, maturity_model


@pytest.fixture
def data():
    return copy.deepcopy(load_data())


def test_shipped_model_validates_and_covers_the_required_areas():
    model = maturity_model()
    assert [lv["name_zh"] for lv in model.levels] == ["规划级", "规范级", "集成级", "优化级", "引领级"]
    names = {a["name_zh"] for a in model.areas}
    # The notice's three focus areas, and what DigCompOrg / the 数字校园规范 add.
    assert {"数字资源平台建设", "数据治理与应用", "数字化素养提升"} <= names
    assert {"领导与治理", "教学与评价", "实训与虚实一体化", "产教融合", "基础设施"} <= names
    assert len(model.indicators) >= 24
    assert all(len(i.descriptors_zh) == 5 and len(i.descriptors_en) == 5 for i in model.indicators.values())


def test_crosswalks_resolve_and_cover_every_source_element():
    model = maturity_model()
    assert set(model.crosswalk("notice")) == {"NF1", "NF2", "NF3"}
    assert set(model.crosswalk("digcomporg")) == {"LG", "TL", "PD", "AP", "CC", "CN", "IN"}
    assert {"ch2", "ch3", "ch4", "teaching", "management"} <= set(model.crosswalk("szxy2020"))
    for ind in model.indicators.values():
        for src in ind.sources:
            assert model.source_label(src)


def test_graph_is_a_tree_with_links():
    model = maturity_model()
    g = model.graph
    tree = nx.DiGraph([(u, v) for u, v, d in g.edges(data=True) if d["relation"] == "contains"])
    assert nx.is_arborescence(tree)
    leaves = [n for n in tree if tree.out_degree(n) == 0]
    assert sorted(leaves) == sorted(model.indicators)
    links = [(u, v) for u, v, d in g.edges(data=True) if d["relation"] == "supports"]
    assert ("PT.1.1", "PT.1.2") in links
    assert g.graph["version"] == model.version


def test_variants_and_scenarios_remove_what_does_not_apply():
    model = maturity_model()
    every = {i.code for i in model.applicable("higher_vocational")}
    assert every == set(model.indicators)
    enterprise = {i.code for i in model.applicable("enterprise")}
    assert "DL.2.2" not in enterprise and "DL.1.2" in enterprise
    assert [g["code"] for g in model.groups_for("enterprise")] == ["leader", "teacher", "mentor"]
    assert model.groups_for("enterprise")[1]["name_zh"] == "员工与内训师"
    no_virtual = {i.code for i in model.applicable("higher_vocational", scenarios=["shared_centre"])}
    assert "PT.1.1" not in no_virtual and "IC.2.1" in no_virtual and "TL.3.1" not in no_virtual
    assert "TL.3.1" not in {i.code for i in model.applicable("secondary_vocational")}


def test_contract_shape():
    out = maturity_model().contract()
    assert len(out["levels"]) == 5 and set(out["levels"][0]) >= {"code", "name_zh", "name_en"}
    assert all(set(a) >= {"code", "name_zh", "name_en"} for a in out["areas"])
    for ind in out["indicators"]:
        assert set(ind) >= {"code", "area", "name_zh", "name_en", "descriptors"}
        assert len(ind["descriptors"]) == 5
        assert ind["area"] in {a["code"] for a in out["areas"]}


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (lambda d: d["areas"][0]["sub_areas"][0]["indicators"][1].update(code="LG.1.1"), "duplicate code"),
        (lambda d: d["areas"][0]["sub_areas"][0]["indicators"][0]["descriptors_zh"].pop(), "five non-empty"),
        (
            lambda d: d["areas"][0]["sub_areas"][0]["indicators"][0]["descriptors_en"].__setitem__(2, " "),
            "five non-empty",
        ),
        (
            lambda d: d["areas"][0]["sub_areas"][0]["indicators"][0]["sources"].append(
                {"framework": "digcomporg", "ref": "XX"}
            ),
            "does not resolve",
        ),
        (lambda d: d["areas"][0]["sub_areas"][0]["indicators"][0]["links"].append("NOPE"), "link NOPE"),
        (lambda d: d["levels"].pop(), "five levels"),
        (
            lambda d: d["areas"][1]["sub_areas"][0]["indicators"][0]["objective"].update(bands=[5, 3, 8, 9]),
            "ascending",
        ),
        (lambda d: d["institution_types"]["enterprise"]["not_applicable"].append("ZZ.9"), "ZZ.9"),
        (
            lambda d: d["areas"][0]["sub_areas"][0]["indicators"][0].update(scenario="moon"),
            "unknown scenario",
        ),
    ],
)
def test_broken_data_is_refused_with_the_place_named(data, break_it, expected):
    break_it(data)
    with pytest.raises(ModelError) as info:
        build(data)
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_a_crosswalk_element_nobody_uses_is_reported(data):
    for area in data["areas"]:
        for sub in area["sub_areas"]:
            for ind in sub["indicators"]:
                ind["sources"] = [
                    s for s in ind["sources"] if s != {"framework": "notice", "ref": "NF2"}
                ] or [{"framework": "digcomporg", "ref": "LG"}]
    with pytest.raises(ModelError, match="no indicator draws on NF2"):
        build(data)


def test_link_cycle_is_refused(data):
    inds = data["areas"][3]["sub_areas"][0]["indicators"]
    inds[1]["links"] = ["PT.1.1"]
    with pytest.raises(ModelError, match="cycle"):
        build(data)


def test_groups_are_the_four_selfie_wbl_groups():
    assert GROUPS == ("leader", "teacher", "student", "mentor")


def test_package_stays_pure():
    code = (
        "import sys, competency.maturity as m; m.maturity_model(); "
        "bad = [x for x in sys.modules if x.split('.')[0] in {'flask', 'sqlalchemy'} "
        "or x.startswith(('competency.models', 'competency.services', 'competency.web'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
