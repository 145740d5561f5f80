"""Broken data files are refused with every problem listed (file, node, field); nothing half-loads."""

from __future__ import annotations

import copy

import pytest

from competency import graph
from competency.graph import MapValidationError, Problem


def node(doc: dict, code: str) -> dict:
    return next(n for n in doc["nodes"] if n["code"] == code)


def refused(directory) -> list[Problem]:
    with pytest.raises(MapValidationError) as info:
        graph.load(directory)
    assert info.value.problems == graph.validate(directory)
    return info.value.problems


def has(problems: list[Problem], file: str, node: str | None, field: str | None, words: str) -> bool:
    return any(
        p.file == file and p.node == node and p.field == field and words in p.message for p in problems
    )


def test_copy_of_packaged_data_is_valid(data_copy):
    assert graph.validate(data_copy) == []
    loaded = graph.load(data_copy)
    assert loaded.version == graph.data_version()
    assert sorted(loaded.teacher_map().nodes) == sorted(graph.teacher_map().nodes)


def test_prerequisite_cycle_is_refused(data_copy, edit):
    edit(
        "teacher_map.json",
        lambda d: d["prerequisites"].append(
            {
                "from": "T3.3.3",
                "to": "T3.3.1",
                "source": "platform",
                "reason_zh": "循环",
                "reason_en": "cycle",
            }
        ),
    )
    problems = refused(data_copy)
    cycle = [p for p in problems if "cycle" in p.message]
    assert len(cycle) == 1 and cycle[0].file == "teacher_map.json" and cycle[0].field == "prerequisites"
    assert all(code in cycle[0].message for code in ("T3.3.1", "T3.3.2", "T3.3.3"))


def test_dangling_references_are_refused(data_copy, edit):
    edit("teacher_map.json", lambda d: node(d, "T1.1.1").update(parent="T1.9"))
    edit(
        "student_indicators.json",
        lambda d: d["prerequisites"].append(
            {"from": "S9.1", "to": "S1.1", "source": "platform", "reason_zh": "无", "reason_en": "none"}
        ),
    )
    edit("job_profiles.json", lambda d: d["roles"][0]["requirements"].update({"S9.9": "J2"}))
    problems = refused(data_copy)
    assert has(problems, "teacher_map.json", "T1.1.1", "parent", "unknown node 'T1.9'")
    assert has(problems, "student_indicators.json", "S9.1 -> S1.1", "from", "unknown node 'S9.1'")
    assert has(problems, "job_profiles.json", "J-IIOT-01", "requirements.S9.9", "unknown student indicator")


def test_dangling_crosswalk_codes_are_refused(data_copy, edit):
    edit("teacher_map.json", lambda d: node(d, "T3.3.1").update(digcompedu=["4.9"]))
    edit("student_indicators.json", lambda d: node(d, "S1.1").update(dlgf=["1.7"]))
    problems = refused(data_copy)
    assert has(problems, "teacher_map.json", "T3.3.1", "digcompedu", "unknown digcompedu code '4.9'")
    assert has(problems, "teacher_map.json", "digcompedu 4.1", "digcompedu", "not linked")
    assert has(problems, "student_indicators.json", "S1.1", "dlgf", "unknown dlgf code '1.7'")
    assert has(problems, "student_indicators.json", "dlgf 1.1", "dlgf", "not linked")


def test_duplicate_code_is_refused(data_copy, edit):
    edit("teacher_map.json", lambda d: d["nodes"].append(copy.deepcopy(node(d, "T2.2.1"))))
    edit("job_profiles.json", lambda d: d["roles"].append(copy.deepcopy(d["roles"][3])))
    problems = refused(data_copy)
    assert has(problems, "teacher_map.json", "T2.2.1", "code", "duplicate code")
    assert has(problems, "job_profiles.json", "J-AI-02", "code", "duplicate role code")


def test_weights_that_do_not_sum_are_refused(data_copy, edit):
    edit("teacher_map.json", lambda d: node(d, "T3.2.1").update(weight=0.5))
    edit("student_indicators.json", lambda d: node(d, "S0").update(weight=0.2))
    problems = refused(data_copy)
    assert has(problems, "teacher_map.json", "T3.2", "weight", "sum to 1.16")
    assert has(problems, "student_indicators.json", "(top level)", "weight", "sum to 1.1")


