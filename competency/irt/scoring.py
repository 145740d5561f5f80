"""Ability estimation: EAP, MAP, ML and WLE (Warm), with standard errors, for any mix of item models.

* EAP: posterior mean and SD on the quadrature grid (default 61 points on μ ± 6σ).
* MAP: posterior mode under N(prior_mean, prior_sd²); SE = 1/√(I(θ̂) + 1/σ²).
* ML: bounded to ``theta_bounds``; a pattern whose likelihood keeps rising towards a bound
  (all answers in the lowest or in the highest category) gets that bound and SE = inf.
* WLE: root of l'(θ) + J(θ)/(2 I(θ)) (Warm, 1989), finite for every pattern; SE = 1/√I(θ̂).

ML/MAP/WLE locate the right root on a coarse grid, then refine it by Fisher scoring
safeguarded by bisection inside the bracketing interval, for all persons at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from competency.irt import estep
from competency.irt.data import MISSING, as_response_codes, build_design, compress_patterns
from competency.irt.items import ItemSet, item_set
from competency.irt.quadrature import DEFAULT_BOUND, DEFAULT_POINTS, normal_grid

METHODS = ("eap", "map", "ml", "wle")
_TINY = 1e-300


def _resolve(params, model, prior_mean, prior_sd):
    """Accept a params dict or a FitResult (whose latent mean/SD become the prior)."""
    if hasattr(params, "params") and hasattr(params, "latent_sd"):
        fit_result = params
        if model is None:
            model = fit_result.model
        if prior_mean is None:
            prior_mean = fit_result.latent_mean
        if prior_sd is None:
            prior_sd = fit_result.latent_sd
        params = fit_result.params
    if model is None and not (isinstance(params, Mapping) and "model" in params):
        model = "2pl"
    prior_mean = 0.0 if prior_mean is None else float(prior_mean)
    prior_sd = 1.0 if prior_sd is None else float(prior_sd)
    if not np.isfinite(prior_mean) or not prior_sd > 0:
        raise ValueError(f"prior: need a finite mean and a positive SD (got {prior_mean}, {prior_sd})")
    return params, model, prior_mean, prior_sd


def _checked_codes(responses, items: ItemSet) -> np.ndarray:
    codes = as_response_codes(responses)
    if codes.shape[1] != items.n_items:
        raise ValueError(f"responses: {codes.shape[1]} columns but parameters for {items.n_items} items")
    over = codes >= items.n_categories[None, :]
    if over.any():
        i, j = np.argwhere(over)[0]
        raise ValueError(
            f"responses: item {j} (column {j}), row {i}: category {codes[i, j]} outside the item's "
            f"{items.n_categories[j]} categories (0..{items.n_categories[j] - 1})"
        )
    return codes


def score(
    responses: ArrayLike,
    params,
    model: str | Sequence[str] | None = None,
    method: str = "eap",
    *,
    prior_mean: float | None = None,
    prior_sd: float | None = None,
    theta_bounds: tuple[float, float] = (-6.0, 6.0),
    quadrature: tuple[int, float] = (DEFAULT_POINTS, DEFAULT_BOUND),
) -> tuple[np.ndarray, np.ndarray]:
    """θ estimates and standard errors for every row of ``responses`` (NaN = not administered).

    ``params`` is a params dict in the IRT form (``model`` a name, one name per item, or
    ``params["model"]``) or a FitResult. The prior is N(0, 1) unless given (or taken from a
    FitResult's latent mean and SD, e.g. for ``rasch``).
    """
    method = str(method).lower()
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    params, model, mu, sigma = _resolve(params, model, prior_mean, prior_sd)
    n_items = np.asarray(as_response_codes(responses)).shape[1]
    items = item_set(params, model, n_items=n_items)
    codes = _checked_codes(responses, items)
    answered = (codes != MISSING).any(axis=1)
    if method in ("ml", "wle") and not answered.all():
        row = int(np.flatnonzero(~answered)[0])
        raise ValueError(f"responses: row {row} has no responses; {method.upper()} is undefined")
    if method == "eap":
        return eap(codes, items, mu, sigma, quadrature)
    return _mode_estimates(codes, items, method, mu, sigma, theta_bounds)


# --------------------------------------------------------------------------- EAP


def eap(codes, items: ItemSet, mu=0.0, sigma=1.0, quadrature=(DEFAULT_POINTS, DEFAULT_BOUND)):
    """Posterior mean and SD on the grid, computed once per distinct response pattern."""
    z, w = normal_grid(*quadrature)
    theta = mu + sigma * z
    patterns, _, inverse = compress_patterns(codes, np.ones(codes.shape[0]))
    design = build_design(patterns, items.n_categories)
    logp = estep.safe_log(items.category_probs(theta))
    _, post = estep.posterior(design, logp, np.log(w), np.ones(patterns.shape[0]))
    mean = post @ theta
    sd = np.sqrt(np.maximum(post @ theta**2 - mean**2, 0.0))
    return mean[inverse], sd[inverse]


def eap_sparse(
    items: ItemSet,
    rows: Sequence[int],
    columns: Sequence[int],
    categories: Sequence[int],
    n_rows: int,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    quadrature: tuple[int, float] = (DEFAULT_POINTS, DEFAULT_BOUND),
) -> tuple[np.ndarray, np.ndarray]:
    """EAP θ and posterior SD for `n_rows` persons who each answered a few of the items' columns.

    Response k is person rows[k] answering item columns[k] in category categories[k]. The result
    equals `score(..., method="eap")` on the matching response matrix (NaN elsewhere) to rounding;
    grading calls it with an already built ItemSet and a handful of responses, where validating the
    parameters and compressing patterns again would cost more than the estimate. A row with no
    response gets the prior.
    """
    z, w = normal_grid(*quadrature)
    theta = prior_mean + prior_sd * z
    cols = np.asarray(columns, dtype=np.intp)
    cats = np.asarray(categories, dtype=np.intp)
    over = cats >= items.n_categories[cols]
    if over.any() or (cats < 0).any():
        k = int(np.flatnonzero(over | (cats < 0))[0])
        raise ValueError(f"categories[{k}]: {cats[k]} is outside item {cols[k]}'s categories")
    # Probabilities of the answered items only: a dimension's pool is many times what one person answers.
    used, local = np.unique(cols, return_inverse=True)
    logp = estep.safe_log(items.take(used).category_probs(theta))  # (Q, answered items, K)
    post = np.zeros((n_rows, theta.size))
    # add.at sums repeated rows (several responses of one person) instead of keeping the last
    np.add.at(post, np.asarray(rows, dtype=np.intp), logp[:, local, cats].T)
    post += np.log(w)[None, :]
    post -= post.max(axis=1, keepdims=True)
    np.exp(post, out=post)
    post /= post.sum(axis=1, keepdims=True)
    mean = post @ theta
    sd = np.sqrt(np.maximum(post @ theta**2 - mean**2, 0.0))
    return mean, sd


# --------------------------------------------------------------------------- ML / MAP / WLE


def _person_terms(theta, onehot, observed, items: ItemSet, method, mu, sigma):
    """Estimating function g(θ), information I(θ) and objective at each person's θ (N,)."""
    p = items.category_probs(theta)  # (N, n, K)
    dp = items.dcategory_probs(theta)
    inv = np.where(p > 0, 1.0 / np.maximum(p, _TINY), 0.0)
    grad = np.einsum("nik,nik->n", onehot, dp * inv)
    info = np.einsum("ni,ni->n", observed, np.sum(dp**2 * inv, axis=2))
    obj = np.einsum("nik,nik->n", onehot, np.log(np.maximum(p, _TINY)))
    if method == "map":
        grad = grad - (theta - mu) / sigma**2
        obj = obj - 0.5 * ((theta - mu) / sigma) ** 2
        info = info + 1.0 / sigma**2
    elif method == "wle":
        h = 1e-5
        d2p = (items.dcategory_probs(theta + h) - items.dcategory_probs(theta - h)) / (2 * h)
        j = np.einsum("ni,ni->n", observed, np.sum(dp * d2p * inv, axis=2))
        safe_info = np.maximum(info, 1e-300)
        grad = grad + j / (2 * safe_info)
        obj = obj + 0.5 * np.log(safe_info)
    return grad, info, obj


def _mode_estimates(codes, items: ItemSet, method, mu, sigma, bounds):
    lo, hi = (float(v) for v in bounds)
    if not lo < hi:
        raise ValueError(f"theta_bounds: need lower < upper (got {bounds})")
    patterns, _, inverse = compress_patterns(codes, np.ones(codes.shape[0]))
    k = items.max_categories
    observed = (patterns != MISSING).astype(float)
    onehot = (patterns[:, :, None] == np.arange(k)[None, None, :]).astype(float)
    n_pat = patterns.shape[0]

    # Coarse grid: pick the bracket of the best root (largest objective) for each pattern.
    grid = np.linspace(lo, hi, 49)
    g_grid = np.empty((n_pat, grid.size))
    o_grid = np.empty((n_pat, grid.size))
    for gi, t in enumerate(grid):
        g, _, o = _person_terms(np.full(n_pat, t), onehot, observed, items, method, mu, sigma)
        g_grid[:, gi], o_grid[:, gi] = g, o
    crossing = (g_grid[:, :-1] > 0) & (g_grid[:, 1:] <= 0)
    score_at = np.where(crossing, np.maximum(o_grid[:, :-1], o_grid[:, 1:]), -np.inf)
    best = np.argmax(score_at, axis=1)
    has_root = crossing.any(axis=1)
    left, right = grid[best], grid[best + 1]

    theta = np.where(has_root, (left + right) / 2, np.where(g_grid[:, 0] <= 0, lo, hi))
    theta = _safeguarded_newton(theta, left, right, has_root, onehot, observed, items, method, mu, sigma)
    _, info, _ = _person_terms(theta, onehot, observed, items, method, mu, sigma)
    with np.errstate(divide="ignore"):
        se = 1.0 / np.sqrt(info)
    if method == "ml":
        se = np.where(has_root, se, np.inf)
    return theta[inverse], se[inverse]


def _safeguarded_newton(theta, left, right, active, onehot, observed, items, method, mu, sigma):
    """Roots of the estimating function g inside each bracket [left, right] (g(left) > 0 ≥ g(right)).

    Newton steps use the observed slope −g'(θ) (central difference of g): the expected
    information is not the slope of g for the 3PL or for WLE's correction term, and a step with
    it can overshoot by up to ×2, so the iteration crawled without converging on low-scoring 3PL
    patterns. A Newton step is taken only when it stays inside the bracket and at least halves
    the step before last (Numerical Recipes' rtsafe rule); otherwise the bracket is bisected, so
    every pattern converges within ~50 iterations.
    """
    theta, left, right, active = theta.copy(), left.copy(), right.copy(), active.copy()
    prev = np.abs(right - left)
    h = 1e-6
    for _ in range(200):
        if not active.any():
            break
        rows = np.flatnonzero(active)
        t = theta[rows]
        args = (onehot[rows], observed[rows], items, method, mu, sigma)
        g = _person_terms(t, *args)[0]
        slope = -(_person_terms(t + h, *args)[0] - _person_terms(t - h, *args)[0]) / (2 * h)
        lo, hi = np.where(g > 0, t, left[rows]), np.where(g <= 0, t, right[rows])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(slope > 0, g / slope, np.inf)
        newton = t + step
        ok = (newton > lo) & (newton < hi) & (2 * np.abs(step) <= prev[rows])
        new = np.where(g == 0, t, np.where(ok, newton, 0.5 * (lo + hi)))
        moved = np.abs(new - t)
        left[rows], right[rows], theta[rows], prev[rows] = lo, hi, new, moved
        active[rows] = (moved > 1e-12) & (hi - lo > 1e-12) & (g != 0)
    return theta


# --------------------------------------------------------------------------- EAP by sum score


def sum_score_distribution(items: ItemSet, theta: np.ndarray, exclude: int | None = None) -> np.ndarray:
    """Lord–Wingersky recursion: P(sum score = s | θ), shape (Q, max_score + 1)."""
    probs = items.category_probs(theta)
    dist = np.ones((theta.size, 1))
    for i in range(items.n_items):
        if i == exclude:
            continue
        k = int(items.n_categories[i])
        new = np.zeros((theta.size, dist.shape[1] + k - 1))
        for c in range(k):
            new[:, c : c + dist.shape[1]] += dist * probs[:, i, c : c + 1]
        dist = new
    return dist


def eap_sum_score_table(
    params,
    model: str | Sequence[str] | None = None,
    *,
    prior_mean: float | None = None,
    prior_sd: float | None = None,
    quadrature: tuple[int, float] = (DEFAULT_POINTS, DEFAULT_BOUND),
) -> dict[str, np.ndarray]:
    """EAP of θ for each sum score 0..max: ``{"score", "theta", "se", "probability"}``."""
    params, model, mu, sigma = _resolve(params, model, prior_mean, prior_sd)
    items = item_set(params, model)
    z, w = normal_grid(*quadrature)
    theta = mu + sigma * z
    joint = sum_score_distribution(items, theta) * w[:, None]  # (Q, S)
    marginal = joint.sum(axis=0)
    post = joint / np.maximum(marginal, _TINY)[None, :]
    mean = theta @ post
    sd = np.sqrt(np.maximum(theta**2 @ post - mean**2, 0.0))
    return {"score": np.arange(marginal.size), "theta": mean, "se": sd, "probability": marginal}
