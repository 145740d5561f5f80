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

import math
from itertools import product
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from . import linalg
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
    t, mid, d1, d2 = _taylor(s, _grid_rows(s, rows), theta)
    return mid + t * d1 + 0.5 * t * t * d2, d1 + t * d2, d2


def _grid_rows(s: Sessions, rows: NDArray[np.intp]) -> NDArray[np.intp]:
    """(r, D) flat offsets into s.loglik of each row's per-dimension grid."""
    return (rows[:, None] * s.dims + np.arange(s.dims)) * s.loglik.shape[2]


# offsets of the three grid neighbours, on a leading axis: the broadcast add then runs over whole
# (r, D) blocks (an inner axis of length 3 would make numpy buffer it element by element)
_NEIGHBOURS = np.array([-1, 0, 1], np.intp).reshape(3, 1, 1)


def _taylor(
    s: Sessions, base: NDArray[np.intp], theta: Arr, inside: bool = False
) -> tuple[Arr, Arr, Arr, Arr]:
    """Offset t from the nearest grid point, the log-likelihood there, and its slope and curvature.

    The three neighbouring values come from one flat take (three fancy-indexed gathers cost more);
    rows may repeat (quadrature nodes), so s.loglik is read in place, never copied per row.
    ``inside``: theta is known to lie within the grid's bounds (see Grid.nearest).
    """
    grid = s.bank.grid
    m, t = grid.nearest(theta, inside)
    near = s.loglik.reshape(-1).take((base + m) + _NEIGHBOURS).astype(np.float64)
    mid = near[1]
    d1, d2 = _derivatives(near[0], mid, near[2], grid.step)
    return t, mid, d1, d2


def _derivatives(lo: Any, mid: Any, hi: Any, h: float) -> tuple[Any, Any]:
    """Slope and curvature at the middle of three grid values h apart (central differences).

    The one definition for numpy arrays (_taylor) and Python floats (_RowSlopes): the same IEEE
    operations in the same order either way."""
    return (hi - lo) / (2 * h), (hi - 2 * mid + lo) / (h * h)


_max_reduce = np.maximum.reduce  # what np.max calls, without its Python-level dispatch


def newton_mode(s: Sessions, rows: NDArray[np.intp], start: Arr, use_prior: bool) -> tuple[Arr, Arr]:
    """Mode of log-likelihood (+ log prior) and the inverse negative Hessian there."""
    if rows.size == 1:
        one = _newton_one(s, int(rows[0]), start, use_prior)
        if one is not None:
            return one
    return _newton_batch(s, rows, start, use_prior)


def _newton_batch(s: Sessions, rows: NDArray[np.intp], start: Arr, use_prior: bool) -> tuple[Arr, Arr]:
    theta = start.copy()
    bound = s.bank.grid.bound
    prec = s.prior.precision if use_prior else np.zeros((s.dims, s.dims))
    eye = s.layout.eye
    base = _grid_rows(s, rows)
    inside = False  # theta within the grid's bounds (after the first step it is)
    for _ in range(40):
        t, _, d1, d2 = _taylor(s, base, theta, inside)
        g1, g2 = d1 + t * d2, d2
        # Log-likelihoods of 3PL items can be locally convex; keep the Hessian negative definite.
        curv = np.minimum(g2, -1e-6)
        grad = g1
        if use_prior:
            grad = grad - (theta - s.prior.mean) @ prec
        neg_h = prec[None] - curv[:, :, None] * eye[None]
        step = linalg.solve(neg_h, grad[:, :, None])[:, :, 0]
        # minimum/maximum: np.clip's dispatch costs more than the work on these tiny arrays
        step = np.minimum(np.maximum(step, -1.0), 1.0)
        theta, inside = np.minimum(np.maximum(theta + step, -bound), bound), True
        if _max_reduce(np.abs(step), axis=None, initial=0.0) < 1e-8:
            break
    _, _, _, g2 = _taylor(s, base, theta, inside)
    neg_h = prec[None] - np.minimum(g2, -1e-6)[:, :, None] * eye[None]
    return theta, linalg.inv(neg_h)


