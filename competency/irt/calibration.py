"""Marginal maximum likelihood calibration (Bock–Aitkin EM) with priors, weights and fixed items.

``fit`` works on compressed response patterns: identical rows are merged and their
frequencies summed, so every E-step costs O(n_patterns × n_item_columns × Q). The
M-step is Fisher scoring for every item at once (``mstep``). Optional SQUAREM
acceleration (Varadhan & Roland, 2008) extrapolates the EM map. Convergence needs
both the largest change of an estimated parameter (slope–intercept form) below
``tol`` and the relative change of the log-likelihood below ``tol_loglik``.

Identification:

* ``2pl``/``3pl``/``grm``/``gpcm``/``1pl``: θ ~ N(0, 1);
* ``rasch``: every slope is 1 and the latent SD is estimated. It is fitted as the
  equivalent common-slope model (σ_θ = common slope, b_rasch = −d), which also gives
  the SE of the latent SD;
* with fixed items (``fixed=``) the known items set the scale, so the latent mean and SD
  are estimated (Kim's multiple-EM-cycle fixed-item calibration) unless
  ``estimate_latent=False``.

Standard errors come from the observed information: the Hessian of the marginal
log-likelihood (log-posterior with priors), by Louis' identity (``information``) or,
as a cross-check, by central differences of its exact gradient (Fisher's identity);
then the delta method to the IRT form. Fixed
parameters get SE NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, logit

from competency.irt import estep
from competency.irt.data import MISSING, as_response_codes, build_design, check_weights, compress_patterns
from competency.irt.information import louis_information
from competency.irt.items import DICHOTOMOUS, POLYTOMOUS, ItemSet, item_set, model_list
from competency.irt.mstep import (
    Block,
    Priors,
    gradient_and_information,
    log_prior,
    maximise,
    probs_and_jacobian,
)
from competency.irt.quadrature import DEFAULT_BOUND, DEFAULT_POINTS, normal_grid

DEFAULT_GUESS_PRIOR = (5.0, 17.0)  # Beta(20p+1, 20(1−p)+1) for p = 0.2, i.e. 4-option items


class ConvergenceWarning(UserWarning):
    """EM stopped at max_iter before meeting the convergence criteria."""


@dataclass
class FitResult:
    """Result of ``fit``. Parameters and SEs in the IRT form (see ``competency.irt.models``)."""

    model: str | list[str]
    params: dict[str, np.ndarray]
    se: dict[str, np.ndarray]
    loglik: float
    converged: bool
    iterations: int
    latent_sd: float = 1.0
    latent_mean: float = 0.0
    latent_sd_se: float = float("nan")
    log_posterior: float = float("nan")  # loglik + log priors (Bayes-modal EM)
    n_parameters: int = 0
    n_persons: float = 0.0
    n_patterns: int = 0
    cov_irt: np.ndarray | None = None  # (n, K_max + 1, K_max + 1): [a, b_1..b_{K−1}, c] per item
    items: ItemSet | None = field(default=None, repr=False)
    quadrature: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_parameters

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + np.log(self.n_persons) * self.n_parameters


# --------------------------------------------------------------------------- data checks


def _check_items(codes, weights, models, fixed_idx, fixed_ncat) -> np.ndarray:
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


def _fixed_items(fixed, n_items, models) -> dict[int, dict]:
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


def _build_blocks(models, n_cat, codes, weights, fixed_sets, guess_prior) -> list[Block]:
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


# --------------------------------------------------------------------------- the EM engine


class _Engine:
    def __init__(self, blocks, design, counts, n_items, k, nodes, weights, priors, estimate_latent):
        self.blocks, self.design, self.counts = blocks, design, counts
        self.n_items, self.k = n_items, k
        self.z, self.log_w = nodes, np.log(weights)
        self.priors, self.estimate_latent = priors, estimate_latent
        self.mean, self.sd = 0.0, 1.0

    @property
    def theta(self) -> np.ndarray:
        return self.mean + self.sd * self.z

    def log_probs(self) -> tuple[np.ndarray, bool]:
        theta = self.theta
        out = np.zeros((theta.size, self.n_items, self.k))
        ok = True
        for b in self.blocks:
            probs, _ = probs_and_jacobian(b, theta)
            valid = np.arange(probs.shape[2])[None, :] < b.n_categories[:, None]
            ok &= bool(np.all(np.where(valid[None], probs > 0, True))) and bool(np.isfinite(probs).all())
            out[:, b.items, : probs.shape[2]] = estep.safe_log(probs)
        return out, ok

    def prior_total(self) -> float:
        return float(sum(np.sum(log_prior(b, b.eta, self.priors)[b.free]) for b in self.blocks))

    def e_step(self) -> tuple[float, np.ndarray, bool]:
        logp, ok = self.log_probs()
        ll, wpost = estep.posterior(self.design, logp, self.log_w, self.counts)
        return ll, wpost, ok

    def m_step(self, wpost: np.ndarray) -> None:
        r = estep.expected_counts(self.design, wpost, self.n_items, self.k)
        theta = self.theta
        for b in self.blocks:
            maximise(b, theta, r[:, b.items, : _k(b)], self.priors)
        if self.estimate_latent:
            total = wpost.sum()
            post_z = wpost.sum(axis=0) / total
            m_z = float(post_z @ self.z)
            v_z = float(post_z @ (self.z - m_z) ** 2)
            self.mean, self.sd = self.mean + self.sd * m_z, self.sd * np.sqrt(v_z)

    # flat vector of estimated quantities, for convergence checks and SQUAREM
    def vector(self, latent: bool = True) -> np.ndarray:
        parts = [_block_vector(b) for b in self.blocks]
        if latent and self.estimate_latent:
            parts.append(np.array([self.mean, np.log(self.sd)]))
        return np.concatenate(parts) if parts else np.zeros(0)

    def set_vector(self, x: np.ndarray, latent: bool = True) -> None:
        pos = 0
        for b in self.blocks:
            pos = _set_block_vector(b, x, pos)
        if latent and self.estimate_latent:
            self.mean, self.sd = float(x[pos]), float(np.exp(x[pos + 1]))

    def cycle(self, x: np.ndarray) -> tuple[np.ndarray, float, bool]:
        """One EM cycle from x: returns F(x) and the log-posterior at x."""
        self.set_vector(x)
        ll, wpost, ok = self.e_step()
        obj = ll + self.prior_total()
        self.m_step(wpost)
        return self.vector(), obj, ok

    def score(self, x: np.ndarray) -> np.ndarray:
        """Gradient of the log-posterior in the free item parameters (Fisher's identity)."""
        self.set_vector(x, latent=False)
        _, wpost, _ = self.e_step()
        r = estep.expected_counts(self.design, wpost, self.n_items, self.k)
        parts = []
        for b in self.blocks:
            grad, _ = gradient_and_information(b, self.theta, r[:, b.items, : _k(b)], self.priors)
            parts.append(_block_vector(b, grad))
        return np.concatenate(parts)


def _k(b: Block) -> int:
    return 2 if b.kind == "dich" else b.eta.shape[1]


def _block_vector(b: Block, values: np.ndarray | None = None) -> np.ndarray:
    """Estimated parameters of a block as a flat vector; with ``values`` (a gradient) the
    common slope's entry is the sum over items."""
    mask = b.param_mask()
    if b.shared_slope:
        free = mask[:, 0]
        if values is None:
            slope = b.eta[free, 0][:1]
        else:
            slope = np.array([values[free, 0].sum()]) if free.any() else np.zeros(0)
        src = b.eta if values is None else values
        return np.concatenate([slope, src[:, 1][mask[:, 1]]])
    return (b.eta if values is None else values)[mask]


def _set_block_vector(b: Block, x: np.ndarray, pos: int) -> int:
    mask = b.param_mask()
    eta = b.eta.copy()
    if b.shared_slope:
        free = mask[:, 0]
        if free.any():
            eta[free, 0] = x[pos]
            pos += 1
        n = int(mask[:, 1].sum())
        eta[:, 1][mask[:, 1]] = x[pos : pos + n]
        b.eta = eta
        return pos + n
    n = int(mask.sum())
    eta[mask] = x[pos : pos + n]
    b.eta = eta
    return pos + n


def _run_em(engine: _Engine, max_iter: int, tol: float, tol_loglik: float, accelerate: bool):
    """EM cycles, optionally SQUAREM-extrapolated (scheme S3, steplength ≤ −1, with a
    fall-back to the plain double EM step whenever the extrapolation lowers the objective
    or leaves the parameter space). Converged = EM step at the current point below ``tol``
    and relative change of the log-posterior below ``tol_loglik``."""
    x = engine.vector()
    prev_obj = -np.inf
    iterations, converged = 0, False
    while iterations < max_iter:
        if accelerate and iterations + 3 <= max_iter:
            x1, _, _ = engine.cycle(x)
            x2, obj1, _ = engine.cycle(x1)
            r, v = x1 - x, x2 - 2 * x1 + x
            alpha = min(-np.linalg.norm(r) / max(np.linalg.norm(v), 1e-300), -1.0)
            start = x - 2 * alpha * r + alpha**2 * v if np.isfinite(alpha) else x2
            x_new, obj, ok = engine.cycle(start)
            iterations += 3
            if not ok or not np.isfinite(obj) or obj < obj1:
                start = x2
                x_new, obj, _ = engine.cycle(start)
                iterations += 1
        else:
            start = x
            x_new, obj, _ = engine.cycle(start)
            iterations += 1
        step = float(np.max(np.abs(x_new - start))) if x_new.size else 0.0
        change = abs(obj - prev_obj) / (1.0 + abs(obj))
        x, prev_obj = x_new, obj
        if step < tol and change < tol_loglik:
            converged = True
            break
    engine.set_vector(x)
    return converged, iterations


# --------------------------------------------------------------------------- standard errors


def _observed_information(engine: _Engine) -> np.ndarray:
    x0 = engine.vector(latent=False)
    n = x0.size
    hess = np.zeros((n, n))
    for j in range(n):
        h = 1e-4 * max(1.0, abs(x0[j]))
        xp, xm = x0.copy(), x0.copy()
        xp[j] += h
        xm[j] -= h
        hess[:, j] = (engine.score(xp) - engine.score(xm)) / (2 * h)
    engine.set_vector(x0, latent=False)
    return -(hess + hess.T) / 2


def _covariance(engine: _Engine, method: str) -> np.ndarray:
    if method == "louis":
        info = louis_information(engine, _param_index(engine))
    else:
        info = _observed_information(engine)
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.full(info.shape, np.nan)
    if np.any(np.diag(cov) < 0):
        warnings.warn(
            "observed information is not positive definite; some standard errors are NaN",
            ConvergenceWarning,
            stacklevel=3,
        )
    return cov


def _param_index(engine: _Engine) -> list[np.ndarray]:
    """Per block, (m, p) positions of each parameter in the flat vector (−1 = not estimated)."""
    out, pos = [], 0
    for b in engine.blocks:
        mask = b.param_mask()
        idx = np.full(mask.shape, -1)
        if b.shared_slope:
            if mask[:, 0].any():
                idx[mask[:, 0], 0] = pos
                pos += 1
            n = int(mask[:, 1].sum())
            idx[:, 1][mask[:, 1]] = np.arange(pos, pos + n)
            pos += n
        else:
            n = int(mask.sum())
            idx[mask] = np.arange(pos, pos + n)
            pos += n
        out.append(idx)
    return out


def _irt_covariance(engine: _Engine, cov: np.ndarray, k_max: int) -> np.ndarray:
    """Delta method: per-item covariance of [a, b_1..b_{K−1}, c] from the slope–intercept covariance."""
    n_items = engine.n_items
    width = k_max + 1
    out = np.full((n_items, width, width), np.nan)
    for b, idx in zip(engine.blocks, _param_index(engine), strict=True):
        m, p = b.eta.shape
        a = b.eta[:, 0]
        jac = np.zeros((m, width, p))  # d(output)/d(eta)
        jac[:, 0, 0] = 1.0
        steps = 1 if b.kind == "dich" else p - 1
        for s in range(steps):
            d = b.eta[:, 1 + s]
            jac[:, 1 + s, 0] = d / a**2
            jac[:, 1 + s, 1 + s] = -1.0 / a
        if b.has_guess:
            c = expit(b.eta[:, 2])
            jac[:, width - 1, 2] = c * (1 - c)
        safe = np.where(idx >= 0, idx, 0)
        sub = cov[safe[:, :, None], safe[:, None, :]] if cov.size else np.zeros((m, p, p))
        sub = np.where((idx >= 0)[:, :, None] & (idx >= 0)[:, None, :], sub, 0.0)
        out[b.items] = np.einsum("mop,mpr,msr->mos", jac, sub, jac)
    return out


# --------------------------------------------------------------------------- public entry point


def fit(
    responses: ArrayLike,
    model: str | Sequence[str] = "2pl",
    weights: ArrayLike | None = None,
    *,
    fixed: Mapping[int, Mapping[str, ArrayLike]] | None = None,
    slope_prior: tuple[float, float] | None = None,
    guess_prior: tuple[float, float] | None | str = "default",
    quadrature: tuple[int, float] = (DEFAULT_POINTS, DEFAULT_BOUND),
    max_iter: int = 2000,
    tol: float = 1e-4,
    tol_loglik: float = 1e-8,
    accelerate: bool = True,
    se: bool = True,
    se_method: str = "louis",
    estimate_latent: bool | None = None,
) -> FitResult:
    """Calibrate items by marginal maximum likelihood (Bock–Aitkin EM).

    responses: (n_persons, n_items) category numbers 0..K−1, ``np.nan`` = missing.
    model: one of rasch|1pl|2pl|3pl|grm|gpcm, or one name per item (2pl/3pl/grm/gpcm may mix).
    weights: frequency of each row (pattern-frequency tables).
    fixed: ``{item_index: {"a": .., "b": .., "c": .., "thresholds": [..]}}`` in the IRT form;
        those items are held at these values (fixed-item / online calibration).
    slope_prior: lognormal (meanlog, sdlog) on slopes; guess_prior: Beta(α, β) on c for 3pl
        (default Beta(5, 17); None for plain ML). Priors make the EM Bayes-modal.
    quadrature: (points, bound) of the equally spaced normal grid (default 61 on [−6, 6]).
    se_method: "louis" (exact observed information in one pass, default) or "numerical"
        (central differences of the exact score, one E-step per parameter; a cross-check).
    """
    if se_method not in ("louis", "numerical"):
        raise ValueError(f"se_method: expected 'louis' or 'numerical', got {se_method!r}")
    codes = as_response_codes(responses)
    n_rows, n_items = codes.shape
    w = check_weights(weights, n_rows)
    if w.sum() <= 0:
        raise ValueError("weights: all frequencies are zero")
    models = model_list(model, n_items)
    single = len(set(models)) == 1
    if not single and any(m in ("rasch", "1pl") for m in models):
        raise ValueError(
            "model: rasch and 1pl apply to the whole test; they cannot be mixed with other models"
        )
    fixed_sets = _fixed_items(fixed, n_items, models)
    fixed_ncat = {j: int(s.n_categories[0]) for j, s in fixed_sets.items()}
    n_cat = _check_items(codes, w, models, set(fixed_sets), fixed_ncat)
    if len(fixed_sets) == n_items:
        raise ValueError("fixed: every item is fixed; nothing to estimate")
    guess = DEFAULT_GUESS_PRIOR if isinstance(guess_prior, str) else guess_prior
    priors = Priors(slope=_check_prior("slope_prior", slope_prior), guess=_check_prior("guess_prior", guess))

    rasch_as_1pl = models[0] == "rasch" and single and not fixed_sets
    fit_models = ["1pl"] * n_items if rasch_as_1pl else models
    if rasch_as_1pl:
        estimate_latent = False  # the latent SD is the common slope of the equivalent model
    elif estimate_latent is None:
        estimate_latent = bool(fixed_sets)
    elif estimate_latent and not fixed_sets:
        raise ValueError(
            "estimate_latent: the latent mean and SD are identified only with fixed items (fixed=...)"
        )

    patterns, counts, _ = compress_patterns(codes, w)
    design = build_design(patterns, n_cat)
    nodes, qweights = normal_grid(*quadrature)
    blocks = _build_blocks(fit_models, n_cat, codes, w, fixed_sets, priors.guess)
    engine = _Engine(
        blocks, design, counts, n_items, int(n_cat.max()), nodes, qweights, priors, estimate_latent
    )

    converged, iterations = _run_em(engine, max_iter, tol, tol_loglik, accelerate)
    if not converged:
        warnings.warn(
            f"EM did not converge in {max_iter} iterations (tol={tol}); estimates are provisional",
            ConvergenceWarning,
            stacklevel=2,
        )
    for b in engine.blocks:
        if not np.isfinite(b.eta[~np.isnan(b.eta)]).all():
            raise ValueError(f"fit: estimation diverged for items {b.items.tolist()}")

    ll, _, _ = engine.e_step()
    log_post = ll + engine.prior_total()
    k_max = int(n_cat.max())
    n_free = int(engine.vector(latent=False).size) + (2 if engine.estimate_latent else 0)
    cov = _covariance(engine, se_method) if se else np.full((0, 0), np.nan)
    cov_irt = _irt_covariance(engine, cov, k_max) if se else np.full((n_items, k_max + 1, k_max + 1), np.nan)

    items = _items_from_blocks(engine, models, n_cat, k_max)
    latent_sd, latent_sd_se = engine.sd, float("nan")
    if rasch_as_1pl:
        items, cov_irt, latent_sd, latent_sd_se = _rasch_from_1pl(engine, items, cov, cov_irt, k_max)
    params = items.to_params()
    se_dict = _se_dict(items, cov_irt, engine, fixed_sets, rasch=models[0] == "rasch")
    return FitResult(
        model=models[0] if single else list(models),
        params=params,
        se=se_dict,
        loglik=ll,
        converged=converged,
        iterations=iterations,
        latent_sd=float(latent_sd),
        latent_mean=float(engine.mean),
        latent_sd_se=latent_sd_se,
        log_posterior=log_post,
        n_parameters=n_free,
        n_persons=float(w.sum()),
        n_patterns=int(patterns.shape[0]),
        cov_irt=cov_irt,
        items=items,
        quadrature=(engine.theta, qweights),
    )


def _check_prior(name, prior):
    if prior is None:
        return None
    lo, hi = (float(v) for v in prior)
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= 0 or (name == "guess_prior" and lo <= 0):
        raise ValueError(f"{name}: invalid prior parameters {prior!r}")
    return lo, hi


def _items_from_blocks(engine: _Engine, models, n_cat, k_max) -> ItemSet:
    n = engine.n_items
    a, b_, c = np.ones(n), np.full(n, np.nan), np.zeros(n)
    t = np.full((n, max(1, k_max - 1)), np.nan)
    for blk in engine.blocks:
        a[blk.items] = blk.eta[:, 0]
        loc = -blk.eta[:, 1:] / blk.eta[:, :1]
        if blk.kind == "dich":
            b_[blk.items] = loc[:, 0]
            t[blk.items, 0] = loc[:, 0]
            if blk.has_guess:
                c[blk.items] = expit(blk.eta[:, 2])
        else:
            t[blk.items, : loc.shape[1]] = loc
    return ItemSet(tuple(models), a, b_, c, t, n_cat.copy())


def _rasch_from_1pl(engine: _Engine, items: ItemSet, cov, cov_irt, k_max):
    """Common slope σ on N(0,1) ≡ slope 1 on N(0, σ²): b_rasch = σ·b = −d."""
    blk = engine.blocks[0]
    sigma = float(blk.eta[0, 0])
    b = -blk.eta[:, 1]
    new = ItemSet(items.models, np.ones(items.n_items), b, items.c, b[:, None].copy(), items.n_categories)
    idx = _param_index(engine)[0]
    out = np.full_like(cov_irt, np.nan)
    sd_se = float("nan")
    if cov.size:
        var_d = cov[idx[:, 1], idx[:, 1]]
        out[:, 1, 1] = var_d
        sd_se = float(np.sqrt(cov[idx[0, 0], idx[0, 0]]))
    return new, out, sigma, sd_se


def _se_dict(items: ItemSet, cov_irt, engine, fixed_sets, rasch: bool) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore"):
        diag = np.sqrt(np.diagonal(cov_irt, axis1=1, axis2=2))
    params = items.to_params()
    out: dict[str, np.ndarray] = {}
    fixed_rows = np.array(sorted(fixed_sets), dtype=int)
    if "a" in params:
        out["a"] = np.full(items.n_items, np.nan) if rasch else diag[:, 0].copy()
    if "b" in params:
        out["b"] = np.where(np.isnan(params["b"]), np.nan, diag[:, 1])
    if "c" in params:
        out["c"] = np.where(np.array([m == "3pl" for m in items.models]), diag[:, -1], np.nan)
    if "thresholds" in params:
        width = params["thresholds"].shape[1]
        out["thresholds"] = np.where(np.isnan(params["thresholds"]), np.nan, diag[:, 1 : 1 + width])
    for v in out.values():
        if fixed_rows.size:
            v[fixed_rows] = np.nan
    return out
