"""M-step of Bock–Aitkin EM: item blocks in slope–intercept form, Fisher scoring over all items at once.

Inside the estimator every item is written in slope–intercept form because the
likelihood is better conditioned there:

* dichotomous: logit P* = a·θ + d, P = c + (1 − c)·P*, with c = logistic(γ) (3pl only);
* GRM: logit P(Y ≥ k) = a·θ + d_k;
* GPCM: log-numerator of category k = Σ_{v ≤ k} (a·θ + d_v).

The IRT form follows from b = −d / a (b_k = −d_k / a). A block holds the items of one
kind; its parameter array ``eta`` is (n_items_in_block, p), NaN-padded for items with
fewer categories. Each item maximises its own expected complete-data log-likelihood,
so the Fisher-scoring systems are small (p × p) and are solved together
(``np.linalg.solve`` over a stack); a common slope (``1pl``) couples the items and is
solved through the arrowhead structure of its Hessian.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

_TINY = 1e-300


@dataclass
class Priors:
    """Bayes-modal priors: lognormal(mean, sd) on slopes, Beta(α, β) on lower asymptotes."""

    slope: tuple[float, float] | None = None
    guess: tuple[float, float] | None = None


@dataclass
class Block:
    kind: str  # "dich" | "grm" | "gpcm"
    items: np.ndarray  # global item indices
    eta: np.ndarray  # (m, p) slope–intercept parameters, NaN-padded
    free: np.ndarray  # (m,) bool: estimated (False = held at known values)
    has_guess: bool = False  # 3pl: eta[:, 2] = logit(c)
    shared_slope: bool = False  # 1pl: one slope for all free items
    fixed_slope: float | None = None  # rasch with fixed items: slopes held at this value
    n_categories: np.ndarray = field(default_factory=lambda: np.zeros(0, int))

    @property
    def k(self) -> int:
        return int(self.n_categories.max())

    def param_mask(self) -> np.ndarray:
        """(m, p) True where a parameter exists and is estimated."""
        mask = ~np.isnan(self.eta) & self.free[:, None]
        if self.fixed_slope is not None:
            mask[:, 0] = False
        return mask


# --------------------------------------------------------------------------- probabilities and Jacobians


def probs_and_jacobian(block: Block, theta: np.ndarray, eta: np.ndarray | None = None):
    """Category probabilities (Q, m, K) and their derivatives in eta (Q, m, K, p)."""
    eta = block.eta if eta is None else eta
    if block.kind == "dich":
        return _dich(theta, eta, block.has_guess)
    if block.kind == "grm":
        return _grm(theta, eta)
    return _gpcm(theta, eta)


def _dich(theta, eta, has_guess):
    a, d = eta[:, 0], eta[:, 1]
    s = expit(theta[:, None] * a + d)
    w = s * (1.0 - s)
    q, m = s.shape
    p_count = eta.shape[1]
    jac = np.zeros((q, m, 2, p_count))
    if has_guess:
        c = expit(eta[:, 2])
        p1 = c + (1.0 - c) * s
        jac[:, :, 1, 0] = (1.0 - c) * w * theta[:, None]
        jac[:, :, 1, 1] = (1.0 - c) * w
        jac[:, :, 1, 2] = (1.0 - s) * c * (1.0 - c)
    else:
        p1 = s
        jac[:, :, 1, 0] = w * theta[:, None]
        jac[:, :, 1, 1] = w
    jac[:, :, 0, :] = -jac[:, :, 1, :]
    return np.stack([1.0 - p1, p1], axis=2), jac


def _grm(theta, eta):
    a, d = eta[:, 0], eta[:, 1:]
    q, (m, steps) = theta.size, d.shape
    z = theta[:, None, None] * a[None, :, None] + d[None, :, :]
    pad = np.isnan(z)
    star = np.where(pad, 0.0, expit(np.where(pad, 0.0, z)))
    w = star * (1.0 - star)
    one, zero = np.ones((q, m, 1)), np.zeros((q, m, 1))
    cum = np.concatenate([one, star, zero], axis=2)
    wc = np.concatenate([zero, w, zero], axis=2)
    probs = cum[:, :, :-1] - cum[:, :, 1:]
    k = steps + 1
    jac = np.zeros((q, m, k, steps + 1))
    jac[:, :, :, 0] = (wc[:, :, :-1] - wc[:, :, 1:]) * theta[:, None, None]
    for j in range(steps):  # P_k depends on d_j through cum_k (k = j+1) and cum_{k+1} (k = j)
        jac[:, :, j + 1, j + 1] += w[:, :, j]
        jac[:, :, j, j + 1] -= w[:, :, j]
    return probs, jac


def _gpcm(theta, eta):
    a, d = eta[:, 0], eta[:, 1:]
    q, (m, steps) = theta.size, d.shape
    k = steps + 1
    pad = np.isnan(d)
    step = theta[:, None, None] * a[None, :, None] + np.where(pad, 0.0, d)[None, :, :]
    step = np.where(pad[None, :, :], -np.inf, step)
    s = np.concatenate([np.zeros((q, m, 1)), np.cumsum(step, axis=2)], axis=2)
    s -= s.max(axis=2, keepdims=True)
    e = np.exp(s)
    probs = e / e.sum(axis=2, keepdims=True)
    cats = np.arange(k, dtype=float)
    # ds_k/dη: ∂/∂a = k·θ, ∂/∂d_v = 1[v ≤ k]
    ds = np.zeros((q, 1, k, steps + 1))
    ds[:, 0, :, 0] = cats[None, :] * theta[:, None]
    ds = np.broadcast_to(ds, (q, m, k, steps + 1)).copy()
    ds[:, :, :, 1:] = (np.arange(1, k)[None, :] <= cats[:, None]).astype(float)[None, None, :, :]
    mean = np.einsum("qmk,qmkp->qmp", probs, ds)
    jac = probs[..., None] * (ds - mean[:, :, None, :])
    return probs, jac


# --------------------------------------------------------------------------- objective, gradient, information


def log_prior(block: Block, eta: np.ndarray, priors: Priors) -> np.ndarray:
    out = np.zeros(eta.shape[0])
    if priors.slope is not None:
        mu, sd = priors.slope
        a = eta[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            la = np.log(a)
            out += np.where(a > 0, -la - (la - mu) ** 2 / (2 * sd**2), -np.inf)
    if block.has_guess and priors.guess is not None:
        al, be = priors.guess
        c = expit(eta[:, 2])
        out += (al - 1) * np.log(np.maximum(c, _TINY)) + (be - 1) * np.log(np.maximum(1 - c, _TINY))
    return out


def _prior_grad_info(block: Block, eta: np.ndarray, priors: Priors) -> tuple[np.ndarray, np.ndarray]:
    grad = np.zeros_like(eta)
    info = np.zeros(eta.shape + (eta.shape[1],))
    if priors.slope is not None:
        mu, sd = priors.slope
        a = np.maximum(eta[:, 0], 1e-12)
        grad[:, 0] = (-1.0 - (np.log(a) - mu) / sd**2) / a
        info[:, 0, 0] = 1.0 / (sd**2 * a**2)
    if block.has_guess and priors.guess is not None:
        al, be = priors.guess
        c = expit(eta[:, 2])
        grad[:, 2] = (al - 1) * (1 - c) - (be - 1) * c
        info[:, 2, 2] = (al + be - 2) * c * (1 - c)
    return grad, info


def objective(block: Block, theta: np.ndarray, r: np.ndarray, priors: Priors, eta=None) -> np.ndarray:
    """Per-item expected complete-data log-likelihood plus log prior; −inf where invalid."""
    eta = block.eta if eta is None else eta
    probs, _ = probs_and_jacobian(block, theta, eta)
    valid = _valid_categories(block, probs.shape[2])
    bad = np.any((probs <= 0) & valid[None], axis=(0, 2))
    logp = np.log(np.where(valid[None], np.maximum(probs, _TINY), 1.0))
    out = np.einsum("qmk,qmk->m", r, logp) + log_prior(block, eta, priors)
    return np.where(bad | ~np.isfinite(out), -np.inf, out)


def _valid_categories(block: Block, k: int) -> np.ndarray:
    return np.arange(k)[None, :] < block.n_categories[:, None]


def gradient_and_information(block: Block, theta: np.ndarray, r: np.ndarray, priors: Priors, eta=None):
    """Gradient (m, p) and expected information (m, p, p) of the block objective."""
    eta = block.eta if eta is None else eta
    probs, jac = probs_and_jacobian(block, theta, eta)
    valid = _valid_categories(block, probs.shape[2])[None]
    inv_p = np.where(valid, 1.0 / np.maximum(probs, 1e-12), 0.0)
    grad = np.einsum("qmk,qmkp->mp", r * inv_p, jac)
    n_node = r.sum(axis=2)
    info = np.einsum("qmkp,qmkr->mpr", jac * (n_node[:, :, None] * inv_p)[..., None], jac)
    pg, pi = _prior_grad_info(block, eta, priors)
    return grad + pg, info + pi


# --------------------------------------------------------------------------- one M-step


def maximise(block: Block, theta: np.ndarray, r: np.ndarray, priors: Priors, iterations: int = 10) -> None:
    """Fisher scoring with step halving, in place on ``block.eta`` (free items only)."""
    mask = block.param_mask()
    if not mask.any():
        return
    for _ in range(iterations):
        grad, info = gradient_and_information(block, theta, r, priors)
        grad = np.where(mask, grad, 0.0)
        if block.shared_slope:
            step = _arrowhead_step(grad, info, mask)
        else:
            info = np.where(mask[:, :, None] & mask[:, None, :], info, 0.0)
            idx = np.arange(mask.shape[1])
            info[:, idx, idx] += np.where(mask, 1e-10, 1.0)
            step = _solve(info, grad)
        step = np.where(mask, step, 0.0)
        # A Fisher step can overshoot far from the optimum: cap it, then halve until no item loses.
        big = np.max(np.abs(step), axis=1, keepdims=True)
        if block.shared_slope:
            big = np.full_like(big, big.max())
        step *= np.minimum(1.0, 1.0 / np.maximum(big, 1e-300))
        old = objective(block, theta, r, priors)
        scale = np.ones(step.shape[0])
        for _ in range(30):
            trial = block.eta + step * scale[:, None]
            new = objective(block, theta, r, priors, trial)
            worse = new < old - 1e-12 * np.maximum(1.0, np.abs(old))
            if block.shared_slope:
                worse = np.full_like(worse, np.sum(new) < np.sum(old) - 1e-12 * max(1.0, abs(np.sum(old))))
            if not worse.any():
                break
            scale = np.where(worse, scale / 2, scale)
        else:
            scale = np.where(worse, 0.0, scale)
        block.eta = block.eta + step * scale[:, None]
        if np.max(np.abs(step * scale[:, None])) < 1e-8:
            break


def _solve(info: np.ndarray, grad: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(info, grad[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.einsum("mpr,mr->mp", np.linalg.pinv(info), grad)


def _arrowhead_step(grad: np.ndarray, info: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Newton step for (common slope, d_1..d_m): Schur complement of the arrowhead Hessian."""
    free = mask[:, 1]
    f_aa, f_ad, f_dd = info[:, 0, 0], info[:, 0, 1], np.maximum(info[:, 1, 1], 1e-12)
    g_a, g_d = grad[:, 0], grad[:, 1]
    schur = np.sum((f_aa - f_ad**2 / f_dd)[free])
    step_a = np.sum((g_a - f_ad * g_d / f_dd)[free]) / max(schur, 1e-12) if mask[:, 0].any() else 0.0
    step = np.zeros_like(grad)
    step[:, 0] = np.where(free, step_a, 0.0)
    step[:, 1] = np.where(free, (g_d - f_ad * step[:, 0]) / f_dd, 0.0)
    return step