def _newton_one(s: Sessions, row: int, start: Arr, use_prior: bool) -> tuple[Arr, Arr] | None:
    """_newton_batch for one row (a step-API request): the per-dimension arithmetic on Python floats.

    On one row of ~5 numbers numpy's per-call cost dominates (~40 calls per Newton step). Python
    floats do the same IEEE double operations in the same order (no fused multiply-add; round()
    rounds half to even like np.rint; comparisons replace minimum/maximum, equal for non-NaN
    values); the matrix product, solve and inverse stay numpy calls on the same shapes. None (use
    the batch path) as soon as a value is not finite, where NaN rules would differ.
    tests/cat/test_cat_single_row.py checks the bits against _newton_batch.
    """
    theta = start[0].tolist()
    if not all(map(math.isfinite, theta)):
        return None
    bound, dims, mean = s.bank.grid.bound, s.dims, s.prior.mean
    prec = s.prior.precision if use_prior else np.zeros((dims, dims))
    # prec - curv * eye with every curv <= -1e-6: off the diagonal prec - (-0.0) whatever curv is,
    # so only the diagonal (prec_ii - curv_i) changes from step to step
    template = prec[None] - -1e-6 * s.layout.eye[None]
    diagonal, prec_diag = np.arange(dims) * (dims + 1), np.diagonal(prec).tolist()

    def neg_hessian(curv: list[float]) -> Arr:
        out = template.copy()
        out.put(diagonal, [p - c for p, c in zip(prec_diag, curv, strict=True)])
        return out

    slopes = _RowSlopes(s, row)
    try:
        with linalg.lapack_errors():  # one error state for the whole search (see linalg)
            for _ in range(40):
                g1, curv = slopes.at(theta)
                grad = np.array([g1])
                if use_prior:
                    grad = grad - (np.array([theta]) - mean) @ prec
                step = linalg.solve_unchecked(neg_hessian(curv), grad[:, :, None]).reshape(dims).tolist()
                # the clips of _newton_batch; a NaN passes both tests and ends this path below
                step = [-1.0 if x < -1.0 else 1.0 if x > 1.0 else x for x in step]
                if not all(map(math.isfinite, step)):
                    return None
                theta = [t + x for t, x in zip(theta, step, strict=True)]
                theta = [-bound if t < -bound else bound if t > bound else t for t in theta]
                if all(-1e-8 < x < 1e-8 for x in step):  # max(|step|) < 1e-8
                    break
            _, curv = slopes.at(theta)
            cov = linalg.inv_unchecked(neg_hessian(curv))
    except FloatingPointError:
        return None  # a LAPACK failure: the batch path raises it as np.linalg does
    return np.array([theta]), cov


class _RowSlopes:
    """Grid.nearest + _taylor for one session row and a finite theta, on Python floats.

    The log-likelihood is finite (floored log-probabilities), so slopes and curvatures are too.
    """

    def __init__(self, s: Sessions, row: int) -> None:
        grid = s.bank.grid
        self.bound, self.h, self.nodes = grid.bound, grid.step, s.layout.grid_nodes
        self.top, self.width = grid.points - 2, grid.points
        # float32 items read as Python floats: exact, as .astype(np.float64) is
        self.loglik = memoryview(s.loglik[row].reshape(-1))

    def at(self, theta: list[float]) -> tuple[list[float], list[float]]:
        """Slope d1 + t·d2 and curvature min(d2, -1e-6) of each dimension at theta."""
        bound, h, nodes, top, width, ll = self.bound, self.h, self.nodes, self.top, self.width, self.loglik
        slope, curv = [], []
        offset = 0
        for x in theta:
            clipped = -bound if x < -bound else bound if x > bound else x
            m = round((clipped + bound) / h)
            m = 1 if m < 1 else top if m > top else m
            t = clipped - nodes[m]
            k = offset + m
            d1, d2 = _derivatives(ll[k - 1], ll[k], ll[k + 1], h)
            slope.append(d1 + t * d2)
            # Log-likelihoods of 3PL items can be locally convex; keep the Hessian negative definite.
            curv.append(d2 if d2 < -1e-6 else -1e-6)
            offset += width
        return slope, curv


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
        chol = linalg.cholesky(lap_cov)  # (r, D, D)
        pts = mode[:, None, :] + np.sqrt(2.0) * np.einsum("mk,rdk->rmd", self.nodes, chol)  # (r, M, D)
        r, m_pts, dims = pts.shape
        t, mid, d1, d2 = _taylor(
            s, np.repeat(_grid_rows(s, rows), m_pts, axis=0), pts.reshape(r * m_pts, dims)
        )
        val = mid + t * d1 + 0.5 * t * t * d2  # local_derivatives' value
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
