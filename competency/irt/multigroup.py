"""Two-group calibration with items constrained equal or free across groups, and IRT-LR DIF.

Group 0 (reference) has θ ~ N(0, 1); group 1 (focal) has θ ~ N(μ, σ²) with μ and σ estimated,
identified by the items constrained equal (the anchors). A free item is calibrated separately in
each group: its column is split into one column per group, each missing for the other group's
rows, so the same Bock–Aitkin engine (61 nodes on [−6, 6], SQUAREM) does the work; the two
groups share the grid and differ only in their prior weights.

``irt_lr_dif`` tests every item by the likelihood ratio of nested models (G², df = the item's
parameter count). Anchors are chosen by Woods' (2009) rank method unless given: each item is
first tested with all other items as anchors, and the ``n_anchors`` items with the smallest G²
(default 20 % of the test, at least 2) become the anchors; then each remaining item is tested
against the model in which only the anchors are constrained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import chi2

from competency.irt import estep
from competency.irt.calibration_input import build_blocks, check_items
from competency.irt.data import MISSING, as_response_codes, build_design, compress_patterns
from competency.irt.em import _block_vector, _set_block_vector, run_em
from competency.irt.items import model_list
from competency.irt.mstep import Priors, maximise, probs_and_jacobian
from competency.irt.quadrature import normal_grid

__all__ = ["MultigroupResult", "fit_multigroup", "irt_lr_dif"]


@dataclass
class MultigroupResult:
    loglik: float
    focal_mean: float
    focal_sd: float
    params: dict[str, np.ndarray]  # reference-group parameters per original item (IRT form)
    focal_params: dict[
        str, np.ndarray
    ]  # focal-group parameters (equal to the reference for constrained items)
    free: tuple[int, ...]
    converged: bool
    iterations: int
    n_parameters: int


class _Engine:
    def __init__(self, blocks, groups_data, n_cols, k, z, w):
        self.blocks, self.groups_data = blocks, groups_data
        self.n_items, self.k = n_cols, k
        self.theta, self.log_w = z, np.log(w)
        self.mean, self.sd = 0.0, 1.0

    def _focal_log_prior(self):
        lp = -0.5 * ((self.theta - self.mean) / self.sd) ** 2
        return lp - np.logaddexp.reduce(lp)

    def vector(self, latent: bool = True):
        parts = [_block_vector(b) for b in self.blocks]
        if latent:
            parts.append(np.array([self.mean, np.log(self.sd)]))
        return np.concatenate(parts)

    def set_vector(self, x, latent: bool = True):
        pos = 0
        for b in self.blocks:
            pos = _set_block_vector(b, x, pos)
        if latent:
            self.mean, self.sd = float(x[pos]), float(np.exp(x[pos + 1]))

    def e_step(self):
        logp = np.zeros((self.theta.size, self.n_items, self.k))
        ok = True
        for b in self.blocks:
            probs, _ = probs_and_jacobian(b, self.theta)
            ok &= bool(np.isfinite(probs).all())
            logp[:, b.items, : probs.shape[2]] = estep.safe_log(probs)
        ll, r = 0.0, np.zeros_like(logp)
        mass = np.zeros(self.theta.size)
        for g, (design, counts) in enumerate(self.groups_data):
            prior = self.log_w if g == 0 else self._focal_log_prior()
            part, wpost = estep.posterior(design, logp, prior, counts)
            ll += part
            r += estep.expected_counts(design, wpost, self.n_items, self.k)
            if g == 1:
                mass = wpost.sum(axis=0)
        return ll, r, mass, ok

    def cycle(self, x):
        self.set_vector(x)
        if not (np.isfinite(self.mean) and np.isfinite(self.sd) and self.sd > 0):
            return x, -np.inf, False
        ll, r, mass, ok = self.e_step()
        for b in self.blocks:
            k = 2 if b.kind == "dich" else b.eta.shape[1]
            maximise(b, self.theta, r[:, b.items, :k], Priors())
        m = mass / mass.sum()
        self.mean = float(m @ self.theta)
        self.sd = float(np.sqrt(m @ (self.theta - self.mean) ** 2))
        return self.vector(), ll, ok and np.isfinite(ll)


def fit_multigroup(
    responses: ArrayLike,
    groups: ArrayLike,
    model: str | Sequence[str] = "2pl",
    free: Sequence[int] = (),
    *,
    max_iter: int = 2000,
    tol: float = 1e-4,
    tol_loglik: float = 1e-8,
    start: MultigroupResult | None = None,
) -> MultigroupResult:
    """Two-group MML-EM; ``free`` items get separate parameters per group, the others are equal."""
    codes = as_response_codes(responses)
    g = np.asarray(groups).ravel()
    if g.shape != (codes.shape[0],) or not np.isin(g, (0, 1)).all():
        raise ValueError("groups: need 0 (reference) or 1 (focal) for every response row")
    if np.sum(g == 1) == 0 or np.sum(g == 0) == 0:
        raise ValueError("groups: both groups need persons")
    n_items = codes.shape[1]
    models = model_list(model, n_items)
    free = tuple(sorted({int(j) for j in free}))
    if len(free) == n_items:
        raise ValueError("free: at least one item must be constrained equal across groups (an anchor)")
    extra = codes[:, list(free)].copy()
    wide = codes.copy()
    wide[np.ix_(g == 1, list(free))] = MISSING
    extra[g == 0] = MISSING
    wide = np.hstack([wide, extra])
    wide_models = list(models) + [models[j] for j in free]
    ones = np.ones(wide.shape[0])
    n_cat = check_items(wide, ones, wide_models, set(), {})
    blocks = build_blocks(wide_models, n_cat, wide, ones, {}, None)
    data = []
    for grp in (0, 1):
        pat, counts, _ = compress_patterns(np.ascontiguousarray(wide[g == grp]), ones[g == grp])
        data.append((build_design(pat, n_cat), counts))
    z, w = normal_grid()
    engine = _Engine(blocks, data, wide.shape[1], int(n_cat.max()), z, w)
    if start is not None:  # warm start from a nested model's estimates
        for b in blocks:
            eta = b.eta.copy()
            for r, col in enumerate(b.items):
                src = start.params if col < n_items else start.focal_params
                j = col if col < n_items else free[col - n_items]
                a, t = src["a"][j], src["thresholds"][j]
                kk = int(b.n_categories[r])
                eta[r, 0], eta[r, 1:kk] = a, -a * t[: kk - 1]
            b.eta = eta
        engine.mean, engine.sd = start.focal_mean, start.focal_sd
    converged, iterations = run_em(engine, max_iter, tol, tol_loglik, True)
    ll, *_ = engine.e_step()
    ref, foc = _params(engine, wide_models, n_cat, n_items, free)
    return MultigroupResult(
        loglik=ll,
        focal_mean=engine.mean,
        focal_sd=engine.sd,
        params=ref,
        focal_params=foc,
        free=free,
        converged=converged,
        iterations=iterations,
        n_parameters=int(engine.vector().size),
    )


def _params(engine, wide_models, n_cat, n_items, free):
    n = len(wide_models)
    k_max = int(n_cat.max())
    a = np.ones(n)
    t = np.full((n, max(1, k_max - 1)), np.nan)
    for blk in engine.blocks:
        a[blk.items] = blk.eta[:, 0]
        loc = -blk.eta[:, 1:] / blk.eta[:, :1]
        t[blk.items, : loc.shape[1]] = loc
    ref = {"a": a[:n_items].copy(), "thresholds": t[:n_items].copy()}
    foc = {"a": a[:n_items].copy(), "thresholds": t[:n_items].copy()}
    for i, j in enumerate(free):
        foc["a"][j], foc["thresholds"][j] = a[n_items + i], t[n_items + i]
    for p in (ref, foc):
        p["b"] = p["thresholds"][:, 0].copy()
    return ref, foc


def _n_item_params(model: str, n_cat: int) -> int:
    return n_cat if model in ("2pl", "grm", "gpcm") else 1


def irt_lr_dif(
    responses: ArrayLike,
    groups: ArrayLike,
    model: str | Sequence[str] = "2pl",
    *,
    anchors: Sequence[int] | None = None,
    n_anchors: int | None = None,
    alpha: float = 0.05,
) -> dict:
    """IRT likelihood-ratio DIF per item: ``{"chi2", "df", "p_value", "flag", "anchors", "delta_b",
    "delta_a", "focal_mean", "focal_sd", "anchor_method"}``. Rows whose group is not 0/1 are dropped."""
    codes = as_response_codes(responses)
    g = np.asarray(groups).ravel()
    keep = np.isin(g, (0, 1))
    codes, g = codes[keep], g[keep].astype(int)
    n_items = codes.shape[1]
    models = model_list(model, n_items)
    n_cat = np.array(
        [int(np.nanmax(np.where(codes[:, j] == MISSING, 0, codes[:, j]))) + 1 for j in range(n_items)]
    )
    df = np.array([_n_item_params(models[j], n_cat[j]) for j in range(n_items)])
    method = "given"
    if anchors is None:
        method = "Woods (2009) rank: smallest all-others-as-anchors G²"
        base = fit_multigroup(codes, g, models)
        stat = np.array(
            [
                2 * (fit_multigroup(codes, g, models, [j], start=base).loglik - base.loglik)
                for j in range(n_items)
            ]
        )
        k = n_anchors or max(2, int(np.ceil(0.2 * n_items)))
        anchors = [int(j) for j in np.argsort(stat)[:k]]
    anchors = sorted({int(j) for j in anchors})
    studied = [j for j in range(n_items) if j not in anchors]
    full = fit_multigroup(codes, g, models, studied)
    out_chi = np.full(n_items, np.nan)
    for j in studied:
        constrained = fit_multigroup(codes, g, models, [s for s in studied if s != j], start=full)
        out_chi[j] = max(0.0, 2 * (full.loglik - constrained.loglik))
    p = np.where(np.isnan(out_chi), np.nan, chi2.sf(np.nan_to_num(out_chi), df))
    return {
        "chi2": out_chi,
        "df": np.where(np.isnan(out_chi), 0, df),
        "p_value": p,
        "flag": np.nan_to_num(p, nan=1.0) < alpha,
        "anchors": anchors,
        "anchor_method": method,
        "delta_b": full.focal_params["b"] - full.params["b"],
        "delta_a": full.focal_params["a"] - full.params["a"],
        "focal_mean": full.focal_mean,
        "focal_sd": full.focal_sd,
    }
