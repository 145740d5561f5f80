"""Calibration input: response checks (errors name the item), fixed items, start values, item blocks."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import logit

from competency.irt.data import MISSING
from competency.irt.items import DICHOTOMOUS, POLYTOMOUS, ItemSet, item_set
from competency.irt.mstep import Block


def check_items(codes, weights, models, fixed_idx, fixed_ncat) -> np.ndarray:
    """Number of categories per item; ValueError naming the item for anything unusable."""
    used = codes[weights > 0]
    answered = used != MISSING
    empty_rows = np.flatnonzero(~(codes != MISSING).any(axis=1))
    if empty_rows.size:
        raise ValueError(f"responses: row {empty_rows[0]} has no responses ({empty_rows.size} such rows)")
    n_cat = np.zeros(codes.shape[1], dtype=int)
    for j, m in enumerate(models):
        col = used[answered[:, j], j]
        if col.size == 0 and j in fixed_idx:
            n_cat[j] = fixed_ncat[j]  # an anchor needs no data of its own
            continue
        if col.size == 0:
            raise ValueError(f"responses: item {j} (column {j}) has no responses")
        top = int(col.max())
        if m in DICHOTOMOUS and top > 1:
            raise ValueError(
                f"responses: item {j} (column {j}) has category {top}, outside the {m} model (0/1 only)"
            )
        if j in fixed_idx:
            if top >= fixed_ncat[j]:
                raise ValueError(
                    f"responses: item {j} (column {j}) has category {top}, beyond its fixed parameters"
                )
            n_cat[j] = fixed_ncat[j]
            continue
        seen = np.bincount(col, minlength=top + 1)
        if np.count_nonzero(seen) < 2:
            raise ValueError(f"responses: item {j} (column {j}) has no variance (every answer is {top})")
        missing_cat = np.flatnonzero(seen == 0)
        if missing_cat.size:
            raise ValueError(
                f"responses: item {j} (column {j}) never uses category {missing_cat[0]} "
                f"(categories must be 0..K−1 with every category observed)"
            )
        n_cat[j] = top + 1
    free_poly = [j for j, m in enumerate(models) if m in POLYTOMOUS and j not in fixed_idx]
    if free_poly and all(n_cat[j] == 2 for j in free_poly):
        raise ValueError(
            f"responses: the {models[free_poly[0]]} model needs polytomous items, but every item is binary; "
            "use 2pl"
        )
    return n_cat


def fixed_item_sets(fixed, n_items, models) -> dict[int, ItemSet]:
    if not fixed:
        return {}
    if not isinstance(fixed, Mapping):
        raise ValueError("fixed: expected {item_index: {'a': .., 'b': .., ...}}")
    out = {}
    for key, pars in fixed.items():
        j = int(key)
        if not 0 <= j < n_items:
            raise ValueError(f"fixed: item index {key} out of range 0..{n_items - 1}")
        if not isinstance(pars, Mapping):
            raise ValueError(f"fixed: item {j}: expected a dict of parameters")
        one = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in pars.items()}
        if "thresholds" in one:
            one["thresholds"] = one["thresholds"][None, :]
        if models[j] == "rasch":
            one.setdefault("a", np.ones(1))
        try:
            out[j] = item_set(one, model=[models[j]], n_items=1)
        except ValueError as exc:
            raise ValueError(f"fixed: item {j}: {exc}") from None
    return out


# --------------------------------------------------------------------------- start values and blocks


def _start_values(codes, weights, n_cat, j, kind, slope0) -> np.ndarray:
    answered = codes[:, j] != MISSING
    x, w = codes[answered, j], weights[answered]
    props = np.bincount(x, weights=w, minlength=n_cat).astype(float)
    props = (props + 0.5) / (props.sum() + 0.5 * n_cat)
    scale = np.sqrt(1.0 + 0.393 * slope0**2)  # marginal logit ≈ d / scale under θ ~ N(0, 1)
    if kind == "gpcm":
        d = np.log(props[1:] / props[:-1]) * scale
    else:
        upper = 1.0 - np.cumsum(props)[:-1]
        d = logit(np.clip(upper, 1e-4, 1 - 1e-4)) * scale
    return d


def _slope_start(codes, weights) -> np.ndarray:
    """Slopes from item–rest correlations (a ≈ 1.7 r / √(1 − r²)), clipped to [0.3, 3].

    Start values only: at most 20,000 evenly spaced rows are used.
    """
    step = max(1, codes.shape[0] // 20_000)
    codes, weights = codes[::step], weights[::step]
    x = np.where(codes == MISSING, np.nan, codes).astype(float)
    seen = ~np.isnan(x)
    mean = np.where(seen, x, 0.0).sum(axis=0) / np.maximum(seen.sum(axis=0), 1)
    filled = np.where(np.isnan(x), mean, x)
    total = filled.sum(axis=1)
    out = np.ones(codes.shape[1])
    wsum = weights.sum()
    for j in range(codes.shape[1]):
        rest = total - filled[:, j]
        mx, mr = np.sum(weights * filled[:, j]) / wsum, np.sum(weights * rest) / wsum
        cov = np.sum(weights * (filled[:, j] - mx) * (rest - mr))
        vx, vr = np.sum(weights * (filled[:, j] - mx) ** 2), np.sum(weights * (rest - mr) ** 2)
        r = cov / np.sqrt(max(vx * vr, 1e-300))
        r = float(np.clip(r, 0.05, 0.9))
        out[j] = np.clip(1.7 * r / np.sqrt(1 - r**2), 0.3, 3.0)
    return out


def build_blocks(models, n_cat, codes, weights, fixed_sets, guess_prior) -> list[Block]:
    kinds = {"rasch": "dich", "1pl": "dich", "2pl": "dich", "3pl": "dich", "grm": "grm", "gpcm": "gpcm"}
    slope0 = _slope_start(codes, weights) if codes.shape[1] > 2 else np.ones(codes.shape[1])
    groups: dict[str, list[int]] = {}
    for j, m in enumerate(models):
        groups.setdefault(m, []).append(j)
    blocks = []
    k_all = int(n_cat.max())
    for m, idx_list in groups.items():
        idx = np.array(idx_list)
        kind = kinds[m]
        k = 2 if kind == "dich" else int(n_cat[idx].max())
        p = 3 if m == "3pl" else k
        eta = np.full((idx.size, p), np.nan)
        free = np.ones(idx.size, dtype=bool)
        common = 1.0 if m == "rasch" else float(np.median(slope0[idx])) if m == "1pl" else None
        for r, j in enumerate(idx):
            if j in fixed_sets:
                fs = fixed_sets[j]
                a = fs.a[0]
                eta[r, 0] = a
                kk = int(fs.n_categories[0])
                eta[r, 1:kk] = -a * fs.thresholds[0, : kk - 1]
                if m == "3pl":
                    eta[r, 2] = logit(np.clip(fs.c[0], 1e-6, 1 - 1e-6))
                free[r] = False
                continue
            a0 = common if common is not None else slope0[j]
            eta[r, 0] = a0
            eta[r, 1 : n_cat[j]] = _start_values(codes, weights, n_cat[j], j, kind, a0)
            if m == "3pl":
                c0 = (guess_prior[0] - 1) / (sum(guess_prior) - 2) if guess_prior else 0.1
                eta[r, 2] = logit(c0)
        blocks.append(
            Block(
                kind=kind,
                items=idx,
                eta=eta,
                free=free,
                has_guess=m == "3pl",
                shared_slope=m == "1pl",
                fixed_slope=1.0 if m == "rasch" else None,
                n_categories=np.minimum(n_cat[idx], k_all),
            )
        )
    return blocks
