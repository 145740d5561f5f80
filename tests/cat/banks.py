"""Small banks shared by the CAT tests."""

from __future__ import annotations

import numpy as np


def make_mixed_bank(n: int = 120, seed: int = 3, dims: int = 3) -> dict[str, object]:
    """2PL/3PL/GRM/GPCM mix with content codes and dimensions."""
    rng = np.random.default_rng(seed)
    models = rng.choice(["2pl", "3pl", "grm", "gpcm"], n)
    poly = np.isin(models, ["grm", "gpcm"])
    thr = np.full((n, 3), np.nan)
    for i in np.flatnonzero(poly):
        k = rng.integers(1, 4)
        thr[i, :k] = np.sort(rng.normal(0, 1, k)) + np.arange(k) * 0.3
    return {
        "ids": [f"m{i:03d}" for i in range(n)],
        "model": models,
        "a": rng.lognormal(0.1, 0.3, n),
        "b": np.where(poly, np.nan, rng.normal(0, 1, n)),
        "c": np.where(models == "3pl", 0.2, 0.0),
        "thresholds": thr,
        "content": rng.choice(["A", "B", "C"], n),
        "dimension": [f"D{d}" for d in rng.integers(0, dims, n)],
    }


def make_2pl_bank(n: int = 300, seed: int = 1) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    return {"a": rng.lognormal(0.0, 0.3, n), "b": rng.normal(0, 1, n)}
