"""The Bock–Aitkin EM engine: E-step, M-step, latent-distribution update and SQUAREM acceleration."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from competency.irt import estep
from competency.irt.mstep import (
    Block,
    gradient_and_information,
    log_prior,
    maximise,
    probs_and_jacobian,
)


class ConvergenceWarning(UserWarning):
    """EM stopped at max_iter before meeting the convergence criteria."""


class Engine:
    """EM state: item blocks, compressed data, quadrature and the latent N(mean, sd²)."""

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


def run_em(engine: Engine, max_iter: int, tol: float, tol_loglik: float, accelerate: bool):
    """EM cycles, optionally SQUAREM-extrapolated (scheme S3, steplength ≤ −1, with a
    fall-back to the plain double EM step whenever the extrapolation lowers the objective
    or leaves the parameter space). Converged = EM step at the current point below ``tol``
    and relative change of the log-posterior below ``tol_loglik``.

    The step is measured on the reported scale of the lower asymptote (c, not its logit γ):
    without a prior an item whose c tends to 0 lets γ walk towards −∞ by a near-constant step
    per cycle while c, the likelihood and every other parameter have stopped moving, so a
    criterion on γ is never met."""
    x = engine.vector()
    guess = _guess_positions(engine)
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
        step = float(np.max(np.abs(_reported(x_new, guess) - _reported(start, guess)))) if x_new.size else 0.0
        change = abs(obj - prev_obj) / (1.0 + abs(obj))
        x, prev_obj = x_new, obj
        if step < tol and change < tol_loglik:
            converged = True
            break
    engine.set_vector(x)
    return converged, iterations


def _guess_positions(engine: Engine) -> np.ndarray:
    """Positions of the lower asymptotes' logits in the flat vector."""
    pos = [
        idx[:, 2][idx[:, 2] >= 0]
        for b, idx in zip(engine.blocks, param_index(engine), strict=True)
        if b.has_guess
    ]
    return np.concatenate(pos) if pos else np.zeros(0, np.intp)


def _reported(x: np.ndarray, guess: np.ndarray) -> np.ndarray:
    if guess.size == 0:
        return x
    out = x.copy()
    out[guess] = expit(x[guess])
    return out


def param_index(engine: Engine) -> list[np.ndarray]:
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
