"""Standard errors: covariance of the estimated item parameters and the delta method to the IRT form."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import expit

from competency.irt.em import ConvergenceWarning, Engine, param_index
from competency.irt.information import louis_information


def numerical_information(engine: Engine) -> np.ndarray:
    """Observed information by central differences of the exact score (one E-step per parameter)."""
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


def covariance(engine: Engine, method: str) -> np.ndarray:
    """Inverse observed information of the free item parameters (slope–intercept form)."""
    if method == "louis":
        info = louis_information(engine, param_index(engine))
    else:
        info = numerical_information(engine)
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


def irt_covariance(engine: Engine, cov: np.ndarray, k_max: int) -> np.ndarray:
    """Delta method: per-item covariance of [a, b_1..b_{K−1}, c] from the slope–intercept covariance."""
    n_items = engine.n_items
    width = k_max + 1
    out = np.full((n_items, width, width), np.nan)
    for b, idx in zip(engine.blocks, param_index(engine), strict=True):
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
