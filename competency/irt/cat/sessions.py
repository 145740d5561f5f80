"""Sessions: the arrays of N adaptive tests advancing together.

The step API (engine.Engine) rebuilds a batch of one session from a CatState for every call; the
simulator advances thousands in lock step. Both run exactly this code, so a simulated test and a
live one make the same decisions given the same responses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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


class Sessions:
    """State arrays of N sessions over one bank (rows = examinees)."""

    def __init__(
        self, bank: Bank, cfg: EngineConfig, seeds: NDArray[np.int64], prior: Prior, capacity: int = 0
    ) -> None:
        n_rows, n = len(seeds), len(bank)
        self.bank, self.cfg, self.prior = bank, cfg, prior
        self.dims = prior.mean.size
        self.item_dim = bank.dimension if cfg.mcat else np.zeros(n, dtype=np.intp)
        self.seeds = np.asarray(seeds, dtype=np.int64)
        self.admin = np.zeros((n_rows, n), bool)
        self.blocked = np.zeros((n_rows, n), bool)
        # float32 halves the memory traffic of the hot loop; sums of <= a few hundred log-probabilities
        # keep ~1e-6 absolute accuracy, far below what EAP/MAP need.
        self.loglik = np.zeros((n_rows, self.dims, bank.grid.points), np.float32)
        self.theta = np.tile(prior.mean, (n_rows, 1))
        self.cov = np.tile(prior.cov, (n_rows, 1, 1))
        self.n_scored = np.zeros(n_rows, np.intp)
        self.n_total = np.zeros(n_rows, np.intp)
        self.n_skipped = np.zeros(n_rows, np.intp)
        self.nonmin = np.zeros((n_rows, self.dims), bool)
        self.nonmax = np.zeros((n_rows, self.dims), bool)
        self.dim_count = np.zeros((n_rows, self.dims), np.intp)
        self.area_of_item, self.area_codes = _areas(bank, cfg)
        self.area_count = np.zeros((n_rows, max(len(self.area_codes), 1)), np.intp)
        cap = max(cfg.max_items + len(cfg.pilot_positions) + 1, capacity)
        self.seq_items = np.full((n_rows, cap), -1, np.intp)
        self.seq_resp = np.full((n_rows, cap), -1, np.intp)
        self.skipped: list[list[int]] = [[] for _ in range(n_rows)]
        self.stop: NDArray[np.object_] = np.full(n_rows, None, dtype=object)
        self.selected_count = np.zeros(n, np.int64)
        # False while no session has a blocked item (saves a gather on the hot path)
        self.any_blocked = False
        self.last_loglik: tuple[NDArray[np.intp], NDArray[np.float64]] | None = None
        g = bank.grid.theta
        self.log_prior = (-0.5 * ((g - prior.mean[0]) / prior.sd[0]) ** 2).astype(np.float32)
        self.grid32 = g.astype(np.float32)
        self.grid_sq32 = (g * g).astype(np.float32)

    @property
    def se(self) -> NDArray[np.float64]:
        return np.sqrt(np.maximum(np.diagonal(self.cov, axis1=1, axis2=2), 0.0))

    def record(
        self, rows: NDArray[np.intp], items: NDArray[np.intp], resp: NDArray[np.intp]
    ) -> NDArray[np.intp]:
        """Store one response per row; returns the rows whose scored evidence changed."""
        bank = self.bank
        self.admin.reshape(-1)[rows * self.admin.shape[1] + items] = True
        pos = self.n_total[rows]
        self.seq_items[rows, pos] = items
        self.seq_resp[rows, pos] = resp
        self.n_total[rows] += 1
        if bank.has_enemies.any():
            hit = bank.has_enemies[items]
            for r, i in zip(rows[hit].tolist(), items[hit].tolist(), strict=True):
                self.blocked[r, list(bank.enemies[i])] = True
                self.any_blocked = True
        scored = ~bank.pilot[items]
        rs, it, x = rows[scored], items[scored], resp[scored]
        if rs.size:
            d = self.item_dim[it]
            _, logp, _ = bank.tables
            if self.dims == 1:
                # gather + add once, keep the sum for the EAP step that follows (saves a gather)
                ll2 = self.loglik.reshape(self.loglik.shape[0], -1)  # (N, G) view when D = 1
                updated = ll2.take(rs, axis=0)
                updated += bank.logp_rows.take(it * logp.shape[1] + x, axis=0)
                ll2[rs] = updated
                self.last_loglik = (rs, updated)
            else:
                self.loglik[rs, d, :] += bank.logp_rows.take(it * logp.shape[1] + x, axis=0)
            self.n_scored[rs] += 1
            self.dim_count[rs, d] += 1
            self.nonmin[rs, d] |= x > 0
            self.nonmax[rs, d] |= x < bank.n_cats[it] - 1
            area = self.area_of_item[it]
            has = area >= 0
            self.area_count[rs[has], area[has]] += 1
        return rs

    def replay(self, row: int, items: NDArray[np.intp], resp: NDArray[np.intp]) -> bool:
        """Record a whole response sequence for one row at once; True if any item was scored."""
        bank = self.bank
        k = items.size
        if k == 0:
            return False
        self.admin[row, items] = True
        self.seq_items[row, :k], self.seq_resp[row, :k] = items, resp
        self.n_total[row] = k
        for i in items[bank.has_enemies[items]].tolist():
            self.blocked[row, list(bank.enemies[i])] = True
            self.any_blocked = True
        scored = ~bank.pilot[items]
        it, x = items[scored], resp[scored]
        if it.size == 0:
            return False
        d = self.item_dim[it]
        _, logp, _ = bank.tables
        contrib = bank.logp_rows.take(it * logp.shape[1] + x, axis=0)
        # one float32 addition per item, in order: bit-identical to the step-by-step path
        for k in range(it.size):
            self.loglik[row, d[k]] += contrib[k]
        self.n_scored[row] = it.size
        self.dim_count[row] = np.bincount(d, minlength=self.dims)
        self.nonmin[row] = np.bincount(d, weights=x > 0, minlength=self.dims) > 0
        self.nonmax[row] = np.bincount(d, weights=x < bank.n_cats[it] - 1, minlength=self.dims) > 0
        area = self.area_of_item[it]
        area = area[area >= 0]
        self.area_count[row] = np.bincount(area, minlength=self.area_count.shape[1])
        return True


def _areas(bank: Bank, cfg: EngineConfig) -> tuple[NDArray[np.intp], tuple[str, ...]]:
    """Content area of each item for Kingsbury–Zara and min/max counts (-1 = none)."""
    if cfg.content_by == "dimension":
        return bank.dimension.copy(), bank.dimension_codes
    return bank.content.copy(), bank.content_codes
