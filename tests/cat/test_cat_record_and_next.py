"""Engine.record_and_next (the web layer's step) makes the same decisions as record + next_item."""

from __future__ import annotations

import numpy as np
import pytest

from competency.irt.cat import Bank, CatState, Engine, EngineConfig


def _bank(n: int, dims: int, seed: int) -> Bank:
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        item = {
            "id": f"I{i:03d}",
            "model": "2pl",
            "a": float(rng.uniform(0.8, 2.0)),
            "b": float(rng.normal()),
            "content": f"C{i % 4}",
            "dimension": f"D{i % dims}" if dims > 1 else 0,
        }
        if i % 7 == 0:
            item.update(model="grm", b=None, thresholds=sorted(float(t) for t in rng.normal(size=2)))
        items.append(item)
    return Bank.from_items(items)


@pytest.mark.parametrize(
    ("dims", "config"),
    [
        (1, {"selector": "mfi", "estimator": "eap", "se_target": 0.3, "min_items": 5, "max_items": 25}),
        (1, {"selector": "kl", "estimator": "map", "randomesque": 3, "max_items": 15}),
        (
            3,
            {
                "mcat": True,
                "selector": "dopt",
                "estimator": "eap",
                "prior_correlation": 0.6,
                "se_target": 0.5,
                "min_items": 6,
                "max_items": 18,
            },
        ),
    ],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_step_equals_record_then_next(dims, config, seed):
    engine = Engine(_bank(90, dims, seed), EngineConfig(**config))
    rng = np.random.default_rng(seed + 100)
    slow = engine.start(seed=seed)
    fast = CatState.from_dict(slow.to_dict())
    item = engine.next_item(slow)
    assert engine.next_item(fast) == item
    while item is not None:
        score = int(rng.integers(0, int(engine.bank.n_cats[engine.bank.index[item]])))
        slow = engine.record(slow, item, score)
        slow_next = engine.next_item(slow)
        fast, fast_next = engine.record_and_next(fast, item, score)
        assert fast_next == slow_next
        assert fast.stop_reason == slow.stop_reason
        np.testing.assert_allclose(fast.theta, slow.theta, atol=1e-6)
        np.testing.assert_allclose(fast.se, slow.se, atol=1e-6)
        item = fast_next
    assert fast.administered == slow.administered
