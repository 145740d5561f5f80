"""E-step of Bock–Aitkin EM as matrix products over compressed response patterns."""

from __future__ import annotations

import numpy as np

from competency.irt.data import Design

_TINY = 1e-300


def pattern_loglik(design: Design, log_probs: np.ndarray) -> np.ndarray:
    """log P(pattern | node), shape (n_patterns, Q), from log category probabilities (Q, n, K)."""
    log0 = log_probs[:, :, 0]
    rel = log_probs[:, design.col_item, design.col_cat] - log0[:, design.col_item]
    out = design.y @ rel.T
    if design.observed is None:
        out += log0.sum(axis=1)[None, :]
    else:
        out += design.observed @ log0.T
    return out


def posterior(
    design: Design, log_probs: np.ndarray, log_prior: np.ndarray, counts: np.ndarray
) -> tuple[float, np.ndarray]:
    """Marginal log-likelihood and the weighted posterior over nodes (n_patterns, Q).

    Row p of the second array is counts_p · P(node | pattern p).
    """
    post = pattern_loglik(design, log_probs)
    post += log_prior[None, :]
    top = post.max(axis=1, keepdims=True)
    post -= top
    np.exp(post, out=post)
    total = post.sum(axis=1, keepdims=True)
    loglik = float(np.sum(counts * (top[:, 0] + np.log(total[:, 0]))))
    post *= counts[:, None] / total
    return loglik, post


def expected_counts(design: Design, wpost: np.ndarray, n_items: int, k: int) -> np.ndarray:
    """Expected number of responses in each category at each node, shape (Q, n, K)."""
    q = wpost.shape[1]
    r = np.zeros((q, n_items, k))
    # yᵀ·w (both C-ordered) rather than wᵀ·y: the latter is markedly slower in OpenBLAS here.
    r[:, design.col_item, design.col_cat] = (design.y.T @ wpost).T
    if design.observed is None:
        at_node = np.broadcast_to(wpost.sum(axis=0)[:, None], (q, n_items))
    else:
        at_node = (design.observed.T @ wpost).T
    r[:, :, 0] = np.maximum(at_node - r[:, :, 1:].sum(axis=2), 0.0)
    return r


def safe_log(probs: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(probs, _TINY))
