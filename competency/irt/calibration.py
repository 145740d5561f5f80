"""Marginal maximum likelihood calibration (Bock–Aitkin EM) with priors, weights and fixed items.

``fit`` works on compressed response patterns: identical rows are merged and their
frequencies summed, so every E-step costs O(n_patterns × n_item_columns × Q). The
M-step is Fisher scoring for every item at once (``mstep``). Optional SQUAREM
acceleration (Varadhan & Roland, 2008) extrapolates the EM map. Convergence needs
both the largest change of an estimated parameter (slope–intercept form; the 3PL
lower asymptote on the c scale, not its logit) below ``tol`` and the relative change of
the log-likelihood below ``tol_loglik``.

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
from scipy.special import expit

from competency.irt.calibration_input import build_blocks, check_items, fixed_item_sets
from competency.irt.data import as_response_codes, build_design, check_weights, compress_patterns
from competency.irt.em import ConvergenceWarning, Engine, param_index, run_em
from competency.irt.items import ItemSet, model_list
from competency.irt.mstep import Priors
from competency.irt.quadrature import DEFAULT_BOUND, DEFAULT_POINTS, normal_grid
from competency.irt.standard_errors import covariance, irt_covariance

DEFAULT_GUESS_PRIOR = (5.0, 17.0)  # Beta(20p+1, 20(1−p)+1) for p = 0.2, i.e. 4-option items

__all__ = ["DEFAULT_GUESS_PRIOR", "ConvergenceWarning", "FitResult", "fit"]


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
    fixed_sets = fixed_item_sets(fixed, n_items, models)
    fixed_ncat = {j: int(s.n_categories[0]) for j, s in fixed_sets.items()}
    n_cat = check_items(codes, w, models, set(fixed_sets), fixed_ncat)
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
    blocks = build_blocks(fit_models, n_cat, codes, w, fixed_sets, priors.guess)
    engine = Engine(
        blocks, design, counts, n_items, int(n_cat.max()), nodes, qweights, priors, estimate_latent
    )

    converged, iterations = run_em(engine, max_iter, tol, tol_loglik, accelerate)
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
    cov = covariance(engine, se_method) if se else np.full((0, 0), np.nan)
    cov_irt = irt_covariance(engine, cov, k_max) if se else np.full((n_items, k_max + 1, k_max + 1), np.nan)

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


def _items_from_blocks(engine: Engine, models, n_cat, k_max) -> ItemSet:
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


def _rasch_from_1pl(engine: Engine, items: ItemSet, cov, cov_irt, k_max):
    """Common slope σ on N(0,1) ≡ slope 1 on N(0, σ²): b_rasch = σ·b = −d."""
    blk = engine.blocks[0]
    sigma = float(blk.eta[0, 0])
    b = -blk.eta[:, 1]
    new = ItemSet(items.models, np.ones(items.n_items), b, items.c, b[:, None].copy(), items.n_categories)
    idx = param_index(engine)[0]
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
