"""Sessions: the arrays of N adaptive tests advancing together.

The step API (engine.Engine) rebuilds a batch of one session from a CatState for every call; the
simulator advances thousands in lock step. Both run exactly this code, so a simulated test and a
live one make the same decisions given the same responses.

A one-row batch (a live answer) is mostly numpy's per-call overhead. Where one definition can
serve it cheaply it does: ``block(rows)`` reads one row through a slice (eligibility, the
information criterion, open dimensions), a rule works along the last axis (selection's best-first
sort), or one formula takes numpy arrays and Python numbers alike (the counter-based hash, Newton's
grid derivatives). Where that costs the answer path measurably (run on one row, the batch
stopping rules add 13 % to a maximum-information answer's instructions, the batch ranked pick
22 %, the batch randomesque pick 4–14 % to answers that use it), a scalar twin of the batch code
remains: record here, the stopping rules, the ranked shortcut, the j-th finite pick and Newton's
iteration. Each does
the same floating-point operations in the same order, and tests/cat/test_cat_single_row.py
checks every one against the batch code bit for bit. Per-engine constants live in a shared,
read-only Layout instead of being rebuilt with every batch.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from .bank import Bank
    from .config import EngineConfig


class Prior:
    """Normal prior over the D traits (the stated prior of EAP/MAP)."""

    def __init__(self, cfg: EngineConfig, dims: int) -> None:
        self.mean = _per_dim(cfg.prior_mean, dims, "prior_mean")
        sd = _per_dim(cfg.prior_sd, dims, "prior_sd")
        rho = cfg.prior_correlation
        if isinstance(rho, (int, float)):
            corr = np.full((dims, dims), float(rho))
            np.fill_diagonal(corr, 1.0)
        else:
            corr = np.asarray(rho, dtype=float)
        from .errors import ConfigError

        if corr.shape != (dims, dims) or not np.allclose(corr, corr.T) or not np.allclose(np.diag(corr), 1):
            raise ConfigError(f"prior_correlation: need a symmetric {dims}x{dims} matrix with unit diagonal")
        self.cov = corr * np.outer(sd, sd)
        try:
            np.linalg.cholesky(self.cov)
        except np.linalg.LinAlgError:
            raise ConfigError("prior_correlation: matrix is not positive definite") from None
        self.precision = np.linalg.inv(self.cov)
        self.sd = sd


def _per_dim(x: float | list[float], dims: int, name: str) -> NDArray[np.float64]:
    from .errors import ConfigError

    arr = np.full(dims, float(x)) if isinstance(x, (int, float)) else np.asarray(x, dtype=float)
    if arr.shape != (dims,):
        raise ConfigError(f"{name}: need one value or {dims} values")
    return arr


class Layout:
    """Per-engine constants every Sessions batch shares: built once, read-only.

    The step API builds a one-row batch per request, so recomputing these per batch (grids, the log
    prior, area codes) used to cost more than the row itself.
    """

    def __init__(self, bank: Bank, cfg: EngineConfig, prior: Prior) -> None:
        n = len(bank)
        self.dims = prior.mean.size
        self.item_dim = _frozen(bank.dimension if cfg.mcat else np.zeros(n, dtype=np.intp))
        area, self.area_codes = _areas(bank, cfg)
        self.area_of_item = _frozen(area)
        self.n_areas = max(len(self.area_codes), 1)
        self.every_item_has_area = bool(np.all(area >= 0))
        self.top_category = _frozen(bank.n_cats - 1)
        self.any_enemies = bool(bank.has_enemies.any())
        self.any_pilot = bool(bank.pilot.any())
        self.n_categories = bank.max_cats  # row stride of bank.logp_rows (== tables' K)
        # the same per item as Python lists, for the per-item loop of replay()
        self.pilot: list[bool] = bank.pilot.tolist()
        self.has_enemies: list[bool] = bank.has_enemies.tolist()
        self.item_dims: list[int] = self.item_dim.tolist()
        self.top_categories: list[int] = self.top_category.tolist()
        self.item_areas: list[int] = area.tolist()
        self.min_capacity = cfg.max_items + len(cfg.pilot_positions) + 1
        self.eye = _frozen(np.eye(self.dims))
        self.bank = bank
        self.mean_row = _frozen(prior.mean[None, :])
        self.cov_row = _frozen(prior.cov[None, :, :])
        g = bank.grid.theta
        # flat offsets of each dimension's grid row within one session's (D, G) log-likelihood
        self.dim_offsets = _frozen(np.arange(self.dims)[:, None] * g.size + np.arange(g.size))
        self.grid_nodes: list[float] = g.tolist()  # for scalar code (estimators._RowSlopes)
        self.log_prior = _frozen((-0.5 * ((g - prior.mean[0]) / prior.sd[0]) ** 2).astype(np.float32))
        self.grid32 = _frozen(g.astype(np.float32))
        self.grid_sq32 = _frozen((g * g).astype(np.float32))

    @cached_property
    def info_by_item(self) -> NDArray[np.float64]:
        """The bank's information table (G, n) item-major and flat (selectors.info_at_theta)."""
        return _frozen(self.bank.tables[2].T.reshape(-1))

    @cached_property
    def item_offsets(self) -> NDArray[np.intp]:
        """Start of each item's grid column in info_by_item."""
        return _frozen(np.arange(len(self.bank)) * self.bank.grid.points)


