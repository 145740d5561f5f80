"""competency.bilingual.localized: the one way a bilingual field is picked (pages use labels.bi)."""

from __future__ import annotations

from types import SimpleNamespace

from competency.bilingual import localized


def test_picks_the_language_on_objects_and_mappings():
    obj = SimpleNamespace(code="T1", name_zh="数字化意识", name_en="Digital awareness")
    row = {"code": "T1", "title_zh": "标题", "title_en": "Title"}
    assert localized(obj, "name", english=True) == "Digital awareness"
    assert localized(obj, "name", english=False) == "数字化意识"
    assert localized(row, "title", True) == "Title" and localized(row, "title", False) == "标题"


def test_a_missing_language_falls_back_to_the_other_then_the_code():
    assert localized({"code": "J-BD-01", "name_zh": "大数据分析员", "name_en": ""}, "name", True) == "大数据分析员"
    assert localized(SimpleNamespace(code="S1", name_zh=None), "name", True) == "S1"
    assert localized({}, "name", False) == ""
