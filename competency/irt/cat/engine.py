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
from .sessions import Prior, Sessions
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
        template = self.new_sessions(np.zeros(0, np.int64))
        self.content = ContentRules(template)
        self.stopper = Stopper(template, self.content)
        self.selector = make_selector(template)
        self.estimator = make_estimator(template)
        self.sh = sh_vector(bank, cfg)
        self.cuts = cut_matrix(cfg.cut_scores, dims)
        self.pilot_positions = np.array(sorted({int(p) for p in cfg.pilot_positions}), np.intp)
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
        rows = np.zeros(1, np.intp)
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
        x = _valid_score(score, int(self.bank.n_cats[idx]), str(item_id))
        # A pilot response changes no estimate, so the replayed one must stand.
        s = self._rebuild(state, estimate=bool(self.bank.pilot[idx]))
        self.apply(s, np.zeros(1, np.intp), np.array([idx]), np.array([x]))
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
        rows = np.zeros(1, np.intp)
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
        return Sessions(self.bank, self.cfg, seeds, self.prior, capacity)

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
        elig = ~(s.admin[rows] | s.blocked[rows])
        elig &= self.bank.operational
        hard = self.content.hard_mask(s, rows)
        if hard is not None:
            elig &= hard
        if hard_only:
            return elig
        soft: list[NDArray[np.bool_] | None] = []
        if self.dims > 1 and self.se_target is not None:
            open_dim = s.se[rows] > self.se_target[None, :]
            soft.append(open_dim[:, s.item_dim])
        soft.append(self.content.minimum_mask(s, rows))
        mask = rate_mask(rates, self.cfg, len(self.bank))
        soft.append(None if mask is None else np.broadcast_to(mask, elig.shape))
        if isinstance(self.selector, AStratified):
            soft.append(self.selector.stage_mask(s, rows))
        for m in soft:
            elig = _narrow(elig, m)
        return _narrow(elig, self.content.deficit_mask(s, rows, elig))

    def choose(
        self, s: Sessions, rows: NDArray[np.intp], rates: NDArray[np.float64] | None = None
    ) -> NDArray[np.intp]:
        """One item per row (-1 when nothing is eligible): pilot slot, else the selector's pick."""
        items = np.full(len(rows), -1, np.intp)
        if self.pilot_positions.size and self.bank.pilot.any():
            self._pilot(s, rows, items)
        todo = np.flatnonzero(items < 0)
        if todo.size == 0 or not self.bank.operational.any():
            return items
        if self.ranked is not None:
            items[todo] = self._ranked_pick(s, rows[todo])
            todo = todo[items[todo] < 0]
            if todo.size == 0:
                return items
        ar = rows[todo]
        elig = self.eligible(s, ar, rates)
        crit = self.selector.criterion(s, ar)
        crit = np.where(elig, crit, -np.inf)
        pick = self._pick(s, ar, crit)
        if self.sh is not None:
            pick = self._sympson_hetter(s, ar, crit, pick)
        else:
            s.selected_count += np.bincount(pick[pick >= 0], minlength=s.selected_count.size)
        items[todo] = pick
        return items

    # ------------------------------------------------------------------ helpers

    def _pick(self, s: Sessions, rows: NDArray[np.intp], crit: NDArray[np.float64]) -> NDArray[np.intp]:
        k = self.cfg.randomesque
        best = np.argmax(crit, axis=1)
        ok = np.isfinite(crit[np.arange(len(rows)), best])
        if k > 1 and crit.shape[1] > 1:
            k = min(k, crit.shape[1])
            top = np.argpartition(-crit, k - 1, axis=1)[:, :k]
            # best first, so the j-th draw means the j-th best on both selection paths
            top = np.take_along_axis(top, np.argsort(-np.take_along_axis(crit, top, axis=1), axis=1), axis=1)
            finite = np.isfinite(np.take_along_axis(crit, top, axis=1))
            count = finite.sum(axis=1)
            u = rng.uniforms(s.seeds[rows], rng.STREAM_RANDOMESQUE, s.n_total[rows], s.n_skipped[rows])
            j = np.minimum((u * count).astype(np.intp), np.maximum(count - 1, 0))
            # the j-th finite entry among the top k
            order = np.argsort(~finite, axis=1, kind="stable")
            best = np.where(count > 0, top[np.arange(len(rows)), order[np.arange(len(rows)), j]], best)
        return np.where(ok, best, -1)

    def _ranked_pick(self, s: Sessions, rows: NDArray[np.intp]) -> NDArray[np.intp]:
        """Fast maximum information (+ randomesque) from the ranking; -1 where it cannot decide."""
        assert self.ranked is not None
        k = self.cfg.randomesque
        cand, ok = self.ranked.candidates(s, rows, k)
        if k == 1:
            pos = np.argmax(ok, axis=1)  # first eligible = most informative
            out = np.where(ok[np.arange(len(rows)), pos], cand[np.arange(len(rows)), pos], -1)
            s.selected_count += np.bincount(out[out >= 0], minlength=s.selected_count.size)
            return out
        rank = np.cumsum(ok, axis=1)  # 1-based rank among eligible candidates
        enough = rank[:, -1] >= k
        j = np.zeros(len(rows), np.intp)
        if k > 1:
            u = rng.uniforms(s.seeds[rows], rng.STREAM_RANDOMESQUE, s.n_total[rows], s.n_skipped[rows])
            j = np.minimum((u * k).astype(np.intp), k - 1)
        pos = np.argmax(ok & (rank == (j + 1)[:, None]), axis=1)
        out = np.where(enough, cand[np.arange(len(rows)), pos], -1)
        s.selected_count += np.bincount(out[out >= 0], minlength=s.selected_count.size)
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
        want = np.flatnonzero(np.isin(s.n_total[rows] + 1, self.pilot_positions))
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
        if len(state.administered) != len(state.responses):
            raise StateMismatchError("responses: one response per administered item is needed")
        if len(set(state.administered)) != len(state.administered):
            raise StateMismatchError("administered: an item appears twice")
        s = self.new_sessions(np.array([state.seed], np.int64), capacity=len(state.administered) + 1)
        if self.dims > 1 and len(state.theta) == self.dims:
            # Newton's search for the posterior mode starts from the last estimate, as in a running
            # session, instead of the prior mean: the same mode in about half the iterations.
            s.theta[0] = state.theta
        row = np.zeros(1, np.intp)
        for item_id in state.skipped:
            idx = self.bank.index.get(item_id)
            if idx is None:
                raise StateMismatchError(f"skipped: {item_id!r} is not in this bank")
            s.blocked[0, idx] = True
            s.any_blocked = True
            s.skipped[0].append(idx)
        s.n_skipped[0] = len(state.skipped)
        idx = np.empty(len(state.administered), np.intp)
        for k, (item_id, x) in enumerate(zip(state.administered, state.responses, strict=True)):
            j = self.bank.index.get(item_id)
            if j is None:
                raise StateMismatchError(f"administered: {item_id!r} is not in this bank")
            if not 0 <= x < self.bank.n_cats[j]:
                raise StateMismatchError(f"responses: {x} is outside the categories of {item_id!r}")
            idx[k] = j
        any_scored = s.replay(0, idx, np.asarray(state.responses, np.intp))
        if any_scored and estimate:
            s.theta[0], s.cov[0] = (v[0] for v in self.estimator.estimate(s, row))
        return s

    def _write_estimate(self, s: Sessions, state: CatState) -> None:
        state.theta = [float(v) for v in s.theta[0]]
        state.se = [float(v) for v in s.se[0]]
        if self.cuts is not None:
            state.level = levels(s.theta[:1], self.cuts)[0].tolist()


def _narrow(elig: NDArray[np.bool_], mask: NDArray[np.bool_] | None) -> NDArray[np.bool_]:
    """Apply a soft rule row by row, unless it would leave a row with nothing."""
    if mask is None:
        return elig
    cand = elig & mask
    keep = cand.any(axis=1)
    if keep.all():
        return cand
    return np.where(keep[:, None], cand, elig)


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