def _frozen(x: NDArray[Any]) -> NDArray[Any]:
    """A read-only copy: shared by every batch, so no batch may write into it."""
    out = np.array(x)
    out.setflags(write=False)
    return out


class Sessions:
    """State arrays of N sessions over one bank (rows = examinees)."""

    def __init__(
        self,
        bank: Bank,
        cfg: EngineConfig,
        seeds: NDArray[np.int64],
        prior: Prior,
        capacity: int = 0,
        layout: Layout | None = None,
    ) -> None:
        lay = layout if layout is not None else Layout(bank, cfg, prior)
        n_rows, n = len(seeds), len(bank)
        self.bank, self.cfg, self.prior, self.layout = bank, cfg, prior, lay
        self.dims = lay.dims
        self.item_dim = lay.item_dim
        self.seeds = np.asarray(seeds, dtype=np.int64)
        self.admin = np.zeros((n_rows, n), bool)
        self.blocked = np.zeros((n_rows, n), bool)
        # float32 halves the memory traffic of the hot loop; sums of <= a few hundred log-probabilities
        # keep ~1e-6 absolute accuracy, far below what EAP/MAP need.
        self.loglik = np.zeros((n_rows, self.dims, bank.grid.points), np.float32)
        # empty + broadcast assignment: a few times cheaper than np.tile/np.repeat for a one-row batch
        self.theta = np.empty((n_rows, self.dims))
        self.theta[...] = lay.mean_row
        self.cov = np.empty((n_rows, self.dims, self.dims))
        self.cov[...] = lay.cov_row
        self.n_scored = np.zeros(n_rows, np.intp)
        self.n_total = np.zeros(n_rows, np.intp)
        self.n_skipped = np.zeros(n_rows, np.intp)
        self.nonmin = np.zeros((n_rows, self.dims), bool)
        self.nonmax = np.zeros((n_rows, self.dims), bool)
        self.dim_count = np.zeros((n_rows, self.dims), np.intp)
        self.area_of_item, self.area_codes = lay.area_of_item, lay.area_codes
        self.area_count = np.zeros((n_rows, lay.n_areas), np.intp)
        cap = max(lay.min_capacity, capacity)
        self.seq_items = np.empty((n_rows, cap), np.intp)
        self.seq_items.fill(-1)
        self.seq_resp = np.empty((n_rows, cap), np.intp)
        self.seq_resp.fill(-1)
        self.skipped: list[list[int]] = [[] for _ in range(n_rows)]
        self.stop: NDArray[np.object_] = np.empty(n_rows, dtype=object)  # all None
        self.selected_count = np.zeros(n, np.int64)
        # False while no session has a blocked item (saves a gather on the hot path)
        self.any_blocked = False
        self.last_loglik: tuple[NDArray[np.intp], NDArray[np.float64]] | None = None
        self.log_prior, self.grid32, self.grid_sq32 = lay.log_prior, lay.grid32, lay.grid_sq32

    @property
    def se(self) -> NDArray[np.float64]:
        return self.se_of(slice(None))

    def se_of(self, rows: NDArray[np.intp] | slice) -> NDArray[np.float64]:
        """Posterior SD of the given rows only (``se[rows]`` without computing every row)."""
        return np.sqrt(
            np.maximum(self.cov[rows].diagonal(0, 1, 2), 0.0)
        )  # (the method: np.diagonal dispatches slowly)

    def record(
        self, rows: NDArray[np.intp], items: NDArray[np.intp], resp: NDArray[np.intp]
    ) -> NDArray[np.intp]:
        """Store one response per row; returns the rows whose scored evidence changed."""
        if rows.size == 1:
            return self._record_one(rows, int(rows[0]), int(items[0]), int(resp[0]))
        return self._record_batch(rows, items, resp)

    def _record_batch(
        self, rows: NDArray[np.intp], items: NDArray[np.intp], resp: NDArray[np.intp]
    ) -> NDArray[np.intp]:
        bank, lay = self.bank, self.layout
        self.admin.reshape(-1)[rows * self.admin.shape[1] + items] = True
        pos = self.n_total[rows]
        self.seq_items[rows, pos] = items
        self.seq_resp[rows, pos] = resp
        self.n_total[rows] = pos + 1  # rows are distinct
        if lay.any_enemies:
            hit = bank.has_enemies[items]
            for r, i in zip(rows[hit].tolist(), items[hit].tolist(), strict=True):
                self.blocked[r, list(bank.enemies[i])] = True
                self.any_blocked = True
        rs, it, x = rows, items, resp
        if lay.any_pilot:
            scored = ~bank.pilot[items]
            rs, it, x = rows[scored], items[scored], resp[scored]
        if rs.size:
            d = self.item_dim[it]
            if self.dims == 1:
                # gather + add once, keep the sum for the EAP step that follows (saves a gather)
                ll2 = self.loglik.reshape(self.loglik.shape[0], -1)  # (N, G) view when D = 1
                updated = ll2.take(rs, axis=0)
                updated += bank.logp_rows.take(it * lay.n_categories + x, axis=0)
                ll2[rs] = updated
                self.last_loglik = (rs, updated)
            else:
                self.loglik[rs, d, :] += bank.logp_rows.take(it * lay.n_categories + x, axis=0)
            self.n_scored[rs] += 1
            self.dim_count[rs, d] += 1
            self.nonmin[rs, d] |= x > 0
            self.nonmax[rs, d] |= x < lay.top_category[it]
            area = self.area_of_item[it]
            if lay.every_item_has_area:
                self.area_count[rs, area] += 1
            else:
                has = area >= 0
                self.area_count[rs[has], area[has]] += 1
        return rs

    def _record_one(self, rows: NDArray[np.intp], r: int, i: int, x: int) -> NDArray[np.intp]:
        """record() for one row with scalar indexing: the same values as the batch path, which pays
        ~1 µs per fancy-indexing operation (tests/cat/test_cat_single_row.py compares the two)."""
        bank, lay = self.bank, self.layout
        self.admin[r, i] = True
        pos = int(self.n_total[r])
        self.seq_items[r, pos] = i
        self.seq_resp[r, pos] = x
        self.n_total[r] = pos + 1
        if lay.any_enemies and bank.has_enemies[i]:
            self.blocked[r, list(bank.enemies[i])] = True
            self.any_blocked = True
        if lay.any_pilot and bank.pilot[i]:
            return rows[:0]  # unscored: no evidence changed
        d = int(self.item_dim[i])
        contrib = bank.logp_rows[i * lay.n_categories + x]
        if self.dims == 1:
            updated = self.loglik[r, 0] + contrib
            self.loglik[r, 0] = updated
            self.last_loglik = (rows, updated[None, :])  # for the EAP step that follows
        else:
            self.loglik[r, d] += contrib
        self.n_scored[r] += 1
        self.dim_count[r, d] += 1
        if x > 0:
            self.nonmin[r, d] = True
        if x < lay.top_category[i]:
            self.nonmax[r, d] = True
        area = int(self.area_of_item[i])
        if area >= 0:
            self.area_count[r, area] += 1
        return rows

    def replay(self, row: int, items: list[int], resp: list[int]) -> bool:
        """Record one row's whole response sequence (Python ints) at once; True if any item was scored.

        A history is a few dozen items, so the counts are kept in Python (cheaper than a numpy call
        each) and the log-likelihood rows are added in one np.add.at.
        """
        bank, lay = self.bank, self.layout
        k = len(items)
        if k == 0:
            return False
        at = np.array(items, np.intp)
        self.admin[row, at] = True
        self.seq_items[row, :k], self.seq_resp[row, :k] = at, resp
        self.n_total[row] = k
        if lay.any_enemies:
            for i in items:
                if lay.has_enemies[i]:
                    self.blocked[row, list(bank.enemies[i])] = True
                    self.any_blocked = True
        n_cat, pilot, item_dim, top, area_of = (
            lay.n_categories,
            lay.pilot,
            lay.item_dims,
            lay.top_categories,
            lay.item_areas,
        )
        logp_rows: list[int] = []
        dims: list[int] = []
        dim_count = [0] * self.dims
        nonmin = [False] * self.dims
        nonmax = [False] * self.dims
        area_count = [0] * lay.n_areas
        for i, x in zip(items, resp, strict=True):
            if pilot[i]:
                continue
            d = item_dim[i]
            logp_rows.append(i * n_cat + x)
            dims.append(d)
            dim_count[d] += 1
            nonmin[d] = nonmin[d] or x > 0
            nonmax[d] = nonmax[d] or x < top[i]
            if area_of[i] >= 0:
                area_count[area_of[i]] += 1
        if not logp_rows:
            return False
        contrib = bank.logp_rows.take(logp_rows, axis=0)  # (k, G)
        # One float32 addition per item and grid point, in response order, as the step-by-step path
        # does: np.add.at is unbuffered and applies repeated indices in order (a flat index per
        # element is its fast path). tests/cat/test_cat_single_row.py checks the bits.
        flat = lay.dim_offsets.take(dims, axis=0)
        np.add.at(self.loglik[row].reshape(-1), flat.reshape(-1), contrib.reshape(-1))
        self.n_scored[row] = len(logp_rows)
        self.dim_count[row], self.nonmin[row], self.nonmax[row] = dim_count, nonmin, nonmax
        self.area_count[row] = area_count
        return True


def block(rows: NDArray[np.intp]) -> NDArray[np.intp] | slice:
    """Index of the rows' block of an (N, ...) session array: for one row a slice, which reads a
    view where a fancy index would copy (a one-row batch is a step-API request, where numpy's
    per-call cost dominates); either way the result keeps its (r, ...) shape, so one definition
    serves one row and many."""
    if len(rows) == 1:
        r = int(rows[0])
        return slice(r, r + 1)
    return rows


def _areas(bank: Bank, cfg: EngineConfig) -> tuple[NDArray[np.intp], tuple[str, ...]]:
    """Content area of each item for Kingsbury–Zara and min/max counts (-1 = none)."""
    if cfg.content_by == "dimension":
        return bank.dimension.copy(), bank.dimension_codes
    return bank.content.copy(), bank.content_codes
