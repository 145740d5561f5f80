"""Item response kernels, vectorised over a θ grid and over items.

Parameterisation (the project's IRT form, logistic, D = 1):

* dichotomous: P(X=1 | θ) = c + (1 − c) / (1 + exp(−a(θ − b)))
* GRM: P(Y ≥ k | θ) = 1 / (1 + exp(−a(θ − b_k))), k = 1..K−1, categories 0..K−1
* GPCM: P(Y = k | θ) ∝ exp(Σ_{v=1..k} a(θ − b_v)), the empty sum (k = 0) being 0;
  b_v are the step (intersection) parameters, the IRT form of mirt's ``gpcmIRT``.

``thresholds`` is (n_items, K−1), NaN-padded on the right for items with fewer
categories; a padded category has probability 0. Every function takes θ as a 1-D
array of length Q and returns arrays shaped (Q, n_items) or (Q, n_items, K).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

Array = NDArray[np.float64]

# Probabilities are clipped away from 0 and 1 only where a log or a division needs it.
_TINY = 1e-300


def _theta(theta: ArrayLike) -> Array:
    return np.atleast_1d(np.asarray(theta, dtype=float)).ravel()


def _vec(x: ArrayLike | None, n: int | None = None, fill: float = 0.0) -> Array:
    if x is None:
        return np.full(n or 0, fill)
    return np.atleast_1d(np.asarray(x, dtype=float)).ravel()


def _thresholds(thresholds: ArrayLike) -> Array:
    t = np.asarray(thresholds, dtype=float)
    if t.ndim == 1:
        t = t[:, None]
    return t


# --------------------------------------------------------------------------- dichotomous


def prob_dichotomous(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None) -> Array:
    """P(correct), shape (Q, n)."""
    th, a, b = _theta(theta), _vec(a), _vec(b)
    p = expit(a * (th[:, None] - b))
    if c is None:
        return p
    c = _vec(c)
    return c + (1.0 - c) * p


def dprob_dichotomous(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None) -> Array:
    """dP/dθ, shape (Q, n)."""
    th, a, b = _theta(theta), _vec(a), _vec(b)
    p = expit(a * (th[:, None] - b))
    scale = 1.0 if c is None else 1.0 - _vec(c)
    return scale * a * p * (1.0 - p)


def info_dichotomous(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike | None = None) -> Array:
    """Fisher information a²·(Q/P)·((P − c)/(1 − c))², shape (Q, n)."""
    th, a, b = _theta(theta), _vec(a), _vec(b)
    ps = expit(a * (th[:, None] - b))
    if c is None:
        return a**2 * ps * (1.0 - ps)
    c = _vec(c)
    p = c + (1.0 - c) * ps
    # (P − c)/(1 − c) = P*; written this way it never divides by a vanishing (1 − c).
    return a**2 * (1.0 - p) / np.maximum(p, _TINY) * ps**2


# --------------------------------------------------------------------------- GRM


def cumulative_probs_grm(theta: ArrayLike, a: ArrayLike, thresholds: ArrayLike) -> Array:
    """P(Y ≥ k) for k = 0..K (P(Y≥0) = 1, P(Y≥K) = 0), shape (Q, n, K+1); padded steps give 0."""
    th, a, t = _theta(theta), _vec(a), _thresholds(thresholds)
    z = a[None, :, None] * (th[:, None, None] - t[None, :, :])
    star = np.where(np.isnan(z), 0.0, expit(z))
    q, n = star.shape[:2]
    return np.concatenate([np.ones((q, n, 1)), star, np.zeros((q, n, 1))], axis=2)


def category_probs_grm(theta: ArrayLike, a: ArrayLike, thresholds: ArrayLike) -> Array:
    """P(Y = k), shape (Q, n, K)."""
    cum = cumulative_probs_grm(theta, a, thresholds)
    return np.maximum(cum[:, :, :-1] - cum[:, :, 1:], 0.0)


def dcategory_probs_grm(theta: ArrayLike, a: ArrayLike, thresholds: ArrayLike) -> Array:
    """dP(Y = k)/dθ, shape (Q, n, K)."""
    cum = cumulative_probs_grm(theta, a, thresholds)
    w = cum * (1.0 - cum) * _vec(a)[None, :, None]
    return w[:, :, :-1] - w[:, :, 1:]


def info_grm(theta: ArrayLike, a: ArrayLike, thresholds: ArrayLike) -> Array:
    """Fisher information Σ_k P_k'² / P_k, shape (Q, n)."""
    p = category_probs_grm(theta, a, thresholds)
    dp = dcategory_probs_grm(theta, a, thresholds)
    return np.sum(np.where(p > 0, dp**2 / np.maximum(p, _TINY), 0.0), axis=2)


# --------------------------------------------------------------------------- GPCM


def category_probs_gpcm(theta: ArrayLike, a: ArrayLike, thresholds: ArrayLike) -> Array:
    """P(Y = k), shape (Q, n, K)."""
    th, a, t = _theta(theta), _vec(a), _thresholds(thresholds)
    steps = a[None, :, None] * (th[:, None, None] - t[None, :, :])
    # A padded step makes every later category impossible (trailing padding).
    steps = np.where(np.isnan(steps), -np.inf, steps)
    q, n = steps.shape[:2]
    s = np.concatenate([np.zeros((q, n, 1)), np.cumsum(steps, axis=2)], axis=2)
    s = s - np.max(s, axis=2, keepdims=True)
    e = np.exp(s)
    return e / np.sum(e, axis=2, keepdims=True)


def dcategory_probs_gpcm(theta: ArrayLike, a: ArrayLike, thresholds: ArrayLike) -> Array:
    """dP(Y = k)/dθ = a·P_k·(k − E[Y]), shape (Q, n, K)."""
    p = category_probs_gpcm(theta, a, thresholds)
    k = np.arange(p.shape[2], dtype=float)
    mean = np.sum(p * k, axis=2, keepdims=True)
    return _vec(a)[None, :, None] * p * (k - mean)


def info_gpcm(theta: ArrayLike, a: ArrayLike, thresholds: ArrayLike) -> Array:
    """Fisher information a²·Var(Y | θ), shape (Q, n)."""
    p = category_probs_gpcm(theta, a, thresholds)
    k = np.arange(p.shape[2], dtype=float)
    mean = np.sum(p * k, axis=2)
    var = np.maximum(np.sum(p * k**2, axis=2) - mean**2, 0.0)
    return _vec(a)[None, :] ** 2 * var
