"""Engine arrays from item parameters, and versioning on change."""

from __future__ import annotations

import dataclasses
import math

import pytest

from competency.tests_bank import engine_params, next_version, with_params

from .conftest import raw_multiple, raw_ordered, raw_single, raw_truefalse
from .helpers import items_from


def test_engine_params_layout():
    single, multiple, truefalse, ordered = items_from(
        [raw_single(), raw_multiple(), raw_truefalse(), raw_ordered()]
    )
    (gpcm,) = items_from(
        [
            raw_multiple(
                id="g",
                scoring="partial",
                irt={
                    "model": "gpcm",
                    "a": 0.7,
                    "thresholds": [0.3, -0.3],
                    "parameterisation": "logistic-D1-irt",
                    "source": "provisional",
                },
            )
        ]
    )
    p = engine_params([single, multiple, truefalse, ordered, gpcm])
    assert p["item_id"] == ["T-3.1.2-01", "S-4.2-01", "S-1.2-01", "T-3.3.1-01", "g"]
    assert p["model"] == ["3pl", "2pl", "2pl", "grm", "gpcm"]
    assert p["a"] == [1.2, 1.0, 0.9, 1.1, 0.7]
    assert p["b"][:3] == [-0.4, 0.5, -0.6] and all(math.isnan(b) for b in p["b"][3:])
    assert p["c"] == [0.2, 0.0, 0.0, 0.0, 0.0]
    assert all(len(row) == 3 for row in p["thresholds"])
    assert all(math.isnan(t) for row in p["thresholds"][:3] for t in row)
    assert p["thresholds"][3] == [-1.0, 0.1, 1.2]
    assert p["thresholds"][4][:2] == [0.3, -0.3] and math.isnan(p["thresholds"][4][2])


def test_engine_params_feed_the_cat_bank_and_the_scoring_item_set_alike():
    """The one conversion serves both consumers: the CAT bank (from arrays) holds the same numbers as a
    bank built item by item, and the scoring ItemSet the same as one built from the bare parameters."""
    from competency.irt.cat import Bank
    from competency.irt.items import item_set

    items = items_from([raw_single(), raw_multiple(), raw_truefalse(), raw_ordered()])
    p = engine_params(items)
    by_item = Bank.from_items(
        [
            {
                "id": it.id,
                **{k: v for k, v in it.irt.to_dict().items() if k in ("model", "a", "b", "c", "thresholds")},
            }
            for it in items
        ]
    )
    from_arrays = Bank.from_arrays({**p, "ids": p["item_id"]})
    assert from_arrays.fingerprint == by_item.fingerprint
    scored = item_set(p)
    assert scored.a.tolist() == p["a"] and scored.n_categories.tolist() == [2, 2, 2, 4]


def test_engine_params_refuse_drafts_without_parameters():
    (draft,) = items_from([raw_single(status="draft", irt=None)])
    with pytest.raises(ValueError, match="T-3.1.2-01"):
        engine_params([draft])


def test_new_version_only_on_change():
    (item,) = items_from([raw_single()])
    current = item.irt
    assert next_version(current, dataclasses.replace(current, version=7)) is current
    changed = next_version(current, dataclasses.replace(current, b=-0.3, source="calibration:r1"))
    assert (changed.version, changed.b, changed.source) == (2, -0.3, "calibration:r1")
    assert next_version(changed, dataclasses.replace(changed, c=0.1)).version == 3
    assert current.version == 1 and current.b == -0.4  # the old version is untouched


def test_with_params():
    (item,) = items_from([raw_single()])
    assert with_params(item, item.irt) is item
    updated = with_params(item, dataclasses.replace(item.irt, a=2.0))
    assert updated.irt.version == 2 and updated.irt.a == 2.0 and item.irt.a == 1.2
    (draft,) = items_from([raw_single(status="draft", irt=None)])
    assert with_params(draft, item.irt).irt == item.irt
