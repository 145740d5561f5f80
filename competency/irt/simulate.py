"""Simulated responses and item banks, for recovery studies, tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from competency.irt.items import item_set


def simulate_responses(
    params, theta: ArrayLike, model: str | Sequence[str] | None = None, seed: int | np.random.Generator = 0
) -> np.ndarray:
    """Responses (n_persons, n_items) as float categories 0..K−1 drawn from the model."""
    rng = np.random.default_rng(seed)
    items = item_set(params, model)
    theta = np.atleast_1d(np.asarray(theta, dtype=float))
    out = np.empty((theta.size, items.n_items))
    # Chunks keep the (chunk, n, K) probability array small for large simulations.
    for start in range(0, theta.size, 5000):
        th = theta[start : start + 5000]
        cum = np.cumsum(items.category_probs(th), axis=2)
        u = rng.random((th.size, items.n_items, 1))
        out[start : start + th.size] = np.sum(u > cum[:, :, :-1], axis=2)
    return out


def random_bank(
    n_items: int, model: str, n_categories: int = 4, seed: int | np.random.Generator = 0
) -> dict[str, np.ndarray]:
    """A plausible bank in the IRT form: a ~ U(0.7, 2.0), b ~ N(0, 1), c ~ U(0.1, 0.25)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.7, 2.0, n_items)
    if model in ("rasch",):
        a = np.ones(n_items)
    if model == "1pl":
        a = np.full(n_items, 1.2)
    params: dict[str, np.ndarray] = {"a": a}
    if model in ("grm", "gpcm"):
        steps = np.sort(rng.normal(0.0, 1.0, (n_items, n_categories - 1)), axis=1)
        # Spread the steps so that every category is used by a sizeable share of people.
        centre = steps.mean(axis=1, keepdims=True)
        params["thresholds"] = (
            centre + np.linspace(-1.2, 1.2, n_categories - 1)[None, :] + 0.2 * (steps - centre)
        )
    else:
        params["b"] = np.clip(rng.normal(0.0, 1.0, n_items), -2.5, 2.5)
    if model == "3pl":
        params["c"] = rng.uniform(0.1, 0.25, n_items)
    return params
