"""Scoring rules and answer validation."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competency.tests_bank import AnswerError, max_category, score_answer, validate_answer

from .conftest import raw_multiple, raw_ordered, raw_single, raw_truefalse
from .helpers import items_from

PARTIAL_IRT = {
    "model": "grm",
    "a": 1.0,
    "thresholds": [-0.5, 0.5],
    "parameterisation": "logistic-D1-irt",
    "source": "provisional",
}


@pytest.fixture
def items():
    single, multiple, truefalse, ordered = items_from(
        [raw_single(), raw_multiple(), raw_truefalse(), raw_ordered()]
    )
    (partial,) = items_from([raw_multiple(id="p", scoring="partial", irt=PARTIAL_IRT)])
    return {
        "single": single,
        "multiple": multiple,
        "truefalse": truefalse,
        "ordered": ordered,
        "partial": partial,
    }


def test_single(items):
    item = items["single"]  # key B
    assert [score_answer(item, k) for k in "ABC"] == [0, 1, 0]
    assert max_category(item) == 1


def test_truefalse_accepts_bool_and_delivered_keys(items):
    item = items["truefalse"]  # key False
    assert score_answer(item, False) == 1 and score_answer(item, True) == 0
    assert score_answer(item, "false") == 1 and score_answer(item, "true") == 0


def test_multiple_all_or_nothing(items):
    item = items["multiple"]  # key A, C of A-D
    assert score_answer(item, ["C", "A"]) == 1
    assert score_answer(item, ["A"]) == 0
    assert score_answer(item, ["A", "B", "C"]) == 0
    assert max_category(item) == 1


def test_multiple_partial_is_right_minus_wrong_floored(items):
    item = items["partial"]  # key A, C of A-D
    expected = {
        ("A", "C"): 2,
        ("A",): 1,
        ("C",): 1,
        ("A", "B"): 0,
        ("A", "B", "C"): 1,
        ("B", "D"): 0,
        ("A", "B", "C", "D"): 0,
        ("B",): 0,
    }
    for answer, category in expected.items():
        assert score_answer(item, list(answer)) == category, answer
    assert max_category(item) == 2


@given(st.sets(st.sampled_from("ABCD"), min_size=1))
def test_partial_scores_stay_in_range(chosen):
    (item,) = items_from([raw_multiple(id="p", scoring="partial", irt=PARTIAL_IRT)])
    assert 0 <= score_answer(item, sorted(chosen)) <= max_category(item)


def test_ordered_by_key_or_position(items):
    item = items["ordered"]  # A0 B2 C3 D1
    assert [score_answer(item, k) for k in "ABCD"] == [0, 2, 3, 1]
    assert [score_answer(item, i) for i in range(4)] == [0, 2, 3, 1]
    assert max_category(item) == 3


@pytest.mark.parametrize(
    ("kind", "answer", "fragment"),
    [
        ("single", "Z", "unknown option key"),
        ("single", 1, "one option key"),
        ("single", ["B"], "one option key"),
        ("single", None, "one option key"),
        ("multiple", [], "at least one"),
        ("multiple", "A", "list of option keys"),
        ("multiple", ["A", "A"], "chosen twice"),
        ("multiple", ["A", "Q"], "unknown option key"),
        ("multiple", [1], "list of option keys"),
        ("truefalse", "yes", "true or false"),
        ("truefalse", 1, "true or false"),
        ("ordered", 4, "0..3"),
        ("ordered", -1, "0..3"),
        ("ordered", True, "one option key"),
        ("ordered", "E", "unknown option key"),
    ],
)
def test_invalid_answers_name_the_field(items, kind, answer, fragment):
    with pytest.raises(AnswerError, match=fragment) as caught:
        validate_answer(items[kind], answer)
    assert caught.value.field == "answer" and isinstance(caught.value, ValueError)
    with pytest.raises(AnswerError):
        score_answer(items[kind], answer)


def test_every_category_is_reachable(items):
    for item in items.values():
        keys = list(item.option_keys)
        answers = (
            [list(c) for r in range(1, len(keys) + 1) for c in itertools.combinations(keys, r)]
            if item.type == "multiple"
            else [True, False]
            if item.type == "truefalse"
            else keys
        )
        assert {score_answer(item, a) for a in answers} == set(range(max_category(item) + 1)), item.id
