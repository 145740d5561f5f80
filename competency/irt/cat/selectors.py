"""Item selection criteria: one interface, ``criterion(sessions, rows) -> (r, n) scores`` (higher = better).

A criterion only scores; selection.py masks ineligible items and picks (with the exposure steps of
exposure.py). A criterion that also narrows the eligible items (a-stratified: the current stratum)
offers that as ``soft_rule``. Information comes from the bank's gridded tables, linearly
interpolated at θ̂.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from . import rng
from .estimators import posterior_weights
from .sessions import Sessions, block

Arr = NDArray[np.float64]


class Criterion(Protocol):
    # None, or a soft eligibility rule (s, rows, rates) -> mask the criterion comes with
    soft_rule: Callable[[Sessions, NDArray[np.intp], Arr | None], NDArray[np.bool_] | None] | None

    def criterion(self, s: Sessions, rows: NDArray[np.intp]) -> Arr: ...


def info_at_theta(s: Sessions, rows: NDArray[np.intp]) -> Arr:
    """Fisher information of every item at the session's θ̂ on the item's dimension, (r, n)."""
    _, _, info = s.bank.tables
    if s.dims == 1:
        j, w = s.bank.grid.locate(s.theta[block(rows), 0])
        lo = info[j]
        return lo + w[:, None] * (info[j + 1] - lo)
    j, w = s.bank.grid.locate(s.theta[block(rows)])  # (r, D)
    # take along the axis: a mixed slice/array index costs several times more on one row
    jj, ww = j.take(s.item_dim, axis=1), w.take(s.item_dim, axis=1)  # (r, n)
    # info[jj, i] and info[jj + 1, i] as flat takes from the item-major copy, where the two sit side
    # by side (cheaper than 2-D fancy indexing, and cache-friendly on big batches). In-place steps
    # (fresh arrays; + and * commute exactly) spare big batches three temporaries.
    flat = jj
    flat += s.layout.item_offsets
    by_item = s.layout.info_by_item
    lo = by_item.take(flat)
    flat += 1
    out = by_item.take(flat)
    out -= lo
    out *= ww
    out += lo  # lo + ww * (hi - lo)
    return out.reshape(len(rows), -1)


class MaxInfo:
    """Maximum Fisher information; with several dimensions, the D-optimal rule.

    D-optimal for a between-item item i on dimension d: det(P + I_i e_d e_dᵀ) = det(P)(1 + I_i C_dd)
    with P the posterior precision and C = P⁻¹ the posterior covariance, so the best item maximises
    I_i(θ̂_d) · C_dd (no determinant needed).
    """

    soft_rule = None

    def criterion(self, s: Sessions, rows: NDArray[np.intp]) -> Arr:
        crit = info_at_theta(s, rows)
        if s.dims > 1:
            var = s.cov[block(rows)].diagonal(0, 1, 2)  # (r, D)
            crit *= var.take(s.item_dim, axis=1)  # crit is fresh
        return crit


class RankedMaxInfo:
    """Maximum information read from the bank's per-θ ranking (one dimension, no soft rules).

    θ̂ is rounded to a 0.01 grid; the first ``k`` eligible entries of that row are the k most
    informative eligible items. Rows whose ranking holds fewer than k eligible items return -1
    and go through the general path.
    """

    STEP = 0.01

    def __init__(self, s: Sessions) -> None:
        self.depth = s.cfg.max_items + s.cfg.randomesque + 16
        self.ranking = s.bank.mfi_ranking(self.depth, self.STEP)

    def candidates(
        self, s: Sessions, rows: NDArray[np.intp], k: int
    ) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
        """(r, depth) ranked item indices and their eligibility for the rows."""
        bound = s.bank.grid.bound
        # minimum/maximum: np.clip's dispatch costs more than the work on these tiny arrays
        m = np.rint((np.minimum(np.maximum(s.theta[rows, 0], -bound), bound) + bound) / self.STEP).astype(
            np.intp
        )
        m = np.minimum(m, self.ranking.shape[0] - 1)
        cand = self.ranking[m]
        flat = rows[:, None] * s.admin.shape[1] + cand  # flat take is much cheaper than 2-D fancy indexing
        used = np.take(s.admin, flat)
        if s.any_blocked:
            used |= np.take(s.blocked, flat)
        return cand, ~used

    def eligible_one(self, s: Sessions, row: int) -> NDArray[np.int32] | None:
        """The eligible ranked items for one row, best first; None when θ̂ is not finite.

        The same cell as candidates(): Python's round() is round-half-even like np.rint, and the
        clipping and scaling are the same IEEE operations on one float.
        """
        theta = float(s.theta[row, 0])
        if not math.isfinite(theta):
            return None
        bound = s.bank.grid.bound
        m = min(round((min(max(theta, -bound), bound) + bound) / self.STEP), self.ranking.shape[0] - 1)
        cand = self.ranking[m]
        used = s.admin[row].take(cand)
        if s.any_blocked:
            used |= s.blocked[row].take(cand)
        return cand[~used]


class PosteriorWeightedInfo:
    """∫ I_i(θ) p(θ | responses) dθ on the grid (one dimension)."""

    soft_rule = None

    def criterion(self, s: Sessions, rows: NDArray[np.intp]) -> Arr:
        _, _, info = s.bank.tables
        return posterior_weights(s, rows) @ info


class PosteriorKL:
    """Posterior-weighted Kullback–Leibler: ∫ KL(P(·|θ̂) ‖ P(·|θ)) p(θ | responses) dθ."""

    soft_rule = None

    def criterion(self, s: Sessions, rows: NDArray[np.intp]) -> Arr:
        prob, logp, _ = s.bank.tables
        w = posterior_weights(s, rows)  # (r, G)
        j, f = s.bank.grid.locate(s.theta[rows, 0])
        p_hat = prob[:, :, j] * (1 - f) + prob[:, :, j + 1] * f  # (n, K, r)
        finite_logp = np.where(np.isfinite(logp), logp, 0.0)
        expected_log = np.einsum("nkg,rg->nkr", finite_logp, w)
        with np.errstate(divide="ignore", invalid="ignore"):
            self_term = np.where(p_hat > 0, p_hat * np.log(p_hat), 0.0)
        return np.sum(self_term - p_hat * expected_log, axis=1).T


class AStratified:
    """a-stratified selection with b-matching (Chang & Ying): low-a strata first."""

    def __init__(self, s: Sessions) -> None:
        bank, n_strata = s.bank, s.cfg.strata
        stratum = np.full(len(bank), -1, np.intp)
        ops = np.flatnonzero(bank.operational)
        order = ops[np.argsort(bank.a[ops], kind="stable")]
        for k, chunk in enumerate(np.array_split(order, n_strata)):
            stratum[chunk] = k
        self.stratum, self.n_strata = stratum, n_strata
        self.soft_rule = self.stage_mask

    def stage_mask(self, s: Sessions, rows: NDArray[np.intp], rates: Arr | None = None) -> NDArray[np.bool_]:
        """Only the current stratum's items (a soft rule: the stage follows the scored count)."""
        stage = np.minimum(s.n_scored[rows] * self.n_strata // s.cfg.max_items, self.n_strata - 1)
        return self.stratum[None, :] == stage[:, None]

    def criterion(self, s: Sessions, rows: NDArray[np.intp]) -> Arr:
        theta = s.theta[rows][:, s.item_dim] if s.dims > 1 else s.theta[rows, :1]
        return -np.abs(s.bank.location[None, :] - theta)


class RandomSelection:
    soft_rule = None

    def criterion(self, s: Sessions, rows: NDArray[np.intp]) -> Arr:
        n = len(s.bank)
        return rng.uniforms(
            s.seeds[rows][:, None],
            rng.STREAM_RANDOM_SELECT,
            s.n_total[rows][:, None] * n + np.arange(n)[None, :],
        )


def make_criterion(s: Sessions) -> Criterion:
    name = s.cfg.selector
    if name in ("mfi", "dopt"):
        return MaxInfo()
    if name == "astrat":
        return AStratified(s)
    if name == "random":
        return RandomSelection()
    return {"pwi": PosteriorWeightedInfo, "kl": PosteriorKL}[name]()
