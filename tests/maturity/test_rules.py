"""The combination rules: anonymity, skipped answers, objective bands, experts, weights, reports."""

from __future__ import annotations

import pytest

from competency.maturity import rules


def _resp(group, **answers):
    return {"group": group, "answers": {k.replace("_", "."): v for k, v in answers.items()}}


def test_level_of_is_cumulative_and_clamped():
    assert [rules.level_of(s) for s in (1.0, 2.99, 3.0, 4.999, 5.0)] == [1, 2, 3, 4, 5]
    assert rules.level_of(None) is None
    assert rules.percent(1.0) == 0 and rules.percent(5.0) == 100 and rules.percent(3.0) == 50


def test_groups_below_five_are_neither_shown_nor_used():
    responses = [_resp("teacher", A_1=4) for _ in range(5)] + [_resp("leader", A_1=1) for _ in range(4)]
    result = rules.questionnaire_scores(responses)
    assert result.group_sizes == {"teacher": 5, "leader": 4}
    assert result.shown_groups == ["teacher"]
    assert "leader" not in result.by_group
    # The four leaders' 1s would pull the score down if they were used: they are not.
    assert result.pooled["A.1"]["score"] == 4.0
    responses.append(_resp("leader", A_1=1))
    assert rules.questionnaire_scores(responses).pooled["A.1"]["score"] == 2.5


def test_na_and_declined_count_for_nothing_but_are_counted():
    responses = [_resp("student", A_1=5) for _ in range(3)] + [
        _resp("student", A_1="na"),
        _resp("student", A_1="decline"),
    ]
    pooled = rules.questionnaire_scores(responses).pooled["A.1"]
    assert pooled == {"score": 5.0, "n": 3, "groups": 1, "na": 1, "declined": 1}


def test_every_answer_skipped_leaves_no_score():
    responses = [_resp("student", A_1="na") for _ in range(6)]
    assert rules.questionnaire_scores(responses).pooled["A.1"]["score"] is None


def test_each_group_has_one_voice():
    responses = [_resp("student", A_1=5) for _ in range(50)] + [_resp("teacher", A_1=1) for _ in range(5)]
    assert rules.questionnaire_scores(responses).pooled["A.1"]["score"] == 3.0


@pytest.mark.parametrize("bad", [0, 6, 2.5, "3", True, None])
def test_bad_answers_are_refused(bad):
    with pytest.raises(ValueError, match="expected 1–5"):
        rules.questionnaire_scores([_resp("teacher", A_1=bad)])


RATIO = {"kind": "ratio", "unit": "%", "min": 0, "max": 100, "bands": [20, 40, 60, 80]}
COUNT = {"kind": "count", "unit": "个", "min": 0, "max": 500, "bands": [2, 5, 10, 20]}
YESNO = {"kind": "boolean", "unit": "", "yes_level": 3}


def test_objective_values_are_parsed_with_units_and_ranges():
    assert rules.parse_objective(RATIO, " 55% ") == 55.0
    assert rules.parse_objective(YESNO, "是") == 1.0 and rules.parse_objective(YESNO, "no") == 0.0
    for spec, raw, message in [
        (RATIO, "120", "between 0 and 100 %"),
        (RATIO, "-1", "between"),
        (RATIO, "abc", "expected a number in %"),
        (RATIO, "nan", "between"),
        (COUNT, "3.5", "whole number"),
        (YESNO, "maybe", "yes or no"),
    ]:
        with pytest.raises(ValueError, match=message):
            rules.parse_objective(spec, raw)


def test_objective_bands():
    assert [rules.banded_level(RATIO, v) for v in (0, 19.9, 20, 59, 60, 80, 100)] == [1, 1, 2, 3, 4, 5, 5]
    assert rules.banded_level(YESNO, 1.0) == 3 and rules.banded_level(YESNO, 0.0) == 1


