"""Ability estimators: one interface, ``estimate(sessions, rows) -> (theta (r, D), cov (r, D, D))``.

The log-likelihood of every session is kept per dimension on the θ grid (items load on one
dimension each, so it factorises). Choices, and why:

* EAP, one dimension: rectangular quadrature on the grid (121 points on ±6 by default; error far
  below 1e-6 for posteriors with SD ≥ 0.1). The prior is N(prior_mean, prior_sd²).
* MAP / ML: Newton's method on a local quadratic model of the gridded log-likelihood (derivatives
  from the three nearest grid values). SE = 1/sqrt(observed information [+ prior precision]).
  ML is used only once a dimension's responses vary (not all lowest, not all highest category);
  before that the EAP estimate stands in (finite ML does not exist then).
* Multidimensional (between-item model, correlated normal prior): "map" is the Laplace
  approximation (mode by Newton on the joint posterior; covariance = inverse negative Hessian,
  i.e. likelihood curvature per dimension plus prior precision). "eap" refines it with adaptive
  Gauss–Hermite quadrature: a q**D product rule centred at the mode and scaled by the Cholesky
  factor of the Laplace covariance (q = gh_points; 3**5 = 243 nodes for five dimensions). A full
  5-D grid would need 121**5 points; this needs 243 and is exact for Gaussian-times-quintic
  integrands. tests/cat/test_mcat.py validates both against brute-force quadrature.
"""

from __future__ import annotations

from itertools import product
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from .sessions import Sessions

Arr = NDArray[np.float64]


class Estimator(Protocol):
    def estimate(self, s: Sessions, rows: NDArray[np.intp]) -> tuple[Arr, Arr]: ...


def log_prior_grid(s: Sessions) -> Arr:
    """log N(θ; μ, σ²) on the grid (one dimension), up to a constant."""
    g = s.bank.grid.theta
    return -0.5 * ((g - s.prior.mean[0]) / s.prior.sd[0]) ** 2


def _unnormalised(s: Sessions, rows: NDArray[np.intp]) -> Arr:
    last = s.last_loglik
    if last is not None and last[0] is rows:
        lp = last[1]  # the rows' log-likelihood just gathered by Sessions.record
        s.last_loglik = None
        lp += s.log_prior
    else:
        lp = s.loglik[rows, 0, :]
        lp += s.log_prior  # lp is a fresh copy (fancy indexing), so in-place is safe
    lp -= lp.max(axis=1, keepdims=True)
    return np.exp(lp, out=lp)


def posterior_weights(s: Sessions, rows: NDArray[np.intp]) -> Arr:
    """Normalised grid posterior (r, G) for a one-dimensional test."""
    w = _unnormalised(s, rows)
    return w / w.sum(axis=1, keepdims=True)


class EAPGrid:
    def estimate(self, s: Sessions, rows: NDArray[np.intp]) -> tuple[Arr, Arr]:
        w = _unnormalised(s, rows)
        # three mat-vecs: a (G, 3) mat-mat product is several times slower here
        z = w.sum(axis=1, dtype=np.float64)
        mean = (w @ s.grid32).astype(np.float64) / z
        var = (w @ s.grid_sq32).astype(np.float64) / z - mean * mean
        return mean[:, None], np.maximum(var, 1e-12)[:, None, None]


def local_derivatives(s: Sessions, rows: NDArray[np.intp], theta: Arr) -> tuple[Arr, Arr, Arr]:
    """Value, slope and curvature of each dimension's log-likelihood at theta (r, D)."""
    grid = s.bank.grid
    m, t = grid.nearest(theta)
    ll = s.loglik  # indexed in place: rows may repeat (quadrature nodes), so never copy ll[rows]
    r_idx = rows[:, None]
    d_idx = np.arange(s.dims)[None, :]
    lo, mid, hi = (ll[r_idx, d_idx, k].astype(np.float64) for k in (m - 1, m, m + 1))
    h = grid.step
    d1 = (hi - lo) / (2 * h)
    d2 = (hi - 2 * mid + lo) / (h * h)
    return mid + t * d1 + 0.5 * t * t * d2, d1 + t * d2, d2


