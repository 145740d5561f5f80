"""Converters between the IRT form and the slope–intercept form, with delta-method SEs.

IRT form (this project): a, b (or b_k), c.  Slope–intercept form (R/Python mirt style):
``a1 = a``, ``d = −a·b`` (``d_k = −a·b_k`` per GRM threshold or GPCM step), ``g = c``.
For the GPCM, mirt's own ``gpcm`` intercepts are the cumulative sums of these step
intercepts (d_mirt,k = Σ_{v ≤ k} d_v); this module returns the per-step values.

A slope–intercept dict has ``a1`` (n,), ``d`` ((n,) when every item is dichotomous,
else (n, K−1) NaN-padded with a dichotomous item's d in column 0) and ``g`` (n,) when
the IRT dict has ``c``. Covariances are per item, (n, K+1, K+1), ordered
[slope, location_1..location_{K−1}, asymptote] (``FitResult.cov_irt`` uses this layout).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def _locations(params: Mapping, key_1d: str, key_2d: str) -> tuple[np.ndarray, bool]:
    """(n, K−1) locations from b/thresholds (IRT) or d (slope–intercept); flag: all dichotomous."""
    one = np.asarray(params[key_1d], dtype=float) if key_1d in params else None
    two = np.asarray(params[key_2d], dtype=float) if key_2d and key_2d in params else None
    if one is not None and one.ndim == 2:
        two, one = one, None
    if two is None:
        if one is None:
            raise ValueError(f"params: need '{key_1d}'" + (f" or '{key_2d}'" if key_2d else ""))
        return one[:, None].copy(), True
    loc = two.copy() if two.ndim == 2 else two[:, None].copy()
    if one is not None:
        dich = ~np.isnan(one)
        loc[dich, 0] = one[dich]
    return loc, False


def _delta(jac: np.ndarray, cov: np.ndarray | None) -> np.ndarray | None:
    if cov is None:
        return None
    cov = np.asarray(cov, dtype=float)
    width = jac.shape[1]
    cov = np.nan_to_num(cov[:, :width, :width])
    out = np.einsum("nop,npr,nsr->nos", jac, cov, jac)
    return np.sqrt(np.maximum(np.diagonal(out, axis1=1, axis2=2), 0.0))


def to_slope_intercept(params: Mapping, cov: np.ndarray | None = None):
    """IRT form → slope–intercept form. Returns (si_params, si_se or None)."""
    a = np.asarray(params["a"], dtype=float)
    loc, all_dich = _locations(params, "b", "thresholds")
    n, steps = loc.shape
    d = -a[:, None] * loc
    out: dict[str, np.ndarray] = {"a1": a.copy(), "d": d[:, 0].copy() if all_dich else d}
    has_c = "c" in params
    if has_c:
        out["g"] = np.asarray(params["c"], dtype=float).copy()
    if "model" in params:
        out["model"] = np.asarray(params["model"])
    jac = np.zeros((n, steps + 2, steps + 2))
    jac[:, 0, 0] = 1.0
    for k in range(steps):
        jac[:, 1 + k, 0] = np.nan_to_num(-loc[:, k])
        jac[:, 1 + k, 1 + k] = -a
    jac[:, -1, -1] = 1.0
    se = _delta(jac, cov)
    if se is None:
        return out, None
    return out, _unpack(se, steps, all_dich, has_c, ("a1", "d", "g"), loc)


def from_slope_intercept(si: Mapping, cov: np.ndarray | None = None):
    """Slope–intercept form → IRT form (b = −d/a). Returns (params, se or None)."""
    a = np.asarray(si["a1"], dtype=float)
    if np.any(a == 0):
        raise ValueError(f"a1: item {int(np.flatnonzero(a == 0)[0])} has slope 0; b = −d/a is undefined")
    d, all_dich = _locations(si, "d", "")
    n, steps = d.shape
    loc = -d / a[:, None]
    out: dict[str, np.ndarray] = {"a": a.copy()}
    if all_dich:
        out["b"] = loc[:, 0].copy()
    else:
        out["thresholds"] = loc
    has_c = "g" in si
    if has_c:
        out["c"] = np.asarray(si["g"], dtype=float).copy()
    if "model" in si:
        out["model"] = np.asarray(si["model"])
    jac = np.zeros((n, steps + 2, steps + 2))
    jac[:, 0, 0] = 1.0
    for k in range(steps):
        jac[:, 1 + k, 0] = np.nan_to_num(d[:, k] / a**2)
        jac[:, 1 + k, 1 + k] = -1.0 / a
    jac[:, -1, -1] = 1.0
    se = _delta(jac, cov)
    if se is None:
        return out, None
    return out, _unpack(se, steps, all_dich, has_c, ("a", "b" if all_dich else "thresholds", "c"), loc)


def _unpack(se, steps, all_dich, has_c, keys, loc):
    slope_key, loc_key, c_key = keys
    locs = np.where(np.isnan(loc), np.nan, se[:, 1 : 1 + steps])
    out = {slope_key: se[:, 0], loc_key: locs[:, 0] if all_dich else locs}
    if has_c:
        out[c_key] = se[:, -1]
    return out
