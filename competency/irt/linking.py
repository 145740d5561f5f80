"""Scale linking between independently calibrated forms, and parameter drift between versions.

Scales: θ_base = A·θ_new + B. Parameters of the new calibration move to the base scale by
a* = a / A, b* = A·b + B (thresholds likewise), c unchanged (``transform``).

* ``stocking_lord``: A, B minimising Σ_q w_q [T_base(θ_q) − T*_new(θ_q)]², T the test
  characteristic curve (expected score) of the common items (Stocking & Lord, 1983);
* ``haebara``: A, B minimising Σ_q w_q Σ_j Σ_k [P_base,jk(θ_q) − P*_new,jk(θ_q)]² (Haebara, 1980);
* ``mean_sigma``: A = sd(b_base)/sd(b_new), B = mean(b_base) − A·mean(b_new) (start values).

The criteria are evaluated on the base scale's N(0, 1) grid (61 nodes on [−6, 6]), one direction
(new → base), minimised by BFGS from the mean/sigma solution.

``drift`` compares two parameter versions item by item: Δa, Δb (mean threshold for polytomous
items) with SE √(SE_old² + SE_new²) (independent calibrations), flagged when the change exceeds a
practical threshold *and* is significant (|z| > z_crit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import minimize

from competency.irt.items import item_set
from competency.irt.quadrature import normal_grid

__all__ = ["drift", "haebara", "mean_sigma", "stocking_lord", "transform"]


def transform(params: Mapping[str, np.ndarray], a_const: float, b_const: float) -> dict[str, np.ndarray]:
    """Parameters on the base scale θ_base = A·θ + B (IRT form)."""
    out = {k: np.array(v, dtype=float, copy=True) for k, v in params.items() if k != "model"}
    if "model" in params:
        out["model"] = params["model"]
    if "a" in out:
        out["a"] = out["a"] / a_const
    for key in ("b", "thresholds"):
        if key in out:
            out[key] = a_const * out[key] + b_const
    return out


def _locations(params, model) -> np.ndarray:
    items = item_set(params, model)
    return items.thresholds[~np.isnan(items.thresholds)]


def mean_sigma(base, new, model=None) -> tuple[float, float]:
    lb, ln = _locations(base, model), _locations(new, model)
    a_const = float(np.std(lb) / np.std(ln))
    return a_const, float(np.mean(lb) - a_const * np.mean(ln))


def _link(base, new, model, criterion):
    z, w = normal_grid()
    base_items = item_set(base, model)
    p_base = base_items.category_probs(z)  # (Q, n, K)
    cats = np.arange(p_base.shape[2], dtype=float)

    def loss(v):
        a_const, b_const = v[0], v[1]
        if a_const <= 0:
            return np.inf
        p_new = item_set(transform(new, a_const, b_const), model).category_probs(z)
        if criterion == "sl":
            diff = (p_base - p_new) @ cats  # expected item scores
            return float(w @ diff.sum(axis=1) ** 2)
        return float(w @ np.sum((p_base - p_new) ** 2, axis=(1, 2)))

    start = np.array(mean_sigma(base, new, model))
    res = minimize(loss, start, method="BFGS", options={"gtol": 1e-10})
    if not np.all(np.isfinite(res.x)) or res.x[0] <= 0:
        res = minimize(loss, start, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14})
    return float(res.x[0]), float(res.x[1])


def stocking_lord(base, new, model: str | Sequence[str] | None = None) -> tuple[float, float]:
    """(A, B) such that θ_base = A·θ_new + B, from the common items' parameters in both calibrations."""
    return _link(base, new, model, "sl")


def haebara(base, new, model: str | Sequence[str] | None = None) -> tuple[float, float]:
    """(A, B) by Haebara's item characteristic curve criterion."""
    return _link(base, new, model, "haebara")


def drift(
    old: Mapping[str, np.ndarray],
    old_se: Mapping[str, np.ndarray],
    new: Mapping[str, np.ndarray],
    new_se: Mapping[str, np.ndarray],
    *,
    threshold_a: float = 0.3,
    threshold_b: float = 0.3,
    z_crit: float = 1.96,
) -> dict[str, np.ndarray]:
    """Per item: delta_a, se_delta_a, delta_b, se_delta_b, z_a, z_b, flag (both on one scale already)."""

    def loc(p, se):
        if "thresholds" in p:
            t = np.asarray(p["thresholds"], dtype=float)
            ts = np.asarray(se["thresholds"], dtype=float)
            t = t[:, None] if t.ndim == 1 else t
            ts = ts[:, None] if ts.ndim == 1 else ts
            n = np.sum(~np.isnan(t), axis=1)
            # mean threshold; its SE treats the thresholds' errors as independent (conservative)
            return np.nanmean(t, axis=1), np.sqrt(np.nansum(ts**2, axis=1)) / np.maximum(n, 1)
        return np.asarray(p["b"], dtype=float), np.asarray(se["b"], dtype=float)

    b_old, sb_old = loc(old, old_se)
    b_new, sb_new = loc(new, new_se)
    a_old, a_new = np.asarray(old["a"], float), np.asarray(new["a"], float)
    sa_old, sa_new = (
        np.asarray(old_se.get("a", np.zeros_like(a_old)), float),
        np.asarray(new_se.get("a", np.zeros_like(a_new)), float),
    )
    d_a, d_b = a_new - a_old, b_new - b_old
    se_a, se_b = np.sqrt(sa_old**2 + sa_new**2), np.sqrt(sb_old**2 + sb_new**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z_a, z_b = d_a / se_a, d_b / se_b
    flag_a = (np.abs(d_a) > threshold_a) & (np.abs(np.nan_to_num(z_a, nan=np.inf)) > z_crit)
    flag_b = (np.abs(d_b) > threshold_b) & (np.abs(np.nan_to_num(z_b, nan=np.inf)) > z_crit)
    return {
        "delta_a": d_a,
        "se_delta_a": se_a,
        "z_a": z_a,
        "delta_b": d_b,
        "se_delta_b": se_b,
        "z_b": z_b,
        "flag_a": flag_a,
        "flag_b": flag_b,
        "flag": flag_a | flag_b,
    }
