"""Multidimensional calibration: between-item structure, correlated factors, MML-EM.

Each item measures exactly one dimension (``dimension[j]``); the latent vector is
θ ~ N(0, R) with unit variances and an estimated correlation matrix R. Item models are
the unidimensional ones on their own dimension (``2pl``, ``grm``, ``gpcm``; IRT form,
logistic, D = 1), so the item parameters read exactly like ``fit``'s.

Integration over θ uses nodes θ_q = L·z_q (R = L·Lᵀ) on fixed standard-normal points z_q:

* ``"product"``: the product of equally spaced normal grids (default for ≤ 3 dimensions:
  61, 31 and 15 points per dimension);
* ``"qmc"``: scrambled Sobol points mapped through the normal quantile (quasi-Monte Carlo EM,
  default for 4 or more dimensions; 4,096 points, equal weights).

The nodes follow R, so a strong correlation does not leave most of the grid where the
prior has no mass. The M-step for items is the unidimensional Fisher scoring of
``mstep`` on each dimension's coordinate of the nodes; the M-step for the latent
distribution is parameter-expanded (Liu, Rubin & Wu, 1998): the covariance S of θ is
estimated freely, then R = D⁻¹SD⁻¹ and each slope is multiplied by its dimension's SD,
which leaves the likelihood unchanged and speeds EM up. SQUAREM accelerates the map.

Standard errors come from the cross-product of the per-person scores (Fisher's identity;
mirt's ``SE.type = "crossprod"``), which is consistent and needs one extra E-step pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize
from scipy.special import logsumexp
from scipy.stats import norm, qmc

from competency.irt import estep
from competency.irt.calibration_input import build_blocks, check_items
from competency.irt.data import MISSING, as_response_codes, build_design, check_weights, compress_patterns
from competency.irt.em import _block_vector, _set_block_vector, param_index, run_em
from competency.irt.items import ItemSet, model_list
from competency.irt.mstep import Block, Priors, maximise, probs_and_jacobian
from competency.irt.quadrature import normal_grid

MODELS = ("2pl", "grm", "gpcm")
PRODUCT_POINTS = {1: 61, 2: 31, 3: 15}
QMC_POINTS = 4096
_CHUNK_CELLS = 4_000_000  # patterns × nodes per E-step chunk (≈ 32 MB of float64)

__all__ = ["MultidimResult", "fit_multidim", "nodes_and_weights"]


@dataclass
class MultidimResult:
    """Result of ``fit_multidim``; item parameters and SEs in the IRT form."""

    model: list[str]
    dimension: np.ndarray  # (n_items,) dimension index of each item
    params: dict[str, np.ndarray]  # "a", "b" (NaN for polytomous), "thresholds" (n, K−1)
    se: dict[str, np.ndarray]
    correlation: np.ndarray  # (D, D)
    correlation_se: np.ndarray  # (D, D), NaN on the diagonal
    loglik: float
    converged: bool
    iterations: int
    quadrature: str
    n_nodes: int
    n_persons: float
    n_parameters: int
    items: ItemSet | None = field(default=None, repr=False)

    @property
    def n_dimensions(self) -> int:
        return int(self.correlation.shape[0])

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_parameters

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + np.log(self.n_persons) * self.n_parameters


def nodes_and_weights(dims: int, method: str = "auto", points: int | None = None, seed: int = 0):
    """Standard-normal nodes z (Q, D) and weights (Q,) summing to one."""
    if method == "auto":
        method = "product" if dims <= 3 else "qmc"
    if method == "product":
        n = int(points or PRODUCT_POINTS.get(dims, 9))
        bound = 6.0 if dims == 1 else 5.0
        z1, w1 = normal_grid(n, bound)
        mesh = np.meshgrid(*([z1] * dims), indexing="ij")
        z = np.stack([m.ravel() for m in mesh], axis=1)
        wm = np.meshgrid(*([w1] * dims), indexing="ij")
        w = np.prod(np.stack([m.ravel() for m in wm], axis=1), axis=1)
        return z, w / w.sum(), "product"
    if method == "qmc":
        n = int(points or QMC_POINTS)
        u = qmc.Sobol(d=dims, scramble=True, seed=seed).random(n)
        z = norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))
        return z, np.full(n, 1.0 / n), "qmc"
    raise ValueError(f"quadrature: expected 'auto', 'product' or 'qmc', got {method!r}")


class _Engine:
    """EM state for run_em: item blocks (one per dimension and item kind) and R.

    Nodes θ_q = L₀·z_q are fixed within a stage (L₀ = chol of the stage's starting R₀), and the
    prior over them is π_q(R) ∝ w_q·φ_R(θ_q)/φ_R₀(θ_q): a discrete distribution, so each M-step
    maximises exactly the expected complete-data log-likelihood and EM (hence SQUAREM's
    safeguard) is monotone. Between stages the nodes are moved to the current R (``recentre``).
    """

    def __init__(self, blocks, block_dim, chunks, n_items, k, z, w):
        self.blocks, self.block_dim, self.chunks = blocks, block_dim, chunks
        self.n_items, self.k = n_items, k
        self.z, self.log_w0 = z, np.log(w)
        self.dims = z.shape[1]
        self.iu = np.triu_indices(self.dims, 1)
        self.corr = np.eye(self.dims)
        self.recentre()

    def recentre(self) -> None:
        self.theta = self.z @ np.linalg.cholesky(self.corr).T
        self.log_c = self.log_w0 - _log_mvn(self.theta, self.corr)

    def log_prior(self, corr: np.ndarray) -> np.ndarray:
        lp = self.log_c + _log_mvn(self.theta, corr)
        return lp - logsumexp(lp)

    def vector(self, latent: bool = True) -> np.ndarray:
        parts = [_block_vector(b) for b in self.blocks]
        if latent:
            parts.append(self.corr[self.iu])
        return np.concatenate(parts)

    def set_vector(self, x: np.ndarray, latent: bool = True) -> None:
        pos = 0
        for b in self.blocks:
            pos = _set_block_vector(b, x, pos)
        if latent:
            corr = np.eye(self.dims)
            corr[self.iu] = x[pos:]
            corr.T[self.iu] = x[pos:]
            self.corr = corr

    def _log_probs(self, theta: np.ndarray) -> tuple[np.ndarray, bool]:
        out = np.zeros((theta.shape[0], self.n_items, self.k))
        ok = True
        for b, d in zip(self.blocks, self.block_dim, strict=True):
            probs, _ = probs_and_jacobian(b, theta[:, d])
            valid = np.arange(probs.shape[2])[None, :] < b.n_categories[:, None]
            ok &= bool(np.all(np.where(valid[None], probs > 0, True))) and bool(np.isfinite(probs).all())
            out[:, b.items, : probs.shape[2]] = estep.safe_log(probs)
        return out, ok

    def e_step(self):
        """Log-likelihood, expected counts (Q, n, K) and posterior mass per node (Q,)."""
        logp, ok = self._log_probs(self.theta)
        log_prior = self.log_prior(self.corr)
        q = self.theta.shape[0]
        ll, r, mass = 0.0, np.zeros((q, self.n_items, self.k)), np.zeros(q)
        for design, counts, _ in self.chunks:
            part, wpost = estep.posterior(design, logp, log_prior, counts)
            ll += part
            r += estep.expected_counts(design, wpost, self.n_items, self.k)
            mass += wpost.sum(axis=0)
        return ll, r, mass, ok

    def cycle(self, x: np.ndarray):
        try:
            self.set_vector(x)
            np.linalg.cholesky(self.corr)
        except np.linalg.LinAlgError:
            return x, -np.inf, False
        ll, r, mass, ok = self.e_step()
        for b, d in zip(self.blocks, self.block_dim, strict=True):
            maximise(b, self.theta[:, d], r[:, b.items, : _k(b)], Priors())
        self.corr = self._maximise_corr(mass)
        return self.vector(), ll, ok and np.isfinite(ll)

    def _maximise_corr(self, mass: np.ndarray) -> np.ndarray:
        """argmax_R Σ_q m_q·log π_q(R) over correlation matrices (rows of a unit-length Cholesky factor)."""
        if self.dims == 1:
            return self.corr

        def neg(v):
            return -float(mass @ self.log_prior(_corr_from_free(v, self.dims)))

        res = minimize(neg, _free_from_corr(self.corr), method="BFGS", options={"gtol": 1e-8})
        return _corr_from_free(res.x, self.dims)


def _log_mvn(theta: np.ndarray, corr: np.ndarray) -> np.ndarray:
    chol = np.linalg.cholesky(corr)
    u = np.linalg.solve(chol, theta.T)
    return -0.5 * np.sum(u**2, axis=0) - np.sum(np.log(np.diag(chol)))


def _corr_from_free(v: np.ndarray, dims: int) -> np.ndarray:
    low = np.eye(dims)
    low[np.tril_indices(dims, -1)] = v
    low /= np.linalg.norm(low, axis=1, keepdims=True)
    return low @ low.T


def _free_from_corr(corr: np.ndarray) -> np.ndarray:
    dims = corr.shape[0]
    low = np.linalg.cholesky(corr)
    low = low / np.diag(low)[:, None]
    return low[np.tril_indices(dims, -1)]


def _k(b: Block) -> int:
    return 2 if b.kind == "dich" else b.eta.shape[1]


def fit_multidim(
    responses: ArrayLike,
    dimension: Sequence[int] | ArrayLike,
    model: str | Sequence[str] = "2pl",
    weights: ArrayLike | None = None,
    *,
    quadrature: str = "auto",
    points: int | None = None,
    max_iter: int = 2000,
    tol: float = 1e-4,
    tol_loglik: float = 1e-8,
    accelerate: bool = True,
    se: bool = True,
    seed: int = 0,
) -> MultidimResult:
    """Between-item multidimensional MML-EM with correlated factors (variances fixed at 1).

    responses: (n_persons, n_items) categories 0..K−1, NaN = missing (any design).
    dimension: the dimension index (0..D−1) of each item; every dimension needs ≥ 2 items.
    model: ``2pl``, ``grm`` or ``gpcm``, or one per item.
    quadrature: ``"product"``, ``"qmc"`` or ``"auto"`` (product for ≤ 3 dimensions).
    """
    codes = as_response_codes(responses)
    n_rows, n_items = codes.shape
    dim = np.asarray(dimension, dtype=int).ravel()
    if dim.shape != (n_items,):
        raise ValueError(f"dimension: expected {n_items} entries (one per item), got {dim.size}")
    if dim.min() < 0:
        raise ValueError(f"dimension: item {int(np.argmin(dim))} has a negative dimension index")
    dims = int(dim.max()) + 1
    per_dim = np.bincount(dim, minlength=dims)
    if (per_dim < 2).any():
        d = int(np.flatnonzero(per_dim < 2)[0])
        raise ValueError(f"dimension: dimension {d} has {per_dim[d]} item(s); each needs at least 2")
    models = model_list(model, n_items)
    bad = [m for m in models if m not in MODELS]
    if bad:
        raise ValueError(f"model: multidimensional calibration supports {', '.join(MODELS)}, got {bad[0]!r}")
    w = check_weights(weights, n_rows)
    n_cat = check_items(codes, w, models, set(), {})
    patterns, counts, _ = compress_patterns(codes, w)
    keep = counts > 0
    patterns, counts = patterns[keep], counts[keep]
    z, qw, method = nodes_and_weights(dims, quadrature, points, seed)

    blocks: list[Block] = []
    block_dim: list[int] = []
    for d in range(dims):
        items_d = np.flatnonzero(dim == d)
        sub = build_blocks([models[j] for j in items_d], n_cat[items_d], codes[:, items_d], w, {}, None)
        for b in sub:
            b.items = items_d[b.items]
            blocks.append(b)
            block_dim.append(d)
    step = max(1, _CHUNK_CELLS // z.shape[0])
    chunks = []
    for lo in range(0, patterns.shape[0], step):
        part = patterns[lo : lo + step]
        chunks.append((build_design(part, n_cat), counts[lo : lo + step], part))
    engine = _Engine(blocks, block_dim, chunks, n_items, int(n_cat.max()), z, qw)
    iterations = 0
    if dims > 1:
        # a first pass with nodes for R = I, then the nodes are moved to the estimated R
        _, iterations = run_em(engine, min(max_iter, 100), max(tol, 1e-2), max(tol_loglik, 1e-5), accelerate)
        engine.recentre()
    converged, more = run_em(engine, max(max_iter - iterations, 1), tol, tol_loglik, accelerate)
    iterations += more
    for b in engine.blocks:
        if not np.isfinite(b.eta[~np.isnan(b.eta)]).all():
            raise ValueError(f"fit_multidim: estimation diverged for items {b.items.tolist()}")
    ll, *_ = engine.e_step()
    n_free = int(engine.vector().size)
    k_max = int(n_cat.max())
    items = _item_set(engine, models, n_cat, k_max)
    cov = _crossprod_covariance(engine) if se else None
    se_items, corr_se = _standard_errors(engine, cov, n_items, k_max)
    params = items.to_params()
    se_dict = {"a": se_items[:, 0]}
    if "b" in params:
        se_dict["b"] = np.where(np.isnan(params["b"]), np.nan, se_items[:, 1])
    if "thresholds" in params:
        width = params["thresholds"].shape[1]
        se_dict["thresholds"] = np.where(np.isnan(params["thresholds"]), np.nan, se_items[:, 1 : 1 + width])
    return MultidimResult(
        model=list(models),
        dimension=dim.copy(),
        params=params,
        se=se_dict,
        correlation=engine.corr.copy(),
        correlation_se=corr_se,
        loglik=ll,
        converged=converged,
        iterations=iterations,
        quadrature=method,
        n_nodes=int(z.shape[0]),
        n_persons=float(w.sum()),
        n_parameters=n_free,
        items=items,
    )


def _item_set(engine: _Engine, models, n_cat, k_max) -> ItemSet:
    n = engine.n_items
    a, b_ = np.ones(n), np.full(n, np.nan)
    t = np.full((n, max(1, k_max - 1)), np.nan)
    for blk in engine.blocks:
        a[blk.items] = blk.eta[:, 0]
        loc = -blk.eta[:, 1:] / blk.eta[:, :1]
        if blk.kind == "dich":
            b_[blk.items] = loc[:, 0]
            t[blk.items, 0] = loc[:, 0]
        else:
            t[blk.items, : loc.shape[1]] = loc
    return ItemSet(tuple(models), a, b_, np.zeros(n), t, n_cat.copy())


def _crossprod_covariance(engine: _Engine) -> np.ndarray:
    """Inverse of Σ_p n_p·s_p·s_pᵀ, s_p the gradient of log P(x_p) (Fisher's identity)."""
    theta = engine.theta
    logp, _ = engine._log_probs(theta)
    idx = param_index(engine)
    n_item_par = int(engine.vector(latent=False).size)
    rinv = np.linalg.inv(engine.corr)
    iu = engine.iu
    # d log φ_R(θ)/dρ_kl = u_k·u_l − (R⁻¹)_kl with u = R⁻¹θ (ρ_kl sits at (k, l) and (l, k))
    u = theta @ rinv
    dcorr = u[:, iu[0]] * u[:, iu[1]] - rinv[iu][None, :]
    log_prior = engine.log_prior(engine.corr)
    dcorr -= np.exp(log_prior) @ dcorr  # the normaliser of the discrete prior π(R)
    jacs = []
    for b, d in zip(engine.blocks, engine.block_dim, strict=True):
        probs, jac = probs_and_jacobian(b, theta[:, d])
        valid = np.arange(probs.shape[2])[None, :] < b.n_categories[:, None]
        jacs.append(np.where(valid[None, :, :, None], jac / np.maximum(probs, 1e-300)[..., None], 0.0))
    info = np.zeros((n_item_par + dcorr.shape[1],) * 2)
    for design, counts, patterns in engine.chunks:
        _, post = estep.posterior(design, logp, log_prior, np.ones(counts.size))
        scores = np.zeros((counts.size, info.shape[0]))
        for b, g, pos in zip(engine.blocks, jacs, idx, strict=True):
            q, m, k, p = g.shape
            avg = (post @ g.reshape(q, -1)).reshape(-1, m, k, p)  # E[∂ log P_jk / ∂η | x]
            cats = patterns[:, b.items]
            onehot = (cats[:, :, None] == np.arange(k)[None, None, :]) & (cats != MISSING)[:, :, None]
            per_item = np.einsum("nmk,nmkp->nmp", onehot.astype(float), avg)
            mask = pos >= 0
            np.add.at(scores, (slice(None), pos[mask]), per_item[:, mask])
        scores[:, n_item_par:] = post @ dcorr
        info += (scores * counts[:, None]).T @ scores
    try:
        return np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(info)


def _standard_errors(engine: _Engine, cov, n_items: int, k_max: int):
    se_items = np.full((n_items, k_max), np.nan)
    dims = engine.dims
    corr_se = np.full((dims, dims), np.nan)
    if cov is None:
        return se_items, corr_se
    idx = param_index(engine)
    for b, pos in zip(engine.blocks, idx, strict=True):
        for r, j in enumerate(b.items):
            a = b.eta[r, 0]
            ia = pos[r, 0]
            se_items[j, 0] = np.sqrt(cov[ia, ia])
            for c in range(1, int(b.n_categories[r])):
                ic, dval = pos[r, c], b.eta[r, c]
                grad = np.array([dval / a**2, -1.0 / a])  # b = −d/a
                sub = cov[np.ix_([ia, ic], [ia, ic])]
                se_items[j, c] = np.sqrt(grad @ sub @ grad)
    base = int(engine.vector(latent=False).size)
    var = np.diag(cov)[base:]
    corr_se[engine.iu] = np.sqrt(np.maximum(var, 0.0))
    corr_se.T[engine.iu] = corr_se[engine.iu]
    return se_items, corr_se