def test_missing_translations_are_refused(data_copy, edit):
    edit("teacher_map.json", lambda d: node(d, "T2.2.1").pop("name_en"))
    edit("teacher_map.json", lambda d: node(d, "T4.2.2")["descriptors"]["L6"].update(en=""))
    edit("student_indicators.json", lambda d: node(d, "S3.3").update(name_zh="Copyright"))
    edit("job_profiles.json", lambda d: d["roles"][5]["typical_tasks"][0].update(en="安装配置集群"))
    problems = refused(data_copy)
    assert has(problems, "teacher_map.json", "T2.2.1", "name_en", "missing translation")
    assert has(problems, "teacher_map.json", "T4.2.2", "descriptors.L6.en", "missing translation")
    assert has(problems, "student_indicators.json", "S3.3", "name_zh", "Chinese text expected")
    assert has(problems, "job_profiles.json", "J-BD-02", "typical_tasks.0.en", "English text expected")


def test_every_problem_is_listed_at_once(data_copy, edit):
    def break_teacher(d):
        d["nodes"].append(copy.deepcopy(node(d, "T1.1.1")))
        node(d, "T5.2.2").update(parent="T5.7")
        node(d, "T1").update(weight=0.3)
        node(d, "T3.1.1").pop("description_en")
        d["prerequisites"].append(
            {
                "from": "T5.2.2",
                "to": "T5.1.1",
                "source": "platform",
                "reason_zh": "循环",
                "reason_en": "cycle",
            }
        )
        d["prerequisites"].append(
            {"from": "T1", "to": "T1.1.1", "source": "expert", "reason_zh": "维度", "reason_en": "dimension"}
        )

    edit("teacher_map.json", break_teacher)
    edit("level_scales.json", lambda d: d["scales"][0].update(cuts=[0.0, -1.0, 0.5, 1.0, 1.5]))
    edit("teacher_targets.json", lambda d: d["categories"][0]["dimension_targets"]["novice"].update(T1="L9"))
    problems = refused(data_copy)
    expected = [
        ("teacher_map.json", "T1.1.1", "code", "duplicate code"),
        ("teacher_map.json", "T5.2.2", "parent", "unknown node 'T5.7'"),
        ("teacher_map.json", "(top level)", "weight", "sum to 1.15"),
        ("teacher_map.json", "T5.2", "weight", "sum to 0.5"),
        ("teacher_map.json", "T3.1.1", "description_en", "missing translation"),
        ("teacher_map.json", "T5.1.1", "prerequisites", "cycle"),
        ("teacher_map.json", "T1 -> T1.1.1", "from", "indicators only"),
        ("teacher_map.json", "T1 -> T1.1.1", "source", 'source="platform"'),
        ("level_scales.json", "teacher", "cuts", "strictly increasing"),
        ("teacher_targets.json", "public", "dimension_targets.novice.T1", "unknown level 'L9'"),
    ]
    for case in expected:
        assert has(problems, *case), (case, [str(p) for p in problems])
    assert len(problems) == len(expected)
    message = str(MapValidationError(problems))
    assert "teacher_map.json: T5.2.2: parent:" in message


def test_unreadable_files_are_reported(data_copy):
    (data_copy / "job_profiles.json").write_text("{not json", encoding="utf-8")
    (data_copy / "teacher_targets.json").unlink()
    problems = refused(data_copy)
    assert has(problems, "job_profiles.json", None, None, "invalid JSON")
    assert has(problems, "teacher_targets.json", None, None, "file not found")


def test_version_mismatch_is_refused(data_copy, edit):
    edit("student_indicators.json", lambda d: d.update(version="0.9.0"))
    problems = refused(data_copy)
    assert problems == [
        Problem(
            "student_indicators.json",
            None,
            "version",
            "version '0.9.0' differs from the manifest version '1.0.0'",
        )
    ]


def test_role_specific_weight_rule_is_enforced(data_copy, edit):
    edit("student_indicators.json", lambda d: node(d, "S6.5").update(weight=0.1))
    edit("student_indicators.json", lambda d: node(d, "S2.2").update(weight=None))
    problems = refused(data_copy)
    assert has(problems, "student_indicators.json", "S6.5", "weight", "must have weight null")
    assert has(problems, "student_indicators.json", "S2.2", "weight", "missing weight")


def test_refusal_leaves_the_packaged_data_untouched(data_copy, edit):
    before = graph.teacher_map()
    edit("teacher_map.json", lambda d: node(d, "T1").update(name_zh="坏"))  # still valid Chinese
    edit("teacher_map.json", lambda d: node(d, "T1").update(weight=2))
    refused(data_copy)
    after = graph.teacher_map()
    assert after.nodes["T1"]["name_zh"] == before.nodes["T1"]["name_zh"] == "数字化意识"


def test_wrong_json_types_are_reported_not_crashing(data_copy, edit):
    edit("job_profiles.json", lambda d: d["roles"].append("J-XX-01"))
    edit("teacher_targets.json", lambda d: d.update(stages=[1, 2]))
    problems = refused(data_copy)
    assert {p.file for p in problems} == {"job_profiles.json", "teacher_targets.json"}
    assert all("malformed document" in p.message for p in problems)
