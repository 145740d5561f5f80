"""Stopping rules: one interface, ``reasons(sessions, rows, elapsed) -> array of reason or None``.

Order of precedence: time limit, maximum length, then (only once min_items scored items are in and
content minimums are met) classification and the SE target. An exhausted pool is detected by the
engine when it finds nothing eligible.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from .content import ContentRules
from .estimators import local_derivatives
from .sessions import Sessions


def cut_matrix(cuts: list[float] | list[list[float]] | None, dims: int) -> list[NDArray[np.float64]] | None:
    """Cut scores per dimension (one shared list is used for every dimension)."""
    if not cuts:
        return None
    if isinstance(cuts[0], (list, tuple)):
        out = [np.sort(np.asarray(c, dtype=float)) for c in cuts]
        if len(out) != dims:
            from .errors import ConfigError

            raise ConfigError(f"cut_scores: need one list per dimension ({dims})")
        if all(np.array_equal(c, out[0]) for c in out):
            return [out[0]] * dims  # one shared array: levels() then needs one search
        return out
    return [np.sort(np.asarray(cuts, dtype=float))] * dims


def levels(theta: NDArray[np.float64], cuts: list[NDArray[np.float64]]) -> NDArray[np.intp]:
    """Level index per dimension: number of cuts at or below θ̂."""
    if all(c is cuts[0] for c in cuts):
        return np.searchsorted(cuts[0], theta, side="right")
    return np.stack(
        [np.searchsorted(cuts[d], theta[:, d], side="right") for d in range(theta.shape[1])], axis=1
    )


class Stopper:
    def __init__(self, s: Sessions, content: ContentRules) -> None:
        cfg = s.cfg
        self.cfg, self.content = cfg, content
        t = cfg.se_target
        self.se_target = None if t is None else np.broadcast_to(np.asarray(t, dtype=float), (s.dims,))
        self.se_limit = None if self.se_target is None else self.se_target[None, :] + 1e-12
        self.cuts = cut_matrix(cfg.cut_scores, s.dims)
        self.z = float(norm.ppf(0.5 + cfg.ci_level / 2))
        self.upper = math.log((1 - cfg.sprt_beta) / cfg.sprt_alpha)
        self.lower = math.log(cfg.sprt_beta / (1 - cfg.sprt_alpha))

    def reasons(
        self, s: Sessions, rows: NDArray[np.intp], elapsed: float | None = None
    ) -> NDArray[np.object_]:
        if rows.size == 1:
            out = np.empty(1, dtype=object)
            out[0] = self.reason_one(s, rows, elapsed)
            return out
        return self._reasons_batch(s, rows, elapsed)

    def reason_one(self, s: Sessions, rows: NDArray[np.intp], elapsed: float | None = None) -> str | None:
        """reasons() for one row (``rows`` holds it) with scalar tests in the same order of precedence."""
        cfg = self.cfg
        if cfg.time_limit is not None and elapsed is not None and elapsed >= cfg.time_limit:
            return "time_limit"
        row = int(rows[0])
        n = int(s.n_scored[row])
        if n >= cfg.max_items:
            return "max_items"
        if n < cfg.min_items or self.content.has_min and not (s.area_count[row] >= self.content.min).all():
            return None  # (the second test is content.minimums_met for the row)
        if self.cuts is not None and cfg.classification in ("ci", "sprt"):
            rule = self._ci_classified if cfg.classification == "ci" else self._sprt_classified
            if rule(s, rows)[0]:
                return f"classification_{cfg.classification}"
        if self.se_limit is not None:
            se = np.sqrt(np.maximum(s.cov[row].diagonal(), 0.0))  # = s.se_of(rows)[0]
            if (se <= self.se_limit[0]).all():
                return "se_target"
        return None

    def _reasons_batch(
        self, s: Sessions, rows: NDArray[np.intp], elapsed: float | None = None
    ) -> NDArray[np.object_]:
        cfg = self.cfg
        out = np.empty(len(rows), dtype=object)  # all None
        if cfg.time_limit is not None and elapsed is not None and elapsed >= cfg.time_limit:
            out[:] = "time_limit"
            return out
        # Boolean masks decide; the object array is only written where a rule fires (comparing
        # object arrays with None is slow).
        n = s.n_scored[rows]
        maxed = n >= cfg.max_items
        if maxed.any():
            out[maxed] = "max_items"
        ready = ~maxed & (n >= cfg.min_items)
        if self.content.has_min:
            ready &= self.content.minimums_met(s, rows)
        if not ready.any():
            return out
        idx = np.flatnonzero(ready)
        r = rows[idx]
        undecided = None
        if self.cuts is not None and cfg.classification in ("ci", "sprt"):
            rule = self._ci_classified if cfg.classification == "ci" else self._sprt_classified
            done = rule(s, r)
            out[idx[done]] = f"classification_{cfg.classification}"
            undecided = ~done
        if self.se_limit is not None:
            se_ok = np.all(s.se_of(r) <= self.se_limit, axis=1)
            out[idx[se_ok if undecided is None else se_ok & undecided]] = "se_target"
        return out

    def _ci_classified(self, s: Sessions, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
        theta, se = s.theta[rows], s.se_of(rows)
        ok = np.ones(len(rows), bool)
        for d, cuts in enumerate(self.cuts or []):
            lo, hi = theta[:, d] - self.z * se[:, d], theta[:, d] + self.z * se[:, d]
            inside = (cuts[None, :] > lo[:, None]) & (cuts[None, :] < hi[:, None])
            ok &= ~inside.any(axis=1)
        return ok

    def _sprt_classified(self, s: Sessions, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
        """Wald's SPRT at every cut: log L(c+δ) − log L(c−δ) beyond both bounds, consistently ordered."""
        delta = self.cfg.sprt_delta
        ok = np.ones(len(rows), bool)
        for d, cuts in enumerate(self.cuts or []):
            above = np.zeros((len(rows), cuts.size), bool)
            decided = np.zeros_like(above)
            for k, c in enumerate(cuts):
                pts = np.zeros((len(rows), s.dims))
                pts[:, d] = c + delta
                hi, _, _ = local_derivatives(s, rows, pts)
                pts[:, d] = c - delta
                lo, _, _ = local_derivatives(s, rows, pts)
                llr = hi[:, d] - lo[:, d]
                above[:, k] = llr >= self.upper
                decided[:, k] = above[:, k] | (llr <= self.lower)
            # "above" decisions must form a prefix of the ordered cuts (a single level).
            monotone = (
                np.all(above[:, :-1] >= above[:, 1:], axis=1) if cuts.size > 1 else np.ones(len(rows), bool)
            )
            ok &= decided.all(axis=1) & monotone
        return ok
