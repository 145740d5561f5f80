"""Engine: composes start, select, estimate and stop; the selector (selection.py) makes every selection decision.

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
from .selection import make_selector
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
        self.selector = make_selector(template, self.content, self.stopper.se_target)
        self.estimator = make_estimator(template)
        self.cuts = cut_matrix(cfg.cut_scores, dims)
        # Python lists for the per-request checks (numpy scalar access costs ~100 ns per item)
        self._n_cats = bank.n_cats.tolist()
        self._is_pilot = bank.pilot.tolist()

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
        if reason is None and not self.selector.available(s, rows).any():
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

    def choose(
        self, s: Sessions, rows: NDArray[np.intp], rates: NDArray[np.float64] | None = None
    ) -> NDArray[np.intp]:
        """One item per row (-1 when nothing is eligible): the selector's answer."""
        return self.selector.select(s, rows, rates)

    # ------------------------------------------------------------------ helpers

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
