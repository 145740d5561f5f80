"""Differential item functioning for adaptive (sparse) data, dichotomous items.

Two groups: 0 = reference, 1 = focal; other codes (e.g. −1 = not stated) are left out. Only the
persons who answered an item enter that item's analysis, and persons are matched on an ability
estimate θ̂ (for adaptive data there is no common sum score). Use an estimate that does not
shrink towards a common prior (WLE or ML; an EAP pulls each group's low scorers differently
when the groups' means differ and inflates the type-I rate).

* ``mantel_haenszel``: MH common odds ratio over θ̂ strata (quantiles of the item's
  respondents), MH χ² with continuity correction, MH D-DIF = −2.35·ln α_MH with the
  Robins–Breslow–Greenland SE, and the ETS A/B/C class (Zwick, 2012): C when |D| ≥ 1.5 and
  |D| is significantly above 1; A when |D| < 1 or χ² is not significant at 5 %; else B.
  Negative D means the item is harder for the focal group.
* ``logistic_dif``: Swaminathan & Rogers (1990) nested logistic regressions on θ̂ (uniform:
  + group, 1 df; non-uniform: + θ̂·group, 1 df; both: 2 df) with Nagelkerke ΔR² and the
  Jodoin & Gierl (2001) classes (A < .035 ≤ B < .070 ≤ C, and significant).
* ``irt_lr_dif`` (``multigroup``): likelihood-ratio DIF from multiple-group calibration
  with anchors chosen by Woods' (2009) rank method.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import chi2, norm

from competency.irt.data import MISSING, as_response_codes

__all__ = ["ets_class", "logistic_dif", "mantel_haenszel"]


def _inputs(responses, groups, theta):
    codes = as_response_codes(responses)
    g = np.asarray(groups).ravel()
    t = np.asarray(theta, dtype=float).ravel()
    n = codes.shape[0]
    if g.shape != (n,) or t.shape != (n,):
        raise ValueError(f"groups, theta: need one value per response row ({n})")
    if codes.max(initial=0) > 1:
        raise ValueError("responses: DIF here is for dichotomous (0/1) items")
    return codes, g, t


def ets_class(d: float, se: float, p_value: float) -> str:
    """ETS A/B/C from MH D-DIF, its SE and the MH χ² p-value."""
    if not np.isfinite(d) or abs(d) < 1.0 or not p_value < 0.05:
        return "A"
    if abs(d) >= 1.5 and (abs(d) - 1.0) / se > norm.ppf(0.95):
        return "C"
    return "B"


def mantel_haenszel(
    responses: ArrayLike, groups: ArrayLike, theta: ArrayLike, *, strata: int = 10, min_group: int = 20
) -> dict[str, np.ndarray]:
    """Per item: alpha_mh, d_dif, se_d, chi2, p_value, ets ('A'/'B'/'C'), n_ref, n_focal."""
    codes, g, t = _inputs(responses, groups, theta)
    n_items = codes.shape[1]
    out = {k: np.full(n_items, np.nan) for k in ("alpha_mh", "d_dif", "se_d", "chi2", "p_value")}
    out["n_ref"], out["n_focal"] = np.zeros(n_items, int), np.zeros(n_items, int)
    ets = np.full(n_items, "", dtype=object)
    for j in range(n_items):
        keep = (codes[:, j] != MISSING) & np.isin(g, (0, 1)) & np.isfinite(t)
        x, gj, tj = codes[keep, j], g[keep], t[keep]
        out["n_ref"][j], out["n_focal"][j] = int(np.sum(gj == 0)), int(np.sum(gj == 1))
        if min(out["n_ref"][j], out["n_focal"][j]) < min_group:
            ets[j] = "n/a"
            continue
        edges = np.unique(np.quantile(tj, np.linspace(0, 1, strata + 1)[1:-1]))
        k = np.searchsorted(edges, tj, side="right")
        s = k.max() + 1
        a = np.bincount(k, (gj == 0) & (x == 1), s)  # reference right
        b = np.bincount(k, (gj == 0) & (x == 0), s)  # reference wrong
        c = np.bincount(k, (gj == 1) & (x == 1), s)  # focal right
        d = np.bincount(k, (gj == 1) & (x == 0), s)  # focal wrong
        n = a + b + c + d
        use = (a + b > 0) & (c + d > 0) & (n > 1)
        a, b, c, d, n = a[use], b[use], c[use], d[use], n[use]
        r, q = a * d / n, b * c / n
        if r.sum() <= 0 or q.sum() <= 0:
            ets[j] = "n/a"
            continue
        alpha = r.sum() / q.sum()
        # Robins, Breslow & Greenland (1986) variance of ln α_MH
        p_, q_ = (a + d) / n, (b + c) / n
        var = (
            np.sum(p_ * r) / (2 * r.sum() ** 2)
            + np.sum(p_ * q + q_ * r) / (2 * r.sum() * q.sum())
            + np.sum(q_ * q) / (2 * q.sum() ** 2)
        )
        m1, m0, nr, nf = a + c, b + d, a + b, c + d
        expected = nr * m1 / n
        v = nr * nf * m1 * m0 / (n**2 * (n - 1))
        stat = (abs(a.sum() - expected.sum()) - 0.5) ** 2 / max(v.sum(), 1e-300)
        out["alpha_mh"][j] = alpha
        out["d_dif"][j] = -2.35 * np.log(alpha)
        out["se_d"][j] = 2.35 * np.sqrt(var)
        out["chi2"][j] = stat
        out["p_value"][j] = chi2.sf(stat, 1)
        ets[j] = ets_class(out["d_dif"][j], out["se_d"][j], out["p_value"][j])
    out["ets"] = ets
    return out


def _logit_fit(x: np.ndarray, design: np.ndarray) -> float:
    """Maximised log-likelihood of a logistic regression (Newton–Raphson, ridge-safe)."""
    beta = np.zeros(design.shape[1])
    ll_old = -np.inf
    for _ in range(50):
        eta = design @ beta
        p = 1 / (1 + np.exp(-eta))
        ll = float(np.sum(x * eta - np.logaddexp(0, eta)))
        grad = design.T @ (x - p)
        hess = (design * (p * (1 - p))[:, None]).T @ design + 1e-9 * np.eye(design.shape[1])
        step = np.linalg.solve(hess, grad)
        beta += step
        if abs(ll - ll_old) < 1e-10 and np.max(np.abs(step)) < 1e-8:
            break
        ll_old = ll
    eta = design @ beta
    return float(np.sum(x * eta - np.logaddexp(0, eta)))


def logistic_dif(
    responses: ArrayLike, groups: ArrayLike, theta: ArrayLike, *, min_group: int = 20
) -> dict[str, np.ndarray]:
    """Per item: chi2/p for uniform (1 df), non-uniform (1 df) and both (2 df), ΔR² (Nagelkerke) and class."""
    codes, g, t = _inputs(responses, groups, theta)
    n_items = codes.shape[1]
    keys = ("chi2_uniform", "p_uniform", "chi2_nonuniform", "p_nonuniform", "chi2_both", "p_both", "delta_r2")
    out = {k: np.full(n_items, np.nan) for k in keys}
    cls = np.full(n_items, "n/a", dtype=object)
    for j in range(n_items):
        keep = (codes[:, j] != MISSING) & np.isin(g, (0, 1)) & np.isfinite(t)
        x, gj, tj = codes[keep, j].astype(float), g[keep].astype(float), t[keep]
        if min(np.sum(gj == 0), np.sum(gj == 1)) < min_group or x.min() == x.max():
            continue
        one = np.ones_like(tj)
        ll0 = _logit_fit(x, np.column_stack([one]))
        ll1 = _logit_fit(x, np.column_stack([one, tj]))
        ll2 = _logit_fit(x, np.column_stack([one, tj, gj]))
        ll3 = _logit_fit(x, np.column_stack([one, tj, gj, tj * gj]))
        for name, stat, df in (
            ("uniform", 2 * (ll2 - ll1), 1),
            ("nonuniform", 2 * (ll3 - ll2), 1),
            ("both", 2 * (ll3 - ll1), 2),
        ):
            out[f"chi2_{name}"][j] = max(stat, 0.0)
            out[f"p_{name}"][j] = chi2.sf(max(stat, 0.0), df)
        n = x.size
        # Nagelkerke R² of the model with θ̂ only and with all DIF terms
        top = 1 - np.exp(2 * ll0 / n)
        r2_1 = (1 - np.exp(-2 * (ll1 - ll0) / n)) / top
        r2_3 = (1 - np.exp(-2 * (ll3 - ll0) / n)) / top
        out["delta_r2"][j] = r2_3 - r2_1
        sig = out["p_both"][j] < 0.05
        dr2 = out["delta_r2"][j]
        cls[j] = "C" if sig and dr2 >= 0.070 else "B" if sig and dr2 >= 0.035 else "A"
    out["class"] = cls
    return out
