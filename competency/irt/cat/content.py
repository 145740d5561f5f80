"""Content constraints: Kingsbury–Zara deficit rule and hard minimum/maximum counts per area.

Areas are the bank's content codes (or its dimension codes when ``content_by`` = "dimension").
Only scored items count. Masks are (r, n) booleans over items.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .errors import ConfigError
from .sessions import Sessions


class ContentRules:
    def __init__(self, s: Sessions) -> None:
        cfg, codes = s.cfg, s.area_codes
        lookup = {c: k for k, c in enumerate(codes)}
        for name, mapping in (
            ("content_targets", cfg.content_targets),
            ("content_min", cfg.content_min),
            ("content_max", cfg.content_max),
        ):
            for code in mapping:
                if code not in lookup:
                    raise ConfigError(f"{name}: unknown content code {code!r}")
        c = max(len(codes), 1)
        self.target = np.zeros(c)
        self.min = np.zeros(c, np.intp)
        self.max = np.full(c, np.iinfo(np.intp).max)
        for code, v in cfg.content_targets.items():
            self.target[lookup[code]] = float(v)
        for code, v in cfg.content_min.items():
            self.min[lookup[code]] = int(v)
        for code, v in cfg.content_max.items():
            self.max[lookup[code]] = int(v)
        self.min_list: list[int] = self.min.tolist()
        self.has_targets = bool(cfg.content_targets)
        self.has_min = bool(cfg.content_min)
        self.has_max = bool(cfg.content_max)
        self.area = s.area_of_item

    def _item_area_mask(self, area_ok: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """(r, C) area flags -> (r, n) item flags (items without an area are never allowed)."""
        has = self.area >= 0
        out = np.zeros((area_ok.shape[0], self.area.size), bool)
        out[:, has] = area_ok[:, self.area[has]]
        return out

    def hard_mask(self, s: Sessions, rows: NDArray[np.intp]) -> NDArray[np.bool_] | None:
        """Items still allowed by the maximum counts (a hard rule)."""
        if not self.has_max:
            return None
        ok = s.area_count[rows] < self.max[None, :]
        mask = self._item_area_mask(ok)
        mask[:, self.area < 0] = True
        return mask

    def minimum_mask(self, s: Sessions, rows: NDArray[np.intp]) -> NDArray[np.bool_] | None:
        """When the remaining slots are just enough for unmet minimums, only those areas.

        None when no row is that tight (an all-True mask would narrow nothing).
        """
        if not self.has_min:
            return None
        if len(rows) == 1:  # the usual answer for one row, from a few Python ints
            counts = s.area_count[rows[0]].tolist()
            need = sum(m - c for m, c in zip(self.min_list, counts, strict=True) if m > c)
            if s.cfg.max_items - int(s.n_scored[rows[0]]) > need:
                return None
        short = np.maximum(self.min[None, :] - s.area_count[rows], 0)
        tight = (s.cfg.max_items - s.n_scored[rows]) <= short.sum(axis=1)
        if not tight.any():
            return None
        mask = np.ones((len(rows), self.area.size), bool)
        mask[tight] = self._item_area_mask(short[tight] > 0)
        return mask

    def deficit_mask(
        self, s: Sessions, rows: NDArray[np.intp], eligible: NDArray[np.bool_]
    ) -> NDArray[np.bool_] | None:
        """Kingsbury–Zara: the area furthest below its target proportion that still has items."""
        if not self.has_targets:
            return None
        n = np.maximum(s.n_scored[rows], 1)[:, None]
        deficit = self.target[None, :] - s.area_count[rows] / n
        available = np.zeros_like(deficit, bool)
        has = self.area >= 0
        for k in range(deficit.shape[1]):
            available[:, k] = eligible[:, has & (self.area == k)].any(axis=1)
        deficit = np.where(available & (self.target[None, :] > 0), deficit, -np.inf)
        best = np.argmax(deficit, axis=1)
        chosen = np.zeros_like(available)
        chosen[np.arange(len(rows)), best] = np.isfinite(deficit[np.arange(len(rows)), best])
        return self._item_area_mask(chosen)

    def minimums_met(self, s: Sessions, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
        if not self.has_min:
            return np.ones(len(rows), bool)
        return np.all(s.area_count[rows] >= self.min[None, :], axis=1)
