"""Diagnostics: test information and SE curves, reliability, infit/outfit, S-X² item fit."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import chi2

from competency.irt.data import MISSING
from competency.irt.items import item_set
from competency.irt.quadrature import DEFAULT_BOUND, DEFAULT_POINTS, normal_grid
from competency.irt.scoring import _checked_codes, _resolve, score, sum_score_distribution

# Parameters estimated per item, for the S-X² degrees of freedom.
_N_PARAMS = {"rasch": 1, "1pl": 1, "2pl": 2, "3pl": 3}


def item_information(theta: ArrayLike, params, model: str | Sequence[str] | None = None) -> np.ndarray:
    """Item information, shape (Q, n)."""
    params, model, _, _ = _resolve(params, model, None, None)
    return item_set(params, model).information(np.atleast_1d(np.asarray(theta, dtype=float)))


def test_information(theta: ArrayLike, params, model: str | Sequence[str] | None = None) -> np.ndarray:
    """Test information Σ_i I_i(θ), shape (Q,)."""
    return item_information(theta, params, model).sum(axis=1)


test_information.__test__ = False  # a library function, not a pytest test


def standard_error_curve(theta: ArrayLike, params, model: str | Sequence[str] | None = None) -> np.ndarray:
    """SE(θ) = 1/√(test information), shape (Q,)."""
    with np.errstate(divide="ignore"):
        return 1.0 / np.sqrt(test_information(theta, params, model))


def marginal_reliability(
    params,
    model: str | Sequence[str] | None = None,
    *,
    prior_mean: float | None = None,
    prior_sd: float | None = None,
    quadrature: tuple[int, float] = (DEFAULT_POINTS, DEFAULT_BOUND),
) -> float:
    """σ² / (σ² + E[1/I(θ)]) with θ ~ N(μ, σ²), the expectation taken on the quadrature grid."""
    params, model, mu, sigma = _resolve(params, model, prior_mean, prior_sd)
    z, w = normal_grid(*quadrature)
    info = test_information(mu + sigma * z, params, model)
    err = float(np.sum(w / np.maximum(info, 1e-300)))
    return sigma**2 / (sigma**2 + err)


def empirical_reliability(theta: ArrayLike, se: ArrayLike) -> float:
    """var(θ̂) / (var(θ̂) + mean(SE²)) over persons (for EAP: posterior SDs)."""
    theta, se = np.asarray(theta, dtype=float), np.asarray(se, dtype=float)
    v = float(np.var(theta))
    return v / (v + float(np.mean(se**2)))


def infit_outfit(
    responses: ArrayLike,
    params,
    model: str | Sequence[str] | None = None,
    theta: ArrayLike | None = None,
) -> dict[str, np.ndarray]:
    """Mean-square infit/outfit per item and their Wilson–Hilferty z values.

    θ defaults to the WLE estimates, as in Rasch practice: EAP shrinkage pulls the mean
    squares below 1 even when the model holds. Residuals use the model's expected category
    score and its variance, so the same formulas serve dichotomous and polytomous items.
    """
    params, model, mu, sigma = _resolve(params, model, None, None)
    items = item_set(params, model, n_items=np.asarray(responses).shape[-1])
    codes = _checked_codes(responses, items)
    if theta is None:
        x = np.where(codes == MISSING, np.nan, codes.astype(float))
        theta, _ = score(x, params, model, method="wle", prior_mean=mu, prior_sd=sigma)
    theta = np.asarray(theta, dtype=float)
    probs = items.category_probs(theta)  # (N, n, K)
    cats = np.arange(probs.shape[2], dtype=float)
    expected = probs @ cats
    dev = cats[None, None, :] - expected[:, :, None]
    var = np.sum(probs * dev**2, axis=2)
    kurt = np.sum(probs * dev**4, axis=2)
    obs = codes != MISSING
    y = np.where(obs, codes, 0).astype(float)
    resid2 = np.where(obs, (y - expected) ** 2, 0.0)
    var = np.where(obs, var, 0.0)
    kurt = np.where(obs, kurt, 0.0)
    n = obs.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        outfit = np.sum(np.where(obs, resid2 / var, 0.0), axis=0) / n
        infit = resid2.sum(axis=0) / var.sum(axis=0)
        q_out = np.sqrt(np.maximum(np.sum(np.where(obs, kurt / var**2, 0.0), axis=0) / n**2 - 1.0 / n, 1e-12))
        q_in = np.sqrt(np.maximum(np.sum(kurt - var**2, axis=0) / var.sum(axis=0) ** 2, 1e-12))
        z_out = (np.cbrt(outfit) - 1.0) * (3.0 / q_out) + q_out / 3.0
        z_in = (np.cbrt(infit) - 1.0) * (3.0 / q_in) + q_in / 3.0
    return {"outfit": outfit, "infit": infit, "z_outfit": z_out, "z_infit": z_in}


def sx2(
    responses: ArrayLike,
    params,
    model: str | Sequence[str] | None = None,
    *,
    mincell: float = 1.0,
    n_params: ArrayLike | None = None,
    quadrature: tuple[int, float] = (DEFAULT_POINTS, DEFAULT_BOUND),
) -> dict[str, np.ndarray]:
    """Orlando–Thissen S-X² per item: observed vs model-implied category proportions by sum score.

    Needs complete data. Adjacent sum-score groups are merged (from the low end up) until
    every expected cell count is at least ``mincell``; df = Σ over groups of (categories the item
    can take in the group − 1) − parameters of the item, which is groups·(K−1) − parameters
    whenever the groups are pooled (``mincell`` > 0).
    """
    params, model, mu, sigma = _resolve(params, model, None, None)
    items = item_set(params, model, n_items=np.asarray(responses).shape[-1])
    codes = _checked_codes(responses, items)
    if (codes == MISSING).any():
        j = int(np.argwhere(codes == MISSING)[0][1])
        raise ValueError(f"responses: item {j} (column {j}) has missing responses; S-X² needs complete data")
    if n_params is None:
        n_par = np.array(
            [_N_PARAMS.get(m, int(k)) for m, k in zip(items.models, items.n_categories, strict=True)]
        )
    else:
        n_par = np.broadcast_to(np.asarray(n_params, dtype=int), (items.n_items,))
    z, w = normal_grid(*quadrature)
    theta = mu + sigma * z
    probs = items.category_probs(theta)
    total = sum_score_distribution(items, theta)
    marginal = (w @ total).clip(1e-300)  # P(S = s)
    sums = codes.sum(axis=1)
    max_score = total.shape[1] - 1
    n_at = np.bincount(sums, minlength=max_score + 1).astype(float)
    scores = np.arange(1, max_score)  # the extreme scores carry no information about fit
    stat, dfs = np.zeros(items.n_items), np.zeros(items.n_items, dtype=int)
    for i in range(items.n_items):
        k = int(items.n_categories[i])
        rest = sum_score_distribution(items, theta, exclude=i)
        expected = np.zeros((scores.size, k))
        observed = np.zeros((scores.size, k))
        for c in range(k):
            shifted = np.zeros_like(total)
            shifted[:, c : c + rest.shape[1]] = rest
            joint = w @ (probs[:, i, c : c + 1] * shifted)
            expected[:, c] = n_at[scores] * joint[scores] / marginal[scores]
            observed[:, c] = np.bincount(sums[codes[:, i] == c], minlength=max_score + 1)[scores]
        e_groups, o_groups = _collapse(expected, observed, mincell)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat[i] = np.sum(np.where(e_groups > 0, (o_groups - e_groups) ** 2 / e_groups, 0.0))
        # A cell the item cannot reach at that score (category c above the sum, or the rest unable to
        # make up the difference) has expected 0 and is no contrast: each group adds its possible
        # categories less one. With pooling every kept cell is >= mincell, so this is groups·(K−1).
        dfs[i] = int(np.sum(np.count_nonzero(e_groups > 0, axis=1) - 1)) - n_par[i]
    p = np.where(dfs > 0, chi2.sf(stat, np.maximum(dfs, 1)), np.nan)
    return {"S_X2": stat, "df": dfs, "p": p}


def _collapse(expected: np.ndarray, observed: np.ndarray, mincell: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge adjacent score groups so that every expected count is ≥ mincell."""
    keep = expected.sum(axis=1) > 0
    expected, observed = expected[keep], observed[keep]
    e_out, o_out = [], []
    e_acc, o_acc = np.zeros(expected.shape[1]), np.zeros(expected.shape[1])
    for e, o in zip(expected, observed, strict=True):
        e_acc, o_acc = e_acc + e, o_acc + o
        if np.all(e_acc >= mincell):
            e_out.append(e_acc)
            o_out.append(o_acc)
            e_acc, o_acc = np.zeros_like(e_acc), np.zeros_like(o_acc)
    if e_acc.sum() > 0:
        if e_out:
            e_out[-1], o_out[-1] = e_out[-1] + e_acc, o_out[-1] + o_acc
        else:
            e_out.append(e_acc)
            o_out.append(o_acc)
    return np.array(e_out), np.array(o_out)
