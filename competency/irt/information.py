"""Observed information of the marginal log-likelihood by Louis' (1982) identity.

For each response pattern p, −∂² log L_p = E_p[−H_c] − Var_p[s_c], where s_c and H_c are
the complete-data score and Hessian at a quadrature node and E_p/Var_p are taken over the
posterior of the node. Summed over patterns (with their frequencies):

* B = Σ_p w_p E_p[−H_c]: the Hessian of the expected complete-data log-likelihood at the
  expected counts (the M-step objective), found by differencing its exact gradient — each
  item is separate, so one perturbation per parameter *column* serves all items;
* A = Σ_q F_qᵀ T_q F_q with T_q = Zᵀ diag(w·post_q) Z (Z: response indicators, F_q: scores
  of log P per indicator column) — the posterior second moment of the score;
* G = per-pattern posterior mean scores, giving Σ_p w_p g_p g_pᵀ.

I_obs = B − A + Σ_p w_p g_p g_pᵀ. The cost is O(Q·n_patterns·m²) for m indicator columns,
one pass, instead of one E-step per parameter for numerical differentiation.
"""

from __future__ import annotations

import numpy as np

from competency.irt import estep
from competency.irt.mstep import gradient_and_information, probs_and_jacobian

_CHUNK = 8192


def louis_information(engine, param_index: list[np.ndarray]) -> np.ndarray:
    design, counts = engine.design, engine.counts
    _, wpost, _ = engine.e_step()
    keep = counts > 0
    wpost, counts = wpost[keep], counts[keep]
    y = design.y[keep]
    observed = None if design.observed is None else design.observed[keep]
    post = wpost / counts[:, None]
    theta = engine.theta
    q = theta.size
    n_par = 1 + max((int(idx.max()) for idx in param_index), default=-1)

    # Scores of log P per category: D[i][q, k, :] over the item's own parameters.
    scores: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for block, idx in zip(engine.blocks, param_index, strict=True):
        probs, jac = probs_and_jacobian(block, theta)
        valid = np.arange(probs.shape[2])[None, :] < block.n_categories[:, None]
        d = np.where(valid[None, :, :, None], jac / np.maximum(probs, 1e-300)[..., None], 0.0)
        for r, item in enumerate(block.items):
            scores[int(item)] = (np.nan_to_num(d[:, r]), idx[r])

    # Indicator columns: one per (item, category ≥ 1), plus "answered" per item or one constant column.
    cols: list[tuple[np.ndarray, np.ndarray]] = []  # (Q × p score row, parameter positions)
    for item, cat in zip(design.col_item, design.col_cat, strict=True):
        d, idx = scores[int(item)]
        cols.append((d[:, cat] - d[:, 0], idx))
    base_dense = None
    if observed is None:
        base_dense = np.zeros((q, n_par))
        for d, idx in scores.values():
            ok = idx >= 0
            np.add.at(base_dense, (slice(None), idx[ok]), d[:, 0][:, ok])
        z = np.hstack([np.ones((y.shape[0], 1)), y])
    else:
        z = np.hstack([observed, y])
        cols = [(scores[i][0][:, 0], scores[i][1]) for i in range(engine.n_items)] + cols

    # F_q: (Q, m, P) dense score rows of the indicator columns.
    m = z.shape[1]
    f = np.zeros((q, m, n_par))
    offset = 0
    if base_dense is not None:
        f[:, 0, :] = base_dense
        offset = 1
    for c, (d, idx) in enumerate(cols):
        ok = idx >= 0
        np.add.at(f, (slice(None), offset + c, idx[ok]), d[:, ok])

    # A = Σ_q F_qᵀ T_q F_q, and G gᵀ accumulated in pattern chunks.
    a_term = np.zeros((n_par, n_par))
    ggt = np.zeros((n_par, n_par))
    for start in range(0, z.shape[0], _CHUNK):
        zc, wc, pc, cc = (arr[start : start + _CHUNK] for arr in (z, wpost, post, counts))
        for node in range(q):
            t = (zc * wc[:, node : node + 1]).T @ zc
            a_term += f[node].T @ t @ f[node]
        # g_p = Σ_c Z_pc · (posterior mean of column c's score); each column touches few parameters.
        g = np.zeros((zc.shape[0], n_par))
        if base_dense is not None:
            g += pc @ base_dense
        for c, (d, idx) in enumerate(cols):
            ok = idx >= 0
            g[:, idx[ok]] += zc[:, offset + c : offset + c + 1] * (pc @ d[:, ok])
        ggt += (g * cc[:, None]).T @ g

    b_term = _complete_data_hessian(engine, param_index, n_par)
    info = b_term - a_term + ggt
    return (info + info.T) / 2


def _complete_data_hessian(engine, param_index, n_par) -> np.ndarray:
    """−∂² of the M-step objective at the current expected counts, by central differences."""
    _, wpost, _ = engine.e_step()
    r = estep.expected_counts(engine.design, wpost, engine.n_items, engine.k)
    theta = engine.theta
    out = np.zeros((n_par, n_par))
    for block, idx in zip(engine.blocks, param_index, strict=True):
        k = 2 if block.kind == "dich" else block.eta.shape[1]
        rb = r[:, block.items, :k]
        m, p = block.eta.shape
        hess = np.zeros((m, p, p))
        for j in range(p):
            h = 1e-5 * np.maximum(1.0, np.abs(np.nan_to_num(block.eta[:, j])))
            up, down = block.eta.copy(), block.eta.copy()
            up[:, j] += h
            down[:, j] -= h
            g_up, _ = gradient_and_information(block, theta, rb, engine.priors, up)
            g_down, _ = gradient_and_information(block, theta, rb, engine.priors, down)
            hess[:, :, j] = np.nan_to_num((g_up - g_down) / (2 * h[:, None]))
        ok = idx >= 0
        for r_i in range(m):
            sel = np.flatnonzero(ok[r_i])
            np.add.at(out, (idx[r_i, sel][:, None], idx[r_i, sel][None, :]), -hess[r_i][np.ix_(sel, sel)])
    return out
