"""Exposure control as selection steps: randomesque picking, the Sympson–Hetter lottery around a
pick, and a maximum exposure rate as a soft eligibility rule (see selection.py for how they compose).

Randomesque: a uniform draw among the k best eligible items (k = 1: the best item).
Sympson–Hetter: when item i comes up it is administered with probability K_i; otherwise it is set
aside for this examinee and the next pick comes up (simulation.derive_sympson_hetter finds K).
Maximum rate: items whose current exposure rate reached r_max are left out while others remain.

Every pick offered (before the lottery) is counted in ``Sessions.selected_count``: the share the
Sympson–Hetter derivation calls P(S_i).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from . import rng
from .sessions import Sessions

Arr = NDArray[np.float64]
Items = NDArray[np.intp]


class Randomesque:
    """The best item per row, or a uniform draw among the best ``k``; -1 where nothing is eligible.

    The k best come from one definition (_best_first) for one row and for many; one row then finds
    the j-th finite entry with Python scalars. tests/cat/test_cat_single_row.py checks that they
    choose alike.
    """

    def __init__(self, k: int) -> None:
        self.k = int(k)

    def __call__(self, s: Sessions, rows: Items, crit: Arr) -> Items:
        """Pick for the rows from their masked criterion (-inf = ineligible) and count the picks."""
        pick = self.pick(s, rows, crit)
        if pick.size == 1:  # a step-API request: a scalar add instead of a bincount
            if pick[0] >= 0:
                s.selected_count[pick[0]] += 1
        else:
            s.selected_count += np.bincount(pick[pick >= 0], minlength=s.selected_count.size)
        return pick

    def pick(self, s: Sessions, rows: Items, crit: Arr) -> Items:
        if len(rows) == 1:
            return np.array([self._pick_one(s, int(rows[0]), crit[0])], np.intp)
        at = np.arange(len(rows))
        best = crit.argmax(axis=1)
        ok = np.isfinite(crit[at, best])
        if self.k > 1 and crit.shape[1] > 1:
            top = _best_first(crit, self.k)
            finite = np.isfinite(crit[at[:, None], top])
            count = finite.sum(axis=1)
            u = rng.uniforms(s.seeds[rows], rng.STREAM_RANDOMESQUE, s.n_total[rows], s.n_skipped[rows])
            j = np.minimum((u * count).astype(np.intp), np.maximum(count - 1, 0))
            # the j-th finite entry among the top k
            order = np.argsort(~finite, axis=1, kind="stable")
            best = np.where(count > 0, top[at, order[at, j]], best)
        return np.where(ok, best, -1)

    def _pick_one(self, s: Sessions, row: int, crit: Arr) -> int:
        """pick() for one row's (n,) criterion: the same sort (_best_first) and the same draw, the
        j-th finite entry found with Python scalars (numpy's per-call cost dominates one row)."""
        best = int(crit.argmax())
        if not math.isfinite(crit[best]):
            return -1
        if self.k > 1 and crit.size > 1:
            top = _best_first(crit, self.k).tolist()
            finite = [i for i, v in zip(top, crit.take(top).tolist(), strict=True) if math.isfinite(v)]
            if finite:
                seed, pos, tries = int(s.seeds[row]), int(s.n_total[row]), int(s.n_skipped[row])
                u = rng.uniform_one(seed, rng.STREAM_RANDOMESQUE, pos, tries)
                best = finite[min(int(u * len(finite)), len(finite) - 1)]
        return best


def _best_first(crit: Arr, k: int) -> Items:
    """Indices of the k best entries along the last axis, best first, so that the j-th draw means the
    j-th best for one row and for many (a row of a 2-D array is partitioned and sorted exactly as a
    1-D array)."""
    k = min(k, crit.shape[-1])
    neg = -crit
    top = neg.argpartition(k - 1, axis=-1)[..., :k]
    if crit.ndim == 1:
        return top[neg.take(top).argsort()]
    # plain fancy indexing: take_along_axis costs more than the gather on these small arrays
    col = np.arange(crit.shape[0])[:, None]
    return top[col, neg[col, top].argsort(axis=1)]


class SympsonHetter:
    """The Sympson–Hetter lottery around a picker: a rejected item is blocked for the examinee (it is
    remembered in ``Sessions.skipped``) and the picker offers the next; with nothing left the lottery
    cannot hold the item back, and it is administered anyway."""

    def __init__(self, picker: Randomesque, k: NDArray[np.float64]) -> None:
        self.picker, self.k = picker, k

    @classmethod
    def from_config(cls, picker: Randomesque, sh_k: Mapping[str, float], index: Mapping[str, int], n: int):
        k = np.ones(n)
        for item_id, v in sh_k.items():
            idx = index.get(item_id)
            if idx is not None:
                k[idx] = float(v)
        return cls(picker, k)

    def __call__(self, s: Sessions, rows: Items, crit: Arr) -> Items:
        pick = self.picker(s, rows, crit)
        pending = np.flatnonzero(pick >= 0)
        while pending.size:
            it, rr = pick[pending], rows[pending]
            u = rng.uniforms(s.seeds[rr], rng.STREAM_SH, s.n_total[rr], s.n_skipped[rr])
            rejected = u > self.k[it]
            if not rejected.any():
                break
            pr, pit = pending[rejected], it[rejected]
            crit[pr, pit] = -np.inf
            s.n_skipped[rows[pr]] += 1
            nxt = self.picker(s, rows[pr], crit[pr])
            keep = nxt >= 0
            s.blocked[rows[pr[keep]], pit[keep]] = True
            s.any_blocked = s.any_blocked or bool(keep.any())
            for r, i in zip(rows[pr[keep]].tolist(), pit[keep].tolist(), strict=True):
                s.skipped[r].append(i)
            s.n_skipped[rows[pr[~keep]]] -= 1
            pick[pr[keep]] = nxt[keep]
            pending = pr[keep]
        return pick


class MaxRate:
    """Soft rule: items whose current exposure rate (passed by the caller) is below r_max."""

    def __init__(self, r_max: float, n: int) -> None:
        self.r_max, self.n = r_max, n

    def __call__(self, s: Sessions, rows: Items, rates: Arr | None) -> NDArray[np.bool_] | None:
        if rates is None:
            return None
        return np.asarray(rates, dtype=float)[: self.n] < self.r_max  # (n,): broadcasts over the rows