def test_expert_disagreement_beyond_one_level_is_flagged_until_consensus():
    close = rules.expert_summary({"a": 3, "b": 4})
    assert close["flagged"] is False and close["score"] == 3.5
    apart = rules.expert_summary({"a": 2, "b": 4})
    assert apart["flagged"] and apart["unresolved"] and apart["spread"] == 2
    agreed = rules.expert_summary({"a": 2, "b": 4}, consensus=3)
    assert agreed["flagged"] and not agreed["unresolved"] and agreed["score"] == 3.0
    assert rules.expert_summary({}) is None
    with pytest.raises(ValueError):
        rules.expert_summary({"a": 7})


def test_combine_renormalises_over_present_evidence():
    w = {"questionnaire": 0.3, "objective": 0.3, "expert": 0.4}
    assert rules.combine({"questionnaire": 4.0, "objective": 2.0, "expert": 3.0}, w) == pytest.approx(3.0)
    assert rules.combine({"questionnaire": 4.0, "objective": None, "expert": 2.0}, w) == pytest.approx(
        (0.3 * 4 + 0.4 * 2) / 0.7, abs=1e-3
    )
    assert rules.combine({"questionnaire": None, "objective": None, "expert": None}, w) is None
    assert rules.combine({"questionnaire": 5.0, "expert": 1.0}, {"questionnaire": 0, "expert": 1}) == 1.0


def test_roll_up_to_areas_and_overall():
    out = rules.roll_up(
        {"A.1": 2.0, "A.2": 4.0, "B.1": 5.0, "B.2": None},
        {"A.1": "A", "A.2": "A", "B.1": "B", "B.2": "B"},
        {"A.1": 1, "A.2": 3, "B.1": 1, "B.2": 1},
        {"A": 1, "B": 1},
    )
    assert out["areas"]["A"]["score"] == 3.5 and out["areas"]["A"]["level"] == 3
    assert out["areas"]["B"] == {"score": 5.0, "level": 5, "percent": 100.0, "unscored": ["B.2"]}
    assert out["overall"]["score"] == 4.25 and out["overall"]["level"] == 4


def test_group_differences_flag_wide_gaps():
    by_group = {"leader": {"A.1": {"mean": 4.5, "n": 5}}, "student": {"A.1": {"mean": 3.0, "n": 30}}}
    diff = rules.group_differences(by_group, {"A.1": "A"})
    assert diff["A"] == {"groups": {"leader": 4.5, "student": 3.0}, "gap": 1.5, "notable": True}


def test_strengths_gaps_and_recommendations_one_level_up():
    scores = {"A": 4.6, "B": 1.5, "C": 3.2, "D": 5.0, "E": 2.4}
    strengths, gaps = rules.strengths_and_gaps(scores, k=2)
    assert strengths == ["D", "A"] and gaps == ["B", "E"]
    recs = rules.recommendations(scores, limit=3)
    assert [(r["indicator"], r["level"], r["target"]) for r in recs] == [
        ("B", 1, 2),
        ("E", 2, 3),
        ("C", 3, 4),
    ]
    assert all(r["indicator"] != "D" for r in rules.recommendations(scores))


def test_peer_comparison_needs_five_peers():
    own = {"A": 3.0}
    assert rules.peer_comparison(own, [{"A": 2.0}] * 4) is None
    out = rules.peer_comparison(own, [{"A": v} for v in (1.0, 2.0, 3.0, 4.0, 5.0)])
    assert out["A"] == {"median": 3.0, "q1": 2.0, "q3": 4.0, "below_share": 40, "peers": 5}


def test_change_between_rounds():
    out = rules.change({"A": 2.5, "B": 3.0}, {"A": 3.1, "C": 2.0})
    assert (
        out["A"]["delta"] == pytest.approx(0.6)
        and out["A"]["level_before"] == 2
        and out["A"]["level_after"] == 3
    )
    assert out["B"]["after"] is None and out["C"]["before"] is None and out["C"]["delta"] is None
