"""Item selection behind one interface: the engine asks, the selector answers.

    selector.select(sessions, rows, rates) -> one item index per row (-1: nothing eligible)
    selector.available(sessions, rows)     -> (r, n) items the hard rules still allow

A selector is a chain of steps built once per engine by ``make_selector``; each step decides what
it can and hands the other rows to the step inside it:

    PilotSlots          delivery positions reserved for an unscored pilot item (pilot_positions)
      RankedFirst       plain maximum information read from the bank's per-θ ranking (a shortcut
                        taken only where it gives the general path's answer: one dimension, no
                        exposure or content rule)
        Scored          eligibility (hard rules, then soft rules that never empty the set) ->
                        criterion (selectors.py) -> picker: Randomesque(k), wrapped by the
                        SympsonHetter lottery when configured (exposure.py)

Soft rules, in order: open dimensions (multidimensional SE target), content minimums, the maximum
exposure rate (exposure.MaxRate), the criterion's own rule (a-stratified stage); then the
Kingsbury–Zara content deficit. Every random choice is a counter-based draw (rng.py), so one row
and many rows, and a live test and a simulated one, make the same choices.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from . import rng
from .content import ContentRules
from .exposure import MaxRate, Randomesque, SympsonHetter
from .selectors import Criterion, RankedMaxInfo, make_criterion
from .sessions import Sessions, block

Arr = NDArray[np.float64]
Items = NDArray[np.intp]
Mask = NDArray[np.bool_]
SoftRule = Callable[[Sessions, Items, "Arr | None"], "Mask | None"]


class Selector(Protocol):
    base: Scored

    def select(self, s: Sessions, rows: Items, rates: Arr | None) -> Items: ...

    def available(self, s: Sessions, rows: Items) -> Mask: ...


class Eligibility:
    """(r, n) items each session may get now: hard rules, then soft rules that never empty the set.

    One definition for any number of rows: a single row is read through a slice (a view, where a
    fancy index would copy), and every mask keeps its (r, n) shape.
    """

    def __init__(self, s: Sessions, content: ContentRules, soft: list[SoftRule]) -> None:
        self.operational = s.bank.operational
        self.content = content
        self.soft = soft

    def hard(self, s: Sessions, rows: Items) -> Mask:
        at = block(rows)
        elig = ~(s.admin[at] | s.blocked[at]) if s.any_blocked else ~s.admin[at]
        elig &= self.operational
        hard = self.content.hard_mask(s, rows)
        if hard is not None:
            elig &= hard
        return elig

    def __call__(self, s: Sessions, rows: Items, rates: Arr | None) -> Mask:
        elig = self.hard(s, rows)
        for rule in self.soft:
            elig = _narrow(elig, rule(s, rows, rates))
        return _narrow(elig, self.content.deficit_mask(s, rows, elig))


class OpenDimensions:
    """Soft rule of a multidimensional test: items of the dimensions whose SE is still above target."""

    def __init__(self, se_target: Arr) -> None:
        self.se_target = se_target[None, :]

    def __call__(self, s: Sessions, rows: Items, rates: Arr | None) -> Mask:
        return (s.se_of(block(rows)) > self.se_target).take(s.item_dim, axis=1)


class Scored:
    """The general selector: mask the criterion with the eligibility, then pick."""

    def __init__(
        self, criterion: Criterion, eligibility: Eligibility, picker: Randomesque | SympsonHetter
    ) -> None:
        self.criterion, self.eligibility, self.picker = criterion, eligibility, picker
        self.any_operational = bool(eligibility.operational.any())
        self.base = self

    def select(self, s: Sessions, rows: Items, rates: Arr | None) -> Items:
        if not self.any_operational:  # (an empty or pilot-only bank: nothing to score)
            return np.full(len(rows), -1, np.intp)
        elig = self.eligibility(s, rows, rates)
        crit = np.where(elig, self.criterion.criterion(s, rows), -np.inf)
        return self.picker(s, rows, crit)

    def available(self, s: Sessions, rows: Items) -> Mask:
        return self.eligibility.hard(s, rows)


class Step:
    """A step around an inner selector: ``decide`` answers the rows it can (-1 elsewhere), and the
    inner selector answers the rest. The hard rules are the inner selector's."""

    inner: Selector
    base: Scored

    def decide(self, s: Sessions, rows: Items) -> Items:
        raise NotImplementedError

    def select(self, s: Sessions, rows: Items, rates: Arr | None) -> Items:
        items = self.decide(s, rows)
        rest = np.flatnonzero(items < 0)
        if rest.size:
            items[rest] = self.inner.select(s, rows[rest], rates)
        return items

    def available(self, s: Sessions, rows: Items) -> Mask:
        return self.inner.available(s, rows)


