"""Engine: composes start, select, estimate and stop (plus exposure and content rules).

Nothing lives in process memory between calls: every step rebuilds its arrays from the CatState
(a replay of the recorded responses, O(items × grid)), so any worker can continue any attempt.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import rng
from .bank import Bank, Grid, load_bank
from .config import EngineConfig
from .content import ContentRules
from .errors import (
    CatError,
    ConfigError,
    InvalidResponseError,
    ItemAlreadyAnsweredError,
    StateMismatchError,
    UnknownItemError,
)
from .estimators import make_estimator
from .exposure import rate_mask, sh_vector
from .selectors import AStratified, RankedMaxInfo, make_selector
from .sessions import Layout, Prior, Sessions
from .state import CatState
from .stopping import Stopper, cut_matrix, levels


class Engine:
    """An adaptive test over one bank with one configuration.

    >>> engine = Engine(Bank.from_items(items), EngineConfig(se_target=0.3))
    >>> state = engine.start(seed=7)
    >>> item_id = engine.next_item(state)            # None once stopped; see state.stop_reason
    >>> state = engine.record(state, item_id, 1)     # a new state; the old one is unchanged
    """

    def __init__(
        self, bank: Bank | Mapping[str, Any] | str, config: EngineConfig | Mapping[str, Any] | None = None
    ):
        cfg = config if isinstance(config, EngineConfig) else EngineConfig.from_dict(dict(config or {}))
        bank = load_bank(bank)
        if (bank.grid.points, bank.grid.bound) != (cfg.grid_points, cfg.grid_bound):
            bank = _with_grid(bank, Grid(cfg.grid_bound, cfg.grid_points))
        self.bank, self.cfg = bank, cfg
        dims = bank.n_dimensions if cfg.mcat else 1
        if cfg.mcat and cfg.estimator == "ml":
            raise ConfigError("estimator: 'ml' is one-dimensional; use 'eap' or 'map' with mcat")
        if dims > 1 and cfg.selector in ("pwi", "kl"):
            raise ConfigError("selector: 'pwi'/'kl' are one-dimensional; use 'mfi' (D-optimal) with mcat")
        self.dims = dims
        self.prior = Prior(cfg, dims)
        self.layout = Layout(bank, cfg, self.prior)
        template = self.new_sessions(np.zeros(0, np.int64))
        self.content = ContentRules(template)
        self.stopper = Stopper(template, self.content)
        self.selector = make_selector(template)
        self.estimator = make_estimator(template)
        self.sh = sh_vector(bank, cfg)
        self.cuts = cut_matrix(cfg.cut_scores, dims)
        self.pilot_positions = np.array(sorted({int(p) for p in cfg.pilot_positions}), np.intp)
        # pilot_slot[k]: delivery position k gets a pilot item (the last entry stands for "beyond")
        self.pilot_slot = np.zeros(int(self.pilot_positions.max(initial=0)) + 2, bool)
        self.pilot_slot[self.pilot_positions] = True
        self.use_pilot = bool(self.pilot_positions.size and bank.pilot.any())
        self.any_operational = bool(bank.operational.any())
        # Python lists for the per-request checks (numpy scalar access costs ~100 ns per item)
        self._n_cats = bank.n_cats.tolist()
        self._is_pilot = bank.pilot.tolist()
        self.se_target = self.stopper.se_target
        plain = (
            cfg.selector == "mfi"
            and dims == 1
            and cfg.exposure == "none"
            and not (cfg.content_targets or cfg.content_min or cfg.content_max)
        )
        self.ranked = RankedMaxInfo(template) if plain and self.bank.operational.any() else None

    # ------------------------------------------------------------------ step API

    def start(self, seed: int | None = None) -> CatState:
        """A fresh state (the seed drives randomesque, Sympson–Hetter and pilot draws)."""
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**53))
        return CatState(
            bank=self.bank.fingerprint,
            seed=int(seed),
            theta=self.prior.mean.tolist(),
            se=self.prior.sd.tolist(),
            level=None if self.cuts is None else levels(self.prior.mean[None, :], self.cuts)[0].tolist(),
        )

    def next_item(
        self,
        state: CatState,
        elapsed_seconds: float | None = None,
        exposure_rates: Mapping[str, float] | Sequence[float] | None = None,
    ) -> str | None:
        """The next item id, or None when the test stops (then ``state.stop_reason`` is set).

        Updates ``state`` in place: ``pending``, ``skipped`` (Sympson–Hetter) and ``stop_reason``.
        Calling it again before ``record`` returns the same pending item.
        """
        if state.stop_reason is not None:
            return None
        if state.pending is not None and state.pending not in state.administered:
            self._check_bank(state)
            return state.pending
        return self._select(self._rebuild(state), state, elapsed_seconds, exposure_rates)

    def _select(
        self,
        s: Sessions,
        state: CatState,
        elapsed_seconds: float | None,
        exposure_rates: Mapping[str, float] | Sequence[float] | None,
    ) -> str | None:
        rows = _ROW0
        reason = self.stopper.reasons(s, rows, elapsed_seconds)[0]
        item = -1
        if reason is None:
            item = int(self.choose(s, rows, self._rates(exposure_rates))[0])
            if item < 0:
                reason = self._exhausted_reason(s, 0)
        if reason is not None:
            state.stop_reason, state.pending = str(reason), None
            return None
        state.skipped = [self.bank.ids[i] for i in s.skipped[0]]
        state.pending = self.bank.ids[item]
        return state.pending

    def record(self, state: CatState, item_id: str, score: Any) -> CatState:
        """A new state with ``score`` recorded for ``item_id`` and the estimate updated.

        Raises (leaving ``state`` unchanged): UnknownItemError, ItemAlreadyAnsweredError,
        InvalidResponseError, StateMismatchError, CatError (the test has stopped).
        """
        return self._record(state, item_id, score)[0]

    def record_and_next(
        self,
        state: CatState,
        item_id: str,
        score: Any,
        elapsed_seconds: float | None = None,
        exposure_rates: Mapping[str, float] | Sequence[float] | None = None,
    ) -> tuple[CatState, str | None]:
        """``record`` then ``next_item`` on the new state, replaying the state once instead of twice.

        This is the web layer's step: one answer in, the next item (or None and a stop reason) out.
        """
        new, s = self._record(state, item_id, score)
        return new, self._select(s, new, elapsed_seconds, exposure_rates)

    def _record(self, state: CatState, item_id: str, score: Any) -> tuple[CatState, Sessions]:
        self._check_bank(state)
        idx = self.bank.index.get(str(item_id))
        if idx is None:
            raise UnknownItemError(f"item_id: {item_id!r} is not in this bank")
        if str(item_id) in state.administered:
            raise ItemAlreadyAnsweredError(f"item_id: {item_id!r} has already been answered")
        if state.stop_reason is not None:
            raise CatError(f"stop_reason: the test has stopped ({state.stop_reason}); no more responses")
        x = _valid_score(score, self._n_cats[idx], str(item_id))
        # A pilot response changes no estimate, so the replayed one must stand.
        s = self._rebuild(state, estimate=self._is_pilot[idx])
        self.apply(s, _ROW0, np.array([idx]), np.array([x]))
        new = state.copy()
        new.administered.append(self.bank.ids[idx])
        new.responses.append(x)
        new.pending = None
        self._write_estimate(s, new)
        return new, s

    def should_stop(self, state: CatState, elapsed_seconds: float | None = None) -> tuple[bool, str | None]:
        """(stop?, reason) without changing the state."""
        if state.stop_reason is not None:
            return True, state.stop_reason
        s = self._rebuild(state)
        rows = _ROW0
        reason = self.stopper.reasons(s, rows, elapsed_seconds)[0]
        if reason is None and not self.eligible(s, rows, None, hard_only=True).any():
            reason = self._exhausted_reason(s, 0)
        return reason is not None, reason

    def summary(self, state: CatState) -> dict[str, Any]:
        """Per-dimension result: code, theta, se, level (when cut scores are set)."""
        codes = self.bank.dimension_codes if self.dims > 1 else ("all",)
        out = []
        for d, code in enumerate(codes):
            row = {"code": code, "theta": state.theta[d], "se": state.se[d]}
            if state.level is not None:
                row["level"] = state.level[d]
            out.append(row)
        n_pilot = sum(1 for i in state.administered if self.bank.pilot[self.bank.index[i]])
        return {
            "dimensions": out,
            "items": len(state.administered) - n_pilot,
            "pilot_items": n_pilot,
            "stop_reason": state.stop_reason,
        }

    # ------------------------------------------------------------------ batch core (shared with simulation)

    def new_sessions(self, seeds: NDArray[np.int64], capacity: int = 0) -> Sessions:
        return Sessions(self.bank, self.cfg, seeds, self.prior, capacity, self.layout)

    def apply(
        self, s: Sessions, rows: NDArray[np.intp], items: NDArray[np.intp], resp: NDArray[np.intp]
    ) -> None:
        """Record responses and re-estimate the rows whose scored evidence changed."""
        changed = s.record(rows, items, resp)
        if changed.size:
            theta, cov = self.estimator.estimate(s, changed)
            s.theta[changed], s.cov[changed] = theta, cov

    def eligible(
        self, s: Sessions, rows: NDArray[np.intp], rates: NDArray[np.float64] | None, hard_only: bool = False
    ) -> NDArray[np.bool_]:
        """(r, n) items each session may get now: hard rules, then soft rules that never empty the set."""
        if len(rows) == 1:
            return self._eligible_one(s, rows, rates, hard_only)[None, :]
        elig = ~(s.admin[rows] | s.blocked[rows]) if s.any_blocked else ~s.admin[rows]
        elig &= self.bank.operational
        hard = self.content.hard_mask(s, rows)
        if hard is not None:
            elig &= hard
        if hard_only:
            return elig
        soft: list[NDArray[np.bool_] | None] = []
        if self.dims > 1 and self.se_target is not None:
            open_dim = s.se_of(rows) > self.se_target[None, :]
            soft.append(open_dim[:, s.item_dim])
        soft.append(self.content.minimum_mask(s, rows))
        soft.append(rate_mask(rates, self.cfg, len(self.bank)))  # (n,): broadcasts over the rows
        if isinstance(self.selector, AStratified):
            soft.append(self.selector.stage_mask(s, rows))
        for m in soft:
            elig = _narrow(elig, m)
        return _narrow(elig, self.content.deficit_mask(s, rows, elig))

    def _eligible_one(
        self, s: Sessions, rows: NDArray[np.intp], rates: NDArray[np.float64] | None, hard_only: bool
    ) -> NDArray[np.bool_]:
        """eligible() for the one row in ``rows``, as an (n,) mask: the same rules in the same order,
        on the row's 1-D slices (the content rules still see ``rows`` and return (1, n) masks)."""
        row = int(rows[0])
        elig = ~(s.admin[row] | s.blocked[row]) if s.any_blocked else ~s.admin[row]
        elig &= self.bank.operational
        hard = self.content.hard_mask(s, rows)
        if hard is not None:
            elig &= hard[0]
        if hard_only:
            return elig
        soft: list[NDArray[np.bool_] | None] = []
        if self.dims > 1 and self.se_target is not None:
            se = np.sqrt(np.maximum(s.cov[row].diagonal(), 0.0))  # = s.se_of(rows)[0]
            soft.append((se > self.se_target)[s.item_dim])
        soft.append(self.content.minimum_mask(s, rows))
        soft.append(rate_mask(rates, self.cfg, len(self.bank)))
        if isinstance(self.selector, AStratified):
            soft.append(self.selector.stage_mask(s, rows))
        for m in soft:
            elig = _narrow_one(elig, m)
        return _narrow_one(elig, self.content.deficit_mask(s, rows, elig[None, :]))

    def choose(
        self, s: Sessions, rows: NDArray[np.intp], rates: NDArray[np.float64] | None = None
    ) -> NDArray[np.intp]:
        """One item per row (-1 when nothing is eligible): pilot slot, else the selector's pick."""
        items = np.full(len(rows), -1, np.intp)
        todo: NDArray[np.intp] | None = None  # rows still without an item (None: all of them)
        if self.use_pilot:
            self._pilot(s, rows, items)
            todo = np.flatnonzero(items < 0)
            if todo.size == 0:
                return items
        if not self.any_operational:
            return items
        if self.ranked is not None:
            pick = self._ranked_pick(s, rows if todo is None else rows[todo])
            if todo is None:
                items = pick
                todo = np.flatnonzero(pick < 0)
            else:
                items[todo] = pick
                todo = todo[pick < 0]
            if todo.size == 0:
                return items
        ar = rows if todo is None else rows[todo]
        elig = self.eligible(s, ar, rates)
        crit = self.selector.criterion(s, ar)
        crit = np.where(elig, crit, -np.inf)
        pick = self._pick(s, ar, crit)
        if self.sh is not None:
            pick = self._sympson_hetter(s, ar, crit, pick)
        else:
            _count_selected(s, pick)
        if todo is None:
            return pick
        items[todo] = pick
        return items

    # ------------------------------------------------------------------ helpers

    def _pick(self, s: Sessions, rows: NDArray[np.intp], crit: NDArray[np.float64]) -> NDArray[np.intp]:
        """The best item per row (randomesque: a draw among the best k); -1 where none is eligible."""
        if len(rows) == 1:
            return np.array([self._pick_one(s, int(rows[0]), crit[0])], np.intp)
        k = self.cfg.randomesque
        best = np.argmax(crit, axis=1)
        at = np.arange(len(rows))
        ok = np.isfinite(crit[at, best])
        if k > 1 and crit.shape[1] > 1:
            k = min(k, crit.shape[1])
            neg = -crit
            top = np.argpartition(neg, k - 1, axis=1)[:, :k]
            # best first, so the j-th draw means the j-th best on both selection paths
            # (plain fancy indexing: take_along_axis costs more than the gather on these small arrays)
            col = at[:, None]
            top = top[col, np.argsort(neg[col, top], axis=1)]
            finite = np.isfinite(crit[col, top])
            count = finite.sum(axis=1)
            u = rng.uniforms(s.seeds[rows], rng.STREAM_RANDOMESQUE, s.n_total[rows], s.n_skipped[rows])
            j = np.minimum((u * count).astype(np.intp), np.maximum(count - 1, 0))
            # the j-th finite entry among the top k
            order = np.argsort(~finite, axis=1, kind="stable")
            best = np.where(count > 0, top[at, order[at, j]], best)
        return np.where(ok, best, -1)

    def _pick_one(self, s: Sessions, row: int, crit: NDArray[np.float64]) -> int:
        """_pick for one row on its (n,) criterion: the same numpy sorts on the same values (a row of a
        2-D array is partitioned and sorted exactly as a 1-D array), scalar bookkeeping around them."""
        best = int(crit.argmax())
        if not math.isfinite(crit[best]):
            return -1
        k = self.cfg.randomesque
        if k > 1 and crit.size > 1:
            k = min(k, crit.size)
            neg = -crit
            top = neg.argpartition(k - 1)[:k]
            top = top[neg.take(top).argsort()]  # best first
            finite = [
                i for i, v in zip(top.tolist(), crit.take(top).tolist(), strict=True) if math.isfinite(v)
            ]
            if finite:
                seed, pos, tries = int(s.seeds[row]), int(s.n_total[row]), int(s.n_skipped[row])
                u = rng.uniform_one(seed, rng.STREAM_RANDOMESQUE, pos, tries)
                best = finite[min(int(u * len(finite)), len(finite) - 1)]
        return best

    def _ranked_pick(self, s: Sessions, rows: NDArray[np.intp]) -> NDArray[np.intp]:
        """Fast maximum information (+ randomesque) from the ranking; -1 where it cannot decide."""
        assert self.ranked is not None
        k = self.cfg.randomesque
        if rows.size == 1:
            one = self._ranked_pick_one(s, int(rows[0]), k)
            if one is not None:
                return np.array([one], np.intp)
        cand, ok = self.ranked.candidates(s, rows, k)
        at = np.arange(len(rows))
        if k == 1:
            pos = np.argmax(ok, axis=1)  # first eligible = most informative
            out = np.where(ok[at, pos], cand[at, pos], -1)
            s.selected_count += np.bincount(out[out >= 0], minlength=s.selected_count.size)
            return out
        rank = np.cumsum(ok, axis=1)  # 1-based rank among eligible candidates
        enough = rank[:, -1] >= k
        u = rng.uniforms(s.seeds[rows], rng.STREAM_RANDOMESQUE, s.n_total[rows], s.n_skipped[rows])
        j = np.minimum((u * k).astype(np.intp), k - 1)
        pos = np.argmax(ok & (rank == (j + 1)[:, None]), axis=1)
        out = np.where(enough, cand[at, pos], -1)
        s.selected_count += np.bincount(out[out >= 0], minlength=s.selected_count.size)
        return out

    def _ranked_pick_one(self, s: Sessions, row: int, k: int) -> int | None:
        """_ranked_pick for one row: the j-th eligible ranked item (j drawn as there); None = no shortcut."""
        assert self.ranked is not None
        elig = self.ranked.eligible_one(s, row)
        if elig is None:
            return None
        if elig.size < k:
            return -1
        j = 0
        if k > 1:
            u = rng.uniform_one(
                int(s.seeds[row]), rng.STREAM_RANDOMESQUE, int(s.n_total[row]), int(s.n_skipped[row])
            )
            j = min(int(u * k), k - 1)
        out = int(elig[j])
        s.selected_count[out] += 1
        return out

    def _sympson_hetter(
        self, s: Sessions, rows: NDArray[np.intp], crit: NDArray[np.float64], pick: NDArray[np.intp]
    ) -> NDArray[np.intp]:
        assert self.sh is not None
        pending = np.flatnonzero(pick >= 0)
        while pending.size:
            it, rr = pick[pending], rows[pending]
            s.selected_count += np.bincount(it, minlength=s.selected_count.size)
            u = rng.uniforms(s.seeds[rr], rng.STREAM_SH, s.n_total[rr], s.n_skipped[rr])
            rejected = u > self.sh[it]
            if not rejected.any():
                break
            pr, pit = pending[rejected], it[rejected]
            crit[pr, pit] = -np.inf
            s.n_skipped[rows[pr]] += 1
            nxt = self._pick(s, rows[pr], crit[pr])
            # With nothing left the lottery cannot hold the item back: administer it anyway.
            keep = nxt >= 0
            s.blocked[rows[pr[keep]], pit[keep]] = True
            s.any_blocked = s.any_blocked or bool(keep.any())
            for r, i in zip(rows[pr[keep]].tolist(), pit[keep].tolist(), strict=True):
                s.skipped[r].append(i)
            s.n_skipped[rows[pr[~keep]]] -= 1
            pick[pr[keep]] = nxt[keep]
            pending = pr[keep]
        return pick

    def _pilot(self, s: Sessions, rows: NDArray[np.intp], items: NDArray[np.intp]) -> None:
        slot = self.pilot_slot
        want = np.flatnonzero(slot[np.minimum(s.n_total[rows] + 1, slot.size - 1)])
        if want.size == 0:
            return
        wr = rows[want]
        pool = self.bank.pilot[None, :] & ~(s.admin[wr] | s.blocked[wr])
        count = pool.sum(axis=1)
        u = rng.uniforms(s.seeds[wr], rng.STREAM_PILOT, s.n_total[wr])
        k = np.minimum((u * count).astype(np.intp), np.maximum(count - 1, 0))
        idx = np.argmax(np.cumsum(pool, axis=1) > k[:, None], axis=1)
        has = count > 0
        items[want[has]] = idx[has]

    def _rates(self, rates: Mapping[str, float] | Sequence[float] | None) -> NDArray[np.float64] | None:
        if rates is None:
            return None
        if isinstance(rates, Mapping):
            out = np.zeros(len(self.bank))
            for item_id, r in rates.items():
                idx = self.bank.index.get(str(item_id))
                if idx is not None:
                    out[idx] = float(r)
            return out
        arr = np.asarray(rates, dtype=float)
        if arr.shape != (len(self.bank),):
            raise CatError(f"exposure_rates: need {len(self.bank)} rates, got {arr.size}")
        return arr

    def _exhausted_reason(self, s: Sessions, row: int) -> str:
        return "empty_pool" if s.n_scored[row] == 0 and not self.bank.operational.any() else "pool_exhausted"

    def _check_bank(self, state: CatState) -> None:
        if not isinstance(state, CatState):
            raise StateMismatchError("state: expected a CatState (use CatState.from_dict)")
        if state.bank != self.bank.fingerprint:
            raise StateMismatchError(
                f"bank: the state belongs to bank {state.bank!r}, this engine's bank is {self.bank.fingerprint!r}"
            )

    def _rebuild(self, state: CatState, estimate: bool = True) -> Sessions:
        """Sessions of one row replayed from the state; raises StateMismatchError on any inconsistency."""
        self._check_bank(state)
        administered = state.administered
        if len(administered) != len(state.responses):
            raise StateMismatchError("responses: one response per administered item is needed")
        if len(set(administered)) != len(administered):
            raise StateMismatchError("administered: an item appears twice")
        s = self.new_sessions(np.array([state.seed], np.int64), capacity=len(administered) + 1)
        if self.dims > 1 and len(state.theta) == self.dims:
            # Newton's search for the posterior mode starts from the last estimate, as in a running
            # session, instead of the prior mean: the same mode in about half the iterations.
            s.theta[0] = state.theta
        for item_id in state.skipped:
            idx = self.bank.index.get(item_id)
            if idx is None:
                raise StateMismatchError(f"skipped: {item_id!r} is not in this bank")
            s.blocked[0, idx] = True
            s.any_blocked = True
            s.skipped[0].append(idx)
        s.n_skipped[0] = len(state.skipped)
        index, n_cats = self.bank.index, self._n_cats
        idx = [index.get(item_id) for item_id in administered]
        for item_id, j, x in zip(administered, idx, state.responses, strict=True):
            if j is None:
                raise StateMismatchError(f"administered: {item_id!r} is not in this bank")
            if not 0 <= x < n_cats[j]:
                raise StateMismatchError(f"responses: {x} is outside the categories of {item_id!r}")
        resp = np.asarray(state.responses, np.intp).tolist()  # the ints the batch arrays would hold
        any_scored = s.replay(0, idx, resp)
        if any_scored and estimate:
            s.theta[0], s.cov[0] = (v[0] for v in self.estimator.estimate(s, _ROW0))
        return s

    def _write_estimate(self, s: Sessions, state: CatState) -> None:
        state.theta = s.theta[0].tolist()
        state.se = np.sqrt(np.maximum(s.cov[0].diagonal(), 0.0)).tolist()  # = s.se[0]
        if self.cuts is not None:
            state.level = levels(s.theta[:1], self.cuts)[0].tolist()


