"""Item and person fit that hold for sparse (adaptive, missing-by-design) data.

Every statistic uses only the responses a person actually gave; NaN means "not administered",
never "wrong". Persons' θ enter through their EAP posteriors on the quadrature grid (item fit)
or through an estimating-equation estimate (person fit).

* ``item_rmsd``: root mean squared deviation between the posterior-weighted observed item
  characteristic curve and the model's, weighted by the ability distribution of the persons who
  took the item (the item-fit statistic of PISA and PIAAC; von Davier, 2017). Dichotomous items use
  P(1); polytomous items the expected score divided by K−1, so both lie in [0, 1]. Rule of thumb:
  RMSD > 0.1 flags misfit (PISA 2015 technical report uses 0.12 for its scaling; we default to 0.1).
* ``posterior_infit_outfit``: Rasch-style mean squares whose squared standardized residuals
  are integrated over each person's posterior instead of being evaluated at a point estimate,
  so that EAP shrinkage does not pull them below 1 and short adaptive tests are usable.
* ``lz_star``: Snijders' (2001) lz*, the standardized log-likelihood person-fit statistic
  corrected for θ being estimated (formulas as in Magis, Raîche & Béland, 2012), for ML, MAP
  or WLE θ̂ and dichotomous items; large negative values flag aberrant patterns (random
  responding, pre-knowledge of hard items).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import norm

from competency.irt import estep
from competency.irt.data import MISSING, build_design, compress_patterns
from competency.irt.items import DICHOTOMOUS, item_set
from competency.irt.quadrature import DEFAULT_BOUND, DEFAULT_POINTS, normal_grid
from competency.irt.scoring import _checked_codes, _resolve, score

__all__ = ["item_rmsd", "lz_star", "posterior_infit_outfit"]


def _posteriors(codes, items, mu, sigma, quadrature):
    """Per-person posterior over the grid (N, Q) and the grid θ (Q,)."""
    z, w = normal_grid(*quadrature)
    theta = mu + sigma * z
    patterns, _, inverse = compress_patterns(codes, np.ones(codes.shape[0]))
    design = build_design(patterns, items.n_categories)
    logp = estep.safe_log(items.category_probs(theta))
    _, post = estep.posterior(design, logp, np.log(w), np.ones(patterns.shape[0]))
    return post[inverse], theta


def item_rmsd(
    responses: ArrayLike,
    params,
    model: str | Sequence[str] | None = None,
    *,
    prior_mean: float | None = None,
    prior_sd: float | None = None,
    quadrature: tuple[int, float] = (DEFAULT_POINTS, DEFAULT_BOUND),
) -> dict[str, np.ndarray]:
    """RMSD per item: ``{"rmsd", "n"}`` (n = persons who answered the item)."""
    params, model, mu, sigma = _resolve(params, model, prior_mean, prior_sd)
    items = item_set(params, model, n_items=np.asarray(responses).shape[-1])
    codes = _checked_codes(responses, items)
    post, theta = _posteriors(codes, items, mu, sigma, quadrature)
    obs = codes != MISSING
    probs = items.category_probs(theta)  # (Q, n, K)
    k = probs.shape[2]
    scale = np.maximum(items.n_categories - 1, 1).astype(float)
    expected = (probs @ np.arange(k, dtype=float)) / scale[None, :]  # (Q, n)
    y = np.where(obs, codes, 0).astype(float) / scale[None, :]
    mass = post.T @ obs.astype(float)  # (Q, n): posterior mass of the item's respondents
    observed = (post.T @ (y * obs)) / np.maximum(mass, 1e-300)
    weight = mass / np.maximum(mass.sum(axis=0, keepdims=True), 1e-300)
    rmsd = np.sqrt(np.sum(weight * (observed - expected) ** 2, axis=0))
    n = obs.sum(axis=0)
    return {"rmsd": np.where(n > 0, rmsd, np.nan), "n": n}


def posterior_infit_outfit(
    responses: ArrayLike,
    params,
    model: str | Sequence[str] | None = None,
    *,
    prior_mean: float | None = None,
    prior_sd: float | None = None,
    quadrature: tuple[int, float] = (DEFAULT_POINTS, DEFAULT_BOUND),
) -> dict[str, np.ndarray]:
    """Infit and outfit mean squares per item, residuals integrated over each person's posterior.

    outfit_j = mean over respondents of E_post[(x − E(X|θ))² / Var(X|θ)];
    infit_j = Σ E_post[(x − E(X|θ))²] / Σ E_post[Var(X|θ)]. Both are ≈ 1 under the model.
    """
    params, model, mu, sigma = _resolve(params, model, prior_mean, prior_sd)
    items = item_set(params, model, n_items=np.asarray(responses).shape[-1])
    codes = _checked_codes(responses, items)
    post, theta = _posteriors(codes, items, mu, sigma, quadrature)
    obs = codes != MISSING
    probs = items.category_probs(theta)  # (Q, n, K)
    cats = np.arange(probs.shape[2], dtype=float)
    mean = probs @ cats  # (Q, n)
    var = np.maximum(np.sum(probs * (cats[None, None, :] - mean[:, :, None]) ** 2, axis=2), 1e-300)
    y = np.where(obs, codes, 0).astype(float)
    n = obs.sum(axis=0)
    # E_post[(y − m)²] = y²·1 − 2y·E[m] + E[m²], per person and item, by matrix products
    e_m, e_m2 = post @ mean, post @ mean**2
    e_sq = y**2 - 2 * y * e_m + e_m2
    e_m_v, e_m2_v, e_inv_v = post @ (mean / var), post @ (mean**2 / var), post @ (1.0 / var)
    e_std = y**2 * e_inv_v - 2 * y * e_m_v + e_m2_v
    e_var = post @ var
    with np.errstate(divide="ignore", invalid="ignore"):
        outfit = np.sum(np.where(obs, e_std, 0.0), axis=0) / n
        infit = np.sum(np.where(obs, e_sq, 0.0), axis=0) / np.sum(np.where(obs, e_var, 0.0), axis=0)
    return {"infit": infit, "outfit": outfit, "n": n}


def lz_star(
    responses: ArrayLike,
    params,
    model: str | Sequence[str] | None = None,
    method: str = "wle",
    *,
    theta: ArrayLike | None = None,
    prior_mean: float | None = None,
    prior_sd: float | None = None,
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """Snijders' lz* per person: ``{"lz_star", "p_value", "flag", "theta", "n"}``.

    lz* = [W(θ̂) + c(θ̂)·r₀(θ̂)] / (√n·τ(θ̂)), W = Σ (x_j − P_j)·w_j with w_j = logit P_j,
    r_j = P'_j / (P_j Q_j), c = Σ P'_j w_j / Σ P'_j r_j, τ² = (1/n) Σ (w_j − c·r_j)² P_j Q_j and
    r₀ the estimator's extra term (0 for ML, −(θ−μ)/σ² for MAP, J/(2I) for WLE). p is the
    lower-tail normal probability; ``flag`` is p < alpha. Persons with fewer than 2 answers get NaN.
    """
    method = str(method).lower()
    if method not in ("ml", "map", "wle"):
        raise ValueError(f"method: lz* needs an ML, MAP or WLE estimate, got {method!r}")
    params, model, mu, sigma = _resolve(params, model, prior_mean, prior_sd)
    items = item_set(params, model, n_items=np.asarray(responses).shape[-1])
    if any(m not in DICHOTOMOUS for m in items.models):
        raise ValueError("model: lz* is defined here for dichotomous items (rasch, 1pl, 2pl, 3pl) only")
    codes = _checked_codes(responses, items)
    obs = codes != MISSING
    n = obs.sum(axis=1)
    x = np.where(obs, codes, 0).astype(float)
    if theta is None:
        est = np.full(codes.shape[0], np.nan)
        ok = n >= 1
        xs = np.where(obs, codes, np.nan).astype(float)[ok]
        est[ok], _ = score(xs, params, model, method=method, prior_mean=mu, prior_sd=sigma)
    else:
        est = np.asarray(theta, dtype=float).ravel()
    t = np.where(np.isfinite(est), est, 0.0)
    p = np.clip(items.category_probs(t)[:, :, 1], 1e-12, 1 - 1e-12)  # (N, n)
    dp = items.dcategory_probs(t)[:, :, 1]
    pq = p * (1 - p)
    w = np.log(p / (1 - p))
    r = dp / pq
    o = obs.astype(float)
    big_w = np.sum(o * (x - p) * w, axis=1)
    c = np.sum(o * dp * w, axis=1) / np.maximum(np.sum(o * dp * r, axis=1), 1e-300)
    if method == "ml":
        r0 = np.zeros_like(t)
    elif method == "map":
        r0 = -(t - mu) / sigma**2
    else:
        h = 1e-5
        d2p = (items.dcategory_probs(t + h)[:, :, 1] - items.dcategory_probs(t - h)[:, :, 1]) / (2 * h)
        info = np.sum(o * dp * r, axis=1)
        j = np.sum(o * dp * d2p / pq, axis=1)
        r0 = j / (2 * np.maximum(info, 1e-300))
    tau2 = np.sum(o * (w - c[:, None] * r) ** 2 * pq, axis=1) / np.maximum(n, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lz = (big_w + c * r0) / np.sqrt(n * tau2)
    lz = np.where((n >= 2) & np.isfinite(est) & (tau2 > 0), lz, np.nan)
    pval = norm.cdf(lz)
    return {"lz_star": lz, "p_value": pval, "flag": pval < alpha, "theta": est, "n": n}
