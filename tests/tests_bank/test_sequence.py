"""Sequence items (put the options in order): validation, answers, scoring, delivery, parameters."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from competency.tests_bank import (
    AnswerError,
    BankImportError,
    ItemType,
    Scoring,
    delivery_payload,
    engine_params,
    max_category,
    score_answer,
    validate_answer,
)
from competency.tests_bank.scoring import adjacent_pairs

from .conftest import DICHOTOMOUS_SEQUENCE, raw_sequence
from .helpers import items_from
from .strategies import item_lists, sequence_key

KEY = ("B", "D", "C", "A")


def problems_of(raw: dict) -> list[tuple[str, str]]:
    with pytest.raises(BankImportError) as caught:
        items_from([raw])
    return [(p.field, p.message) for p in caught.value.problems]


def grm(*thresholds: float) -> dict:
    return {
        "model": "grm",
        "a": 1.0,
        "thresholds": list(thresholds),
        "parameterisation": "logistic-D1-irt",
        "source": "provisional",
    }


def sequence_item(n: int, key: list[str], scoring: str = "partial"):
    keys = "ABCDEF"[:n]
    irt = grm(*range(n - 1)) if scoring == "partial" else DICHOTOMOUS_SEQUENCE["irt"]
    (item,) = items_from(
        [
            raw_sequence(
                options=[{"key": k, "text": f"step {k}"} for k in keys], key=key, scoring=scoring, irt=irt
            )
        ]
    )
    return item


def positional_pairs(order, key) -> int:
    """Adjacent-pair count written another way: positions in the key that go up by exactly one."""
    rank = {k: i for i, k in enumerate(key)}
    return sum(rank[y] - rank[x] == 1 for x, y in itertools.pairwise(order))


# -- validation -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"key": ["B", "D", "C", "E"]}, "key", "not among the options"),
        ({"key": ["B", "B", "C", "A"]}, "key", "listed twice in the order: 'B'"),
        ({"key": ["B", "D", "C"]}, "key", "must list every option; missing: A"),
        ({"key": "BDCA"}, "key", "must list every option key in the correct order"),
        ({"key": [1, 2, 3, 4]}, "key", "must list every option key in the correct order"),
        ({"key": []}, "key", "missing field"),
        ({"key": ["A", "B", "C", "D"]}, "key", "order the options are written in"),
        ({"scoring": "some"}, "scoring", "is not one of"),
        ({"scores": {"A": 0}}, "scores", "only ordered items"),
        ({"irt": DICHOTOMOUS_SEQUENCE["irt"]}, "irt.model", "needs model grm or gpcm"),
        ({"scoring": "all_or_nothing"}, "irt.model", "needs model 2pl or 3pl"),
        ({"irt": grm(-1.0, 1.0)}, "irt.thresholds", "K−1 = 3 thresholds for 4 categories"),
        ({"irt": grm(-1.0, 0.0, 1.0, 2.0)}, "irt.thresholds", "K−1 = 3"),
        ({"options": [{"key": "A", "text": "only"}], "key": ["A"]}, "options", "give 2 to 6 options"),
    ],
)
def test_bad_sequence_items_are_named_by_field(changes, field, fragment):
    found = problems_of(raw_sequence(**changes))
    assert any(f == field and fragment in m for f, m in found), found


def test_every_key_problem_is_listed_at_once():
    found = problems_of(raw_sequence(key=["B", "B", "E"]))
    messages = [m for f, m in found if f == "key"]
    assert len(messages) == 3, messages
    assert "'E'" in messages[0] and "'B'" in messages[1] and "missing: A, C, D" in messages[2]


def test_two_options_must_be_written_in_the_wrong_order():
    options = [{"key": "A", "text": "second"}, {"key": "B", "text": "first"}]
    (item,) = items_from([raw_sequence(options=options, key=["B", "A"], irt=grm(0.0))])
    assert item.key == ("B", "A") and max_category(item) == 1
    assert any(
        f == "key" for f, _ in problems_of(raw_sequence(options=options, key=["A", "B"], irt=grm(0.0)))
    )


def test_key_keeps_its_order_and_scoring_defaults_to_all_or_nothing():
    raw = raw_sequence(**DICHOTOMOUS_SEQUENCE)
    del raw["scoring"]
    (item,) = items_from([raw])
    assert item.type is ItemType.SEQUENCE and item.key == KEY and item.scoring is Scoring.ALL_OR_NOTHING
    assert item.to_dict()["key"] == list(KEY) and item.to_dict()["scoring"] == "all_or_nothing"


# -- answers ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ("BDCA", "list of every option key"),
        (None, "list of every option key"),
        ({"B", "D", "C", "A"}, "list of every option key"),
        ([0, 1, 2, 3], "list of every option key"),
        (["B", "D", "C"], "missing: A"),
        (["B", "D", "C", "A", "A"], "listed twice"),
        (["B", "B", "C", "A"], "listed twice"),
        (["B", "D", "C", "E"], "unknown option key(s): E"),
        ([], "missing: A, B, C, D"),
    ],
)
def test_invalid_answers(answer, fragment):
    (item,) = items_from([raw_sequence()])
    with pytest.raises(AnswerError) as caught:
        validate_answer(item, answer)
    assert caught.value.field == "answer" and fragment in caught.value.message
    with pytest.raises(AnswerError):
        score_answer(item, answer)


def test_valid_answer_is_the_order_as_a_tuple():
    (item,) = items_from([raw_sequence()])
    assert validate_answer(item, ["A", "C", "D", "B"]) == ("A", "C", "D", "B")
    assert validate_answer(item, ("B", "D", "C", "A")) == KEY


# -- scoring ----------------------------------------------------------------------------------
def test_partial_counts_correct_adjacent_pairs():
    (item,) = items_from([raw_sequence()])  # key B D C A
    expected = {
        "BDCA": 3,
        "CABD": 2,  # C-A, B-D
        "BDAC": 1,  # B-D
        "ABDC": 2,  # B-D, D-C
        "DCAB": 2,  # D-C, C-A
        "DCBA": 1,  # D-C
        "ABCD": 0,
        "ACDB": 0,
    }
    for answer, category in expected.items():
        assert score_answer(item, list(answer)) == category, answer
    assert max_category(item) == 3


def test_all_or_nothing_scores_only_the_key():
    (item,) = items_from([raw_sequence(**DICHOTOMOUS_SEQUENCE)])
    scores = {order: score_answer(item, list(order)) for order in itertools.permutations("ABCD")}
    assert [order for order, s in scores.items() if s == 1] == [KEY]
    assert set(scores.values()) == {0, 1} and max_category(item) == 1


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_every_category_is_reachable(n):
    keys = "ABCDEF"[:n]
    key = list(reversed(keys))
    item = sequence_item(n, key)
    reached = {score_answer(item, list(order)) for order in itertools.permutations(keys)}
    assert reached == set(range(n)) and max_category(item) == n - 1


def test_adjacent_pairs_examples():
    assert adjacent_pairs(("A", "B", "C"), ("A", "B", "C")) == 2
    assert adjacent_pairs(("C", "B", "A"), ("A", "B", "C")) == 0
    assert adjacent_pairs(("B", "C", "A"), ("A", "B", "C")) == 1
    assert adjacent_pairs(("C", "A", "B"), ("A", "B", "C")) == 1


@st.composite
def item_and_answer(draw):
    n = draw(st.integers(2, 6))
    keys = "ABCDEF"[:n]
    key = sequence_key(draw, keys)
    scoring = draw(st.sampled_from(["partial", "all_or_nothing"]))
    answer = list(draw(st.permutations(keys)))
    return sequence_item(n, key, scoring), answer


@settings(max_examples=150, deadline=None)
@given(item_and_answer())
def test_score_properties(case):
    item, answer = case
    score = score_answer(item, answer)
    assert 0 <= score <= max_category(item)
    assert (score == max_category(item)) == (tuple(answer) == item.key)
    assert score_answer(item, list(item.key)) == max_category(item)  # the identity order gets the max
    if item.scoring is Scoring.PARTIAL:
        assert score == positional_pairs(answer, item.key)
        assert max_category(item) == len(item.options) - 1 == len(item.irt.thresholds)
    else:
        assert max_category(item) == 1 and item.irt.model in ("2pl", "3pl")


# -- delivery ---------------------------------------------------------------------------------
def test_payload_keeps_the_written_order():
    (item,) = items_from([raw_sequence()])
    payload = delivery_payload(item, 0, "S6")
    assert payload["type"] == "sequence"
    assert payload["options"] == [{"key": k, "text": f"步骤{k}"} for k in "ABCD"]


@settings(max_examples=60, deadline=None)
@given(items=item_lists(max_size=3))
def test_payload_never_shows_the_key_order(items):
    for item in items:
        if item.type is not ItemType.SEQUENCE:
            continue
        options = delivery_payload(item, 1, item.node)["options"]
        assert [o["key"] for o in options] == list(item.option_keys)  # the written order, A, B, C…
        assert [o["key"] for o in options] != list(item.key)  # which validation keeps apart from the key
        assert [o["text"] for o in options] == [o.text for o in item.options]


# -- parameters -------------------------------------------------------------------------------
def test_engine_params_for_sequences():
    partial, dichotomous = items_from([raw_sequence(), raw_sequence(**DICHOTOMOUS_SEQUENCE)])
    p = engine_params([partial, dichotomous])
    assert p["model"] == ["grm", "2pl"] and p["a"] == [1.0, 0.8]
    assert math.isnan(p["b"][0]) and p["b"][1] == 0.3
    assert p["c"] == [0.0, 0.0]
    assert p["thresholds"][0] == [-0.8, 0.2, 1.1] and all(math.isnan(t) for t in p["thresholds"][1])
    assert [max_category(partial), max_category(dichotomous)] == [3, 1]


def test_max_category_matches_the_thresholds_of_every_item(valid_raw_items):
    for item in items_from(valid_raw_items):
        expected = len(item.irt.thresholds) if item.irt.thresholds is not None else 1
        assert max_category(item) == expected, item.id