def newton_mode(s: Sessions, rows: NDArray[np.intp], start: Arr, use_prior: bool) -> tuple[Arr, Arr]:
    """Mode of log-likelihood (+ log prior) and the inverse negative Hessian there."""
    theta = start.copy()
    bound = s.bank.grid.bound
    prec = s.prior.precision if use_prior else np.zeros((s.dims, s.dims))
    eye = np.eye(s.dims)
    for _ in range(40):
        _, g1, g2 = local_derivatives(s, rows, theta)
        # Log-likelihoods of 3PL items can be locally convex; keep the Hessian negative definite.
        curv = np.minimum(g2, -1e-6)
        grad = g1
        if use_prior:
            grad = grad - (theta - s.prior.mean) @ prec
        neg_h = prec[None] - curv[:, :, None] * eye[None]
        step = np.linalg.solve(neg_h, grad[:, :, None])[:, :, 0]
        # minimum/maximum: np.clip's dispatch costs more than the work on these tiny arrays
        step = np.minimum(np.maximum(step, -1.0), 1.0)
        theta = np.minimum(np.maximum(theta + step, -bound), bound)
        if np.max(np.abs(step), initial=0.0) < 1e-8:
            break
    _, _, g2 = local_derivatives(s, rows, theta)
    neg_h = prec[None] - np.minimum(g2, -1e-6)[:, :, None] * eye[None]
    return theta, np.linalg.inv(neg_h)


class MAPNewton:
    def estimate(self, s: Sessions, rows: NDArray[np.intp]) -> tuple[Arr, Arr]:
        start = s.theta[rows] if s.dims > 1 else EAPGrid().estimate(s, rows)[0]
        return newton_mode(s, rows, start, use_prior=True)


class MLNewton:
    """ML once responses vary on the dimension; EAP before that."""

    def estimate(self, s: Sessions, rows: NDArray[np.intp]) -> tuple[Arr, Arr]:
        theta, cov = EAPGrid().estimate(s, rows)
        varied = (s.nonmin[rows, 0] & s.nonmax[rows, 0]).nonzero()[0]
        if varied.size:
            t_ml, c_ml = newton_mode(s, rows[varied], theta[varied], use_prior=False)
            theta[varied], cov[varied] = t_ml, c_ml
        return theta, cov


class EAPGaussHermite:
    """Vector EAP by adaptive Gauss–Hermite quadrature around the Laplace mode."""

    def __init__(self, dims: int, points: int) -> None:
        z, w = np.polynomial.hermite.hermgauss(points)
        self.nodes = np.array(list(product(z, repeat=dims)))  # (M, D)
        self.log_w = np.log(np.array([np.prod(c) for c in product(w, repeat=dims)]))
        # GH weights integrate against exp(-|z|²); put that factor back into the integrand.
        self.log_w += np.sum(self.nodes**2, axis=1)

    def estimate(self, s: Sessions, rows: NDArray[np.intp]) -> tuple[Arr, Arr]:
        mode, lap_cov = newton_mode(s, rows, s.theta[rows], use_prior=True)
        chol = np.linalg.cholesky(lap_cov)  # (r, D, D)
        pts = mode[:, None, :] + np.sqrt(2.0) * np.einsum("mk,rdk->rmd", self.nodes, chol)  # (r, M, D)
        r, m_pts, dims = pts.shape
        flat_rows = np.repeat(rows, m_pts)
        val, _, _ = local_derivatives(s, flat_rows, pts.reshape(r * m_pts, dims))
        loglik = val.sum(axis=1).reshape(r, m_pts)
        dev = pts - s.prior.mean
        logprior = -0.5 * np.einsum("rmd,de,rme->rm", dev, s.prior.precision, dev)
        lw = loglik + logprior + self.log_w[None, :]
        lw -= lw.max(axis=1, keepdims=True)
        w = np.exp(lw)
        w /= w.sum(axis=1, keepdims=True)
        mean = np.einsum("rm,rmd->rd", w, pts)
        dev = pts - mean[:, None, :]
        cov = np.einsum("rm,rmd,rme->rde", w, dev, dev)
        return mean, cov


def make_estimator(s: Sessions) -> Estimator:
    name = s.cfg.estimator
    if s.dims > 1:
        return EAPGaussHermite(s.dims, s.cfg.gh_points) if name == "eap" else MAPNewton()
    return {"eap": EAPGrid, "map": MAPNewton, "ml": MLNewton}[name]()
