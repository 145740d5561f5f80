"""The delivery payload copies only what may be shown: no key, scores, explanation or parameters."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from competency.tests_bank import IrtModel, IrtParams, ItemType, Scoring, delivery_payload

from .conftest import raw_multiple, raw_ordered, raw_single, raw_truefalse
from .helpers import items_from
from .strategies import SECRET, item_lists

PAYLOAD_KEYS = {"item_id", "position", "type", "stem", "options", "dimension"}
FORBIDDEN_KEYS = {
    "key",
    "keys",
    "correct",
    "scores",
    "scoring",
    "explanation",
    "irt",
    "a",
    "b",
    "c",
    "thresholds",
    "model",
    "level",
    "status",
    "tags",
    "roles",
    "version",
    "source",
}


def all_keys(value, inside_option=False):
    if isinstance(value, dict):
        for k, v in value.items():
            if not (inside_option and k == "key"):
                yield k
            yield from all_keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from all_keys(v, inside_option=isinstance(v, dict))


def secrets_changed(item, n):
    """The same item with different answer key, category scores, explanation and parameters."""
    keys = item.option_keys
    changes = {
        "explanation": f"other explanation {n}",
        "irt": IrtParams(IrtModel.GRM, a=0.123 + n, thresholds=(-0.5, 0.5), source="expert", version=9),
    }
    if item.type is ItemType.SINGLE:
        changes["key"] = keys[(keys.index(item.key) + 1) % len(keys)]
    elif item.type is ItemType.MULTIPLE:
        changes["key"] = tuple(k for k in keys if k not in item.key) or keys[:1]
    elif item.type is ItemType.TRUEFALSE:
        changes["key"] = not item.key
    elif item.type is ItemType.SEQUENCE:
        changes["key"] = item.key[1:] + item.key[:1]
        changes["scoring"] = (
            Scoring.PARTIAL if item.scoring is Scoring.ALL_OR_NOTHING else Scoring.ALL_OR_NOTHING
        )
    else:
        scores = [s for _, s in item.scores]
        changes["scores"] = tuple(zip(keys, scores[1:] + scores[:1], strict=True))
    return dataclasses.replace(item, **changes)


@settings(max_examples=150, deadline=None)
@given(items=item_lists(max_size=3), position=st.integers(0, 500))
def test_payload_never_reveals_secrets(items, position):
    for n, item in enumerate(items):
        payload = delivery_payload(item, position, item.node)
        text = json.dumps(payload, ensure_ascii=False)
        assert set(payload) == PAYLOAD_KEYS
        assert not set(all_keys(payload)) & FORBIDDEN_KEYS
        assert all(set(option) == {"key", "text"} for option in payload["options"])
        assert SECRET not in text  # explanations carry the marker; stems and options never do
        if item.explanation:
            assert item.explanation not in text
        # the payload depends on nothing secret: change every secret, get the same JSON text
        assert (
            json.dumps(delivery_payload(secrets_changed(item, n), position, item.node), ensure_ascii=False)
            == text
        )


def test_payload_shapes():
    single, truefalse_en, ordered = items_from([raw_single(), raw_truefalse(), raw_ordered()])
    payload = delivery_payload(single, 3, "T3")
    assert payload == {
        "item_id": "T-3.1.2-01",
        "position": 3,
        "type": "single",
        "stem": "哪一项<b>最</b>合适？",
        "options": [{"key": "A", "text": "甲"}, {"key": "B", "text": "乙"}, {"key": "C", "text": "丙"}],
        "dimension": "T3",
    }
    assert delivery_payload(truefalse_en, 1, "S1")["options"] == [
        {"key": "true", "text": "True"},
        {"key": "false", "text": "False"},
    ]
    (truefalse_zh,) = items_from([raw_truefalse(lang="zh-CN")])
    assert [o["text"] for o in delivery_payload(truefalse_zh, 1, "S1")["options"]] == ["正确", "错误"]
    assert [o["key"] for o in delivery_payload(ordered, 2, "T3")["options"]] == ["A", "B", "C", "D"]


def test_media_only_on_request():
    (item,) = items_from([raw_multiple(media=[{"src": "img/a.png", "alt": "图"}])])
    assert "media" not in delivery_payload(item, 0, "S4")
    assert delivery_payload(item, 0, "S4", include_media=True)["media"] == [{"src": "img/a.png", "alt": "图"}]


def test_payload_text_is_sanitised_even_if_the_record_was_not():
    (item,) = items_from([raw_single()])
    forged = dataclasses.replace(item, stem="<img src=x onerror=alert(1)>hi<script>x()</script>")
    assert delivery_payload(forged, 0, "T3")["stem"] == "hi"


@pytest.mark.parametrize("position", [-1, True, "1", 1.0])
def test_bad_position(position):
    (item,) = items_from([raw_single()])
    with pytest.raises(ValueError, match="position"):
        delivery_payload(item, position, "T3")
