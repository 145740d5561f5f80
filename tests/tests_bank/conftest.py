"""Fixtures for the item-bank tests: a small node/role code set (independent of competency.graph)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

NODES = frozenset({"T1.1.1", "T3.1.2", "T3.3.1", "T4.1.1", "S1.2", "S4.2", "S6.9"})
ROLES = frozenset({"J-SEC-01", "J-AI-01"})


def raw_single(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": "T-3.1.2-01",
        "type": "single",
        "node": "T3.1.2",
        "tags": ["S4.2"],
        "roles": [],
        "lang": "zh-CN",
        "level": "L3",
        "stem": "哪一项<b>最</b>合适？",
        "options": [{"key": "A", "text": "甲"}, {"key": "B", "text": "乙"}, {"key": "C", "text": "丙"}],
        "key": "B",
        "explanation": "因为乙。",
        "media": [],
        "irt": {
            "model": "3pl",
            "a": 1.2,
            "b": -0.4,
            "c": 0.2,
            "thresholds": None,
            "parameterisation": "logistic-D1-irt",
            "source": "provisional",
            "version": 1,
        },
    }
    item.update(copy.deepcopy(changes))
    return item


def raw_multiple(**changes: Any) -> dict[str, Any]:
    item = raw_single(
        id="S-4.2-01",
        type="multiple",
        node="S4.2",
        tags=[],
        roles=["J-SEC-01"],
        level="J2",
        options=[{"key": k, "text": f"option {k}"} for k in "ABCD"],
        key=["A", "C"],
        scoring="all_or_nothing",
        irt={
            "model": "2pl",
            "a": 1.0,
            "b": 0.5,
            "c": None,
            "thresholds": None,
            "parameterisation": "logistic-D1-irt",
            "source": "expert",
            "version": 2,
        },
    )
    item.update(copy.deepcopy(changes))
    return item


def raw_truefalse(**changes: Any) -> dict[str, Any]:
    item = raw_single(
        id="S-1.2-01",
        type="truefalse",
        node="S1.2",
        tags=[],
        level="J1",
        lang="en",
        stem="The first search result is always reliable.",
        key=False,
        irt={
            "model": "2pl",
            "a": 0.9,
            "b": -0.6,
            "c": None,
            "thresholds": None,
            "parameterisation": "logistic-D1-irt",
            "source": "calibration:run-7",
            "version": 3,
        },
    )
    del item["options"]
    item.update(copy.deepcopy(changes))
    return item


def raw_ordered(**changes: Any) -> dict[str, Any]:
    item = raw_single(
        id="T-3.3.1-01",
        type="ordered",
        node="T3.3.1",
        tags=[],
        level="L4",
        options=[{"key": k, "text": f"做法{k}"} for k in "ABCD"],
        scores={"A": 0, "B": 2, "C": 3, "D": 1},
        irt={
            "model": "grm",
            "a": 1.1,
            "b": None,
            "c": None,
            "thresholds": [-1.0, 0.1, 1.2],
            "parameterisation": "logistic-D1-irt",
            "source": "provisional",
            "version": 1,
        },
    )
    del item["key"]
    item.update(copy.deepcopy(changes))
    return item


def raw_sequence(**changes: Any) -> dict[str, Any]:
    """Put four steps in order; written order A B C D, correct order B D C A; adjacent-pair scoring."""
    item = raw_single(
        id="S-6.9-01",
        type="sequence",
        node="S6.9",
        tags=[],
        roles=["J-SEC-01"],
        level="J2",
        stem="请把处置步骤排成正确的顺序。",
        options=[{"key": k, "text": f"步骤{k}"} for k in "ABCD"],
        key=["B", "D", "C", "A"],
        scoring="partial",
        irt={
            "model": "grm",
            "a": 1.0,
            "b": None,
            "c": None,
            "thresholds": [-0.8, 0.2, 1.1],
            "parameterisation": "logistic-D1-irt",
            "source": "provisional",
            "version": 1,
        },
    )
    item.update(copy.deepcopy(changes))
    return item


DICHOTOMOUS_SEQUENCE = {
    "id": "S-6.9-02",
    "scoring": "all_or_nothing",
    "irt": {
        "model": "2pl",
        "a": 0.8,
        "b": 0.3,
        "c": None,
        "thresholds": None,
        "parameterisation": "logistic-D1-irt",
        "source": "expert",
        "version": 2,
    },
}


def raw_bank(*items: dict[str, Any]) -> dict[str, Any]:
    return {"format": "competency.items/1", "bank": "test-bank", "items": list(items)}


@pytest.fixture
def valid_raw_items() -> list[dict[str, Any]]:
    return [
        raw_single(),
        raw_multiple(),
        raw_truefalse(),
        raw_ordered(),
        raw_multiple(
            id="S-4.2-02",
            scoring="partial",
            irt={
                "model": "gpcm",
                "a": 0.8,
                "thresholds": [0.4, -0.2],
                "parameterisation": "logistic-D1-irt",
                "source": "provisional",
            },
        ),
        raw_sequence(),
        raw_sequence(**DICHOTOMOUS_SEQUENCE),
    ]