# The one row of a step-API batch. Read-only: it is shared by every call.
_ROW0 = np.zeros(1, np.intp)
_ROW0.setflags(write=False)


def _count_selected(s: Sessions, pick: NDArray[np.intp]) -> None:
    """Count each picked item (before any lottery) in s.selected_count."""
    if pick.size == 1:
        if pick[0] >= 0:
            s.selected_count[pick[0]] += 1
        return
    s.selected_count += np.bincount(pick[pick >= 0], minlength=s.selected_count.size)


def _narrow(elig: NDArray[np.bool_], mask: NDArray[np.bool_] | None) -> NDArray[np.bool_]:
    """Apply a soft rule row by row, unless it would leave a row with nothing."""
    if mask is None:
        return elig
    cand = elig & mask
    keep = cand.any(axis=1)
    if keep.all():
        return cand
    return np.where(keep[:, None], cand, elig)


def _narrow_one(elig: NDArray[np.bool_], mask: NDArray[np.bool_] | None) -> NDArray[np.bool_]:
    """_narrow for one row's (n,) mask; ``mask`` is (n,) or (1, n)."""
    if mask is None:
        return elig
    cand = elig & (mask if mask.ndim == 1 else mask[0])
    return cand if cand.any() else elig


def _valid_score(score: Any, n_cats: int, item_id: str) -> int:
    if (
        isinstance(score, (bool, np.bool_, int, np.integer))
        or isinstance(score, (float, np.floating))
        and math.isfinite(score)
        and float(score).is_integer()
    ):
        x = int(score)
    else:
        raise InvalidResponseError(f"score: {score!r} for {item_id!r} is not a category number")
    if not 0 <= x < n_cats:
        raise InvalidResponseError(f"score: {x} for {item_id!r} is outside its categories 0..{n_cats - 1}")
    return x


def _with_grid(bank: Bank, grid: Grid) -> Bank:
    clone = copy.copy(bank)
    clone.grid = grid
    for name in ("tables", "logp_rows", "_rankings"):  # everything cached that depends on the grid
        clone.__dict__.pop(name, None)
    return clone
