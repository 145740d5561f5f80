"""JSON/GraphML round trips and the accessible SVG rendering."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import networkx as nx
import pytest

from competency import graph
from competency.graph import render

SVG = "{http://www.w3.org/2000/svg}"


def same(a: nx.DiGraph, b: nx.DiGraph) -> None:
    assert a.graph == b.graph
    assert list(a.nodes(data=True)) == list(b.nodes(data=True))
    assert sorted(a.edges(data=True)) == sorted(b.edges(data=True))


@pytest.mark.parametrize("which", ["teacher_map", "student_indicators"])
def test_json_round_trip(which):
    g = getattr(graph, which)()
    text = graph.to_json(g)
    assert "数字" in text  # UTF-8, not \\u escapes
    same(g, graph.from_json(text))


@pytest.mark.parametrize("which", ["teacher_map", "student_indicators"])
def test_graphml_round_trip(which):
    g = getattr(graph, which)()
    text = graph.to_graphml(g)
    ET.fromstring(text.encode("utf-8"))
    back = graph.from_graphml(text)
    same(g, back)
    assert back.nodes["T1.1.1" if which == "teacher_map" else "S6.3"]  # lists/None restored
    if which == "student_indicators":
        assert back.nodes["S6.3"]["weight"] is None and back.nodes["S1.2"]["core_literacies"] == [
            "信息意识",
            "信息社会责任",
        ]


def test_graphml_keeps_strings_that_look_like_markers():
    g = nx.DiGraph(id="x")
    g.add_node("a", kind="indicator", code="a", name_zh="甲", name_en="json:[1]", weight=0.5)
    same(g, graph.from_graphml(graph.to_graphml(g)))


def test_from_json_refuses_dangling_edges():
    doc = graph.to_json(graph.teacher_map()).replace('"to": "T1.1.1"', '"to": "T9.9.9"', 1)
    with pytest.raises(ValueError, match="T9.9.9"):
        graph.from_json(doc)


def test_svg_is_well_formed_and_accessible():
    g, t = graph.teacher_map(), graph.level_scale("teacher")
    levels = {"T1": "L2", "T3.1.2": "L5", "T5": "L6"}
    svg = graph.render_svg(g, levels, t, targets={"T1": "L4"}, title="教师 <测评> & 结果")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == "教师 <测评> & 结果" and "51" in desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    texts = [el.text for el in root.iter(f"{SVG}text")]
    # level conveyed by text, not only colour
    assert "L5 引领者" in texts and "L2 探索者 / 目标 L4" in texts and "未评定" in texts
    assert any(text.startswith("T3.1.2 ") for text in texts)
    groups = [el for el in root.iter(f"{SVG}g")]
    assert len(groups) == 51 and all(el.find(f"{SVG}title") is not None for el in groups)


def test_svg_in_english_for_student_system():
    svg = graph.render_svg(graph.student_indicators(), {"S4.2": "J3"}, graph.level_scale("job"), lang="en")
    root = ET.fromstring(svg)
    texts = [el.text for el in root.iter(f"{SVG}text")]
    assert "J3 Advanced" in texts and "not assessed" in texts
    with pytest.raises(ValueError):
        graph.render_svg(graph.student_indicators(), {"S4.2": "J3"})


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_level_colours_have_sufficient_contrast():
    for fill in (*render.PALETTE, render.UNRATED_FILL):
        assert contrast(render.TEXT_COLOUR, fill) >= 4.5, fill
    t = graph.level_scale("teacher")
    fills = [render.level_fill(t, c) for c in t.codes]
    assert len(set(fills)) == len(fills)  # each level has its own colour