class RankedFirst(Step):
    """Maximum information (+ randomesque) from the bank's ranking; rows it cannot decide go inside."""

    def __init__(self, ranked: RankedMaxInfo, k: int, inner: Scored) -> None:
        self.ranked, self.k, self.inner, self.base = ranked, k, inner, inner.base

    def decide(self, s: Sessions, rows: Items) -> Items:
        """Per row the best eligible ranked item (randomesque: a draw among the k best); -1 where the
        ranking holds fewer than k eligible items."""
        k = self.k
        if rows.size == 1:
            one = self._pick_one(s, int(rows[0]), k)
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

    def _pick_one(self, s: Sessions, row: int, k: int) -> int | None:
        """pick for one row: the j-th eligible ranked item (j drawn as there); None = no shortcut."""
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


class PilotSlots(Step):
    """At a reserved delivery position, a pilot item drawn uniformly from those left; else inside."""

    def __init__(self, s: Sessions, positions: list[int], inner: Selector) -> None:
        positions_ = np.array(sorted({int(p) for p in positions}), np.intp)
        # slot[k]: delivery position k gets a pilot item (the last entry stands for "beyond")
        self.slot = np.zeros(int(positions_.max(initial=0)) + 2, bool)
        self.slot[positions_] = True
        self.pilot = s.bank.pilot
        self.inner, self.base = inner, inner.base

    def decide(self, s: Sessions, rows: Items) -> Items:
        items = np.full(len(rows), -1, np.intp)
        slot = self.slot
        want = np.flatnonzero(slot[np.minimum(s.n_total[rows] + 1, slot.size - 1)])
        if want.size:
            wr = rows[want]
            pool = self.pilot[None, :] & ~(s.admin[wr] | s.blocked[wr])
            count = pool.sum(axis=1)
            u = rng.uniforms(s.seeds[wr], rng.STREAM_PILOT, s.n_total[wr])
            k = np.minimum((u * count).astype(np.intp), np.maximum(count - 1, 0))
            idx = np.argmax(np.cumsum(pool, axis=1) > k[:, None], axis=1)
            has = count > 0
            items[want[has]] = idx[has]
        return items


def make_selector(s: Sessions, content: ContentRules, se_target: Arr | None) -> Selector:
    """The selection chain for the configuration of the template sessions ``s``."""
    cfg, bank = s.cfg, s.bank
    criterion = make_criterion(s)
    soft: list[SoftRule] = []
    if s.dims > 1 and se_target is not None:
        soft.append(OpenDimensions(se_target))
    if content.has_min:
        soft.append(lambda s, rows, rates: content.minimum_mask(s, rows))
    if cfg.exposure == "max_rate":
        soft.append(MaxRate(cfg.r_max, len(bank)))
    if criterion.soft_rule is not None:
        soft.append(criterion.soft_rule)
    picker: Randomesque | SympsonHetter = Randomesque(cfg.randomesque)
    if cfg.exposure == "sympson_hetter":
        picker = SympsonHetter.from_config(picker, cfg.sh_k, bank.index, len(bank))
    selector: Selector = Scored(criterion, Eligibility(s, content, soft), picker)
    plain = (
        cfg.selector == "mfi"
        and s.dims == 1
        and cfg.exposure == "none"
        and not (cfg.content_targets or cfg.content_min or cfg.content_max)
    )
    if plain and bank.operational.any():
        selector = RankedFirst(RankedMaxInfo(s), cfg.randomesque, selector)
    if cfg.pilot_positions and bank.pilot.any():
        selector = PilotSlots(s, cfg.pilot_positions, selector)
    return selector


def _narrow(elig: Mask, mask: Mask | None) -> Mask:
    """Apply a soft rule row by row, unless it would leave a row with nothing."""
    if mask is None:
        return elig
    cand = elig & mask
    if cand.shape[0] == 1:  # one row: the same test without the per-row reduction's cost
        return cand if cand.any() else elig
    keep = cand.any(axis=1)
    if keep.all():
        return cand
    return np.where(keep[:, None], cand, elig)
