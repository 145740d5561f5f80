"""Item bank for the adaptive engine: parameters, metadata and per-bank lookup tables.

Parameterisation: logistic, D = 1, IRT form (see competency.irt.models). Categories are coded
0..K-1. The tables (category probabilities, their logs and the Fisher information of every item on
a fixed θ grid) are computed once per bank with the kernels of ``competency.irt.models`` and cached
on the object; every CAT step then only gathers and interpolates rows.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from competency.irt import models as kernels

from .errors import BankError

DICHOTOMOUS = ("2pl", "3pl", "1pl", "rasch")
POLYTOMOUS = ("grm", "gpcm")
_LOG_FLOOR = math.log(1e-300)


class Grid:
    """Equally spaced θ grid shared by the tables and the EAP integral."""

    def __init__(self, bound: float = 6.0, points: int = 121) -> None:
        if points < 11 or bound <= 0:
            raise BankError("grid: need at least 11 points and a positive bound")
        self.bound = float(bound)
        self.points = int(points)
        self.theta = np.linspace(-bound, bound, points)
        self.step = float(self.theta[1] - self.theta[0])

    def locate(self, theta: NDArray[np.float64]) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Left cell index j and weight w so that θ ≈ (1−w)·g[j] + w·g[j+1]."""
        # minimum/maximum: what np.clip computes, without its dispatch cost on small arrays
        x = (np.minimum(np.maximum(theta, -self.bound), self.bound) + self.bound) / self.step
        j = np.minimum(x.astype(np.intp), self.points - 2)
        return j, x - j

    def nearest(
        self, theta: NDArray[np.float64], inside: bool = False
    ) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Interior nearest index m (1..G-2) and offset t = θ − g[m].

        inside=True: the caller knows every θ lies in [-bound, bound], where clipping returns θ
        itself (bit for bit), so it is skipped.
        """
        clipped = theta if inside else np.minimum(np.maximum(theta, -self.bound), self.bound)
        m = np.minimum(
            np.maximum(np.rint((clipped + self.bound) / self.step).astype(np.intp), 1), self.points - 2
        )
        return m, clipped - self.theta[m]


class Bank:
    """Items with ids, models and metadata, plus cached lookup tables.

    Build with :meth:`from_items` (list of dicts), :meth:`from_arrays` (dict of arrays, the form
    ``simulate`` takes) or :func:`load_bank` (a JSON file or dict in either file format).
    """

    def __init__(
        self,
        ids: Sequence[str],
        model: Sequence[str],
        a: Sequence[float],
        b: Sequence[float] | None = None,
        c: Sequence[float] | None = None,
        thresholds: Any = None,
        content: Sequence[str | None] | None = None,
        dimension: Sequence[Any] | None = None,
        pilot: Sequence[bool] | None = None,
        enemies: Sequence[Iterable[str]] | None = None,
        grid: Grid | None = None,
    ) -> None:
        n = len(ids)
        self.ids: tuple[str, ...] = tuple(str(i) for i in ids)
        if len(set(self.ids)) != n:
            dup = sorted({i for i in self.ids if self.ids.count(i) > 1})[0]
            raise BankError(f"id: duplicate item id {dup!r}")
        self.index: dict[str, int] = {item_id: k for k, item_id in enumerate(self.ids)}
        self.model = np.array([str(m).lower() for m in model], dtype=object)
        if len(self.model) != n:
            raise BankError("model: one model code per item is needed")
        for k, m in enumerate(self.model):
            if m not in DICHOTOMOUS + POLYTOMOUS:
                raise BankError(f"model: item {self.ids[k]!r} has unknown model {m!r}")
        self.a = _float_vector(a, n, "a", 1.0)
        self.b = _float_vector(b, n, "b", np.nan)
        self.c = _float_vector(c, n, "c", 0.0)
        self.c = np.where(np.isnan(self.c), 0.0, self.c)
        self.thresholds = _threshold_matrix(thresholds, n)
        self.pilot = np.zeros(n, bool) if pilot is None else np.asarray(pilot, dtype=bool)
        self.poly = np.isin(self.model, POLYTOMOUS)
        self.n_cats = np.where(self.poly, 1 + np.sum(~np.isnan(self.thresholds), axis=1), 2).astype(np.intp)
        self._validate()
        codes = [None] * n if content is None else [None if x is None else str(x) for x in content]
        self.content_codes: tuple[str, ...] = tuple(sorted({x for x in codes if x is not None}))
        lookup = {code: k for k, code in enumerate(self.content_codes)}
        self.content = np.array([-1 if x is None else lookup[x] for x in codes], dtype=np.intp)
        dims = [0] * n if dimension is None else list(dimension)
        self.dimension_codes: tuple[str, ...] = tuple(_sorted_codes({str(d) for d in dims}))
        dlookup = {code: k for k, code in enumerate(self.dimension_codes)}
        self.dimension = np.array([dlookup[str(d)] for d in dims], dtype=np.intp)
        self.enemies: tuple[tuple[int, ...], ...] = self._enemy_lists(enemies, n)
        self.grid = grid or Grid()
        self.has_enemies = np.array([bool(e) for e in self.enemies], dtype=bool)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_items(cls, items: Sequence[Mapping[str, Any]], grid: Grid | None = None) -> Bank:
        """Items as dicts: id, model, a, b, c, thresholds, content, dimension, pilot, enemies."""
        if not items:
            return cls([], [], [], grid=grid)
        width = max((len(it.get("thresholds") or []) for it in items), default=0)
        thr = np.full((len(items), max(width, 1)), np.nan)
        for k, it in enumerate(items):
            if "id" not in it:
                raise BankError(f"id: item {k} has no id")
            t = it.get("thresholds") or []
            thr[k, : len(t)] = [np.nan if v is None else float(v) for v in t]
        return cls(
            ids=[it["id"] for it in items],
            model=[it.get("model") or "2pl" for it in items],
            a=[_num(it.get("a"), 1.0) for it in items],
            b=[_num(it.get("b"), np.nan) for it in items],
            c=[_num(it.get("c"), 0.0) for it in items],
            thresholds=thr,
            content=[it.get("content") for it in items],
            dimension=[it.get("dimension", 0) for it in items],
            pilot=[bool(it.get("pilot", False)) for it in items],
            enemies=[it.get("enemies") or [] for it in items],
            grid=grid,
        )

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any], grid: Grid | None = None) -> Bank:
        """Dict of arrays: a, b, optional c, model, thresholds, content, dimension, pilot, enemies, ids."""
        if "a" not in arrays:
            raise BankError("a: the bank needs slopes")
        n = len(np.atleast_1d(arrays["a"]))
        model = arrays.get("model")
        if model is None:
            model = ["3pl" if arrays.get("c") is not None else "2pl"] * n
        ids = arrays.get("ids")
        if ids is None:
            ids = arrays.get("id")
        ids = [f"i{k}" for k in range(n)] if ids is None else [str(i) for i in ids]
        enemies = arrays.get("enemies")
        if enemies is not None:
            enemies = [[ids[j] if isinstance(j, (int, np.integer)) else j for j in e] for e in enemies]
        return cls(
            ids=list(ids),
            model=list(model),
            a=arrays["a"],
            b=arrays.get("b"),
            c=arrays.get("c"),
            thresholds=arrays.get("thresholds"),
            content=arrays.get("content"),
            dimension=arrays.get("dimension"),
            pilot=arrays.get("pilot"),
            enemies=enemies,
            grid=grid,
        )

    # ------------------------------------------------------------------ properties

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_dimensions(self) -> int:
        return len(self.dimension_codes)

    @cached_property
    def fingerprint(self) -> str:
        """Short hash of ids and parameters: a stored state is only valid for the same bank."""
        h = hashlib.sha256()
        h.update("\x1f".join(self.ids).encode())
        for arr in (self.a, self.b, self.c, self.thresholds, self.pilot, self.dimension):
            h.update(np.ascontiguousarray(np.nan_to_num(arr, nan=-999.0)).tobytes())
        h.update("\x1f".join(self.model.tolist()).encode())
        return h.hexdigest()[:16]

    @cached_property
    def location(self) -> NDArray[np.float64]:
        """b for dichotomous items, the mean threshold for polytomous ones (a-stratified b-matching)."""
        finite = ~np.isnan(self.thresholds)
        mean_thr = np.where(finite, self.thresholds, 0.0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1)
        return np.where(self.poly, mean_thr, self.b)

    @cached_property
    def operational(self) -> NDArray[np.bool_]:
        """Items the adaptive selector may choose: not pilot and with usable parameters."""
        return ~self.pilot & self._usable

    @cached_property
    def _usable(self) -> NDArray[np.bool_]:
        ok = np.isfinite(self.a) & (self.a > 0)
        ok &= np.where(self.poly, self.n_cats >= 2, np.isfinite(self.b))
        return ok

    @cached_property
    def max_cats(self) -> int:
        return int(self.n_cats.max()) if len(self) else 2

    @cached_property
    def tables(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """(prob (n, K, G), logprob (n, K, G), info (G, n)) on the grid; zeros for unusable items."""
        g = self.grid.theta
        n, kmax, gpts = len(self), self.max_cats, self.grid.points
        prob = np.zeros((n, kmax, gpts))
        info = np.zeros((gpts, n))
        usable = self._usable
        dich = np.flatnonzero(usable & ~self.poly)
        if dich.size:
            c = self.c[dich]
            p = kernels.prob_dichotomous(g, self.a[dich], self.b[dich], c)
            prob[dich, 0, :] = (1.0 - p).T
            prob[dich, 1, :] = p.T
            info[:, dich] = kernels.info_dichotomous(g, self.a[dich], self.b[dich], c)
        for name, cat_fn, info_fn in (
            ("grm", kernels.category_probs_grm, kernels.info_grm),
            ("gpcm", kernels.category_probs_gpcm, kernels.info_gpcm),
        ):
            idx = np.flatnonzero(usable & (self.model == name))
            if idx.size:
                width = max(int(self.n_cats[idx].max()) - 1, 1)
                thr = self.thresholds[idx, :width]
                pk = cat_fn(g, self.a[idx], thr)  # (G, m, K)
                prob[idx, : pk.shape[2], :] = np.transpose(pk, (1, 2, 0))
                info[:, idx] = info_fn(g, self.a[idx], thr)
        with np.errstate(divide="ignore"):
            logp = np.maximum(np.log(prob), _LOG_FLOOR)
        # Categories an item does not have must never be chosen.
        absent = np.arange(kmax)[None, :] >= self.n_cats[:, None]
        logp[absent] = -np.inf
        return prob, logp, np.ascontiguousarray(info)

    @cached_property
    def dichotomous_only(self) -> bool:
        """Every item dichotomous with usable parameters (enables fast paths)."""
        return bool(not self.poly.any() and self._usable.all())

    @cached_property
    def logp_rows(self) -> NDArray[np.float64]:
        """logprob table as float32 (n·K, G) rows: row i·K + x is item i, category x."""
        _, logp, _ = self.tables
        return np.maximum(logp.reshape(-1, logp.shape[2]), _LOG_FLOOR).astype(np.float32)

    def mfi_ranking(self, depth: int, step: float = 0.01) -> NDArray[np.int32]:
        """Operational items ranked by Fisher information at each point of a fine θ grid.

        Row m lists the ``depth`` most informative items at θ = -bound + m·step, best first (ties:
        lower index first). Maximum-information selection then reads the first eligible entry of
        one row instead of scoring the whole bank, so its cost does not grow with the bank.
        """
        depth = int(min(depth, int(self.operational.sum())))
        key = (depth, step)
        cache = self.__dict__.setdefault("_rankings", {})
        if key not in cache:
            fine = np.arange(-self.grid.bound, self.grid.bound + step / 2, step)
            ops = np.flatnonzero(self.operational)
            out = np.zeros((fine.size, depth), np.int32)
            for lo in range(0, fine.size, 64):
                info = self._info_at(fine[lo : lo + 64], ops)  # (q, m)
                if depth < ops.size:
                    part = np.argpartition(-info, depth - 1, axis=1)[:, :depth]
                else:
                    part = np.tile(np.arange(ops.size), (info.shape[0], 1))
                vals = np.take_along_axis(info, part, axis=1)
                # sort by information (desc), then index (asc) for a deterministic tie order
                order = np.lexsort((part, -vals), axis=1)
                out[lo : lo + 64] = ops[np.take_along_axis(part, order, axis=1)]
            cache[key] = out
        return cache[key]

    def _info_at(self, theta: NDArray[np.float64], items: NDArray[np.intp]) -> NDArray[np.float64]:
        """Exact Fisher information (Q, len(items)) from the kernels."""
        out = np.zeros((theta.size, items.size))
        poly = self.poly[items]
        d = items[~poly]
        if d.size:
            out[:, ~poly] = kernels.info_dichotomous(theta, self.a[d], self.b[d], self.c[d])
        for name, fn in (("grm", kernels.info_grm), ("gpcm", kernels.info_gpcm)):
            sel = self.model[items] == name
            if sel.any():
                it = items[sel]
                width = max(int(self.n_cats[it].max()) - 1, 1)
                out[:, sel] = fn(theta, self.a[it], self.thresholds[it, :width])
        return out

    def response_probs(self, items: NDArray[np.intp], theta: NDArray[np.float64]) -> NDArray[np.float64]:
        """Category probabilities (N, K) of item items[j] at theta[j], pairwise (for simulation)."""
        out = np.zeros((len(items), self.max_cats))
        dich = ~self.poly[items]
        if dich.any():
            it = items[dich]
            p = self.c[it] + (1.0 - self.c[it]) * expit(self.a[it] * (theta[dich] - self.b[it]))
            out[dich, 0], out[dich, 1] = 1.0 - p, p
        for j in np.flatnonzero(~dich):
            i = items[j]
            fn = kernels.category_probs_grm if self.model[i] == "grm" else kernels.category_probs_gpcm
            width = int(self.n_cats[i]) - 1
            pk = fn(theta[j : j + 1], self.a[i : i + 1], self.thresholds[i : i + 1, :width])[0, 0]
            out[j, : pk.size] = pk
        return out

    # ------------------------------------------------------------------ validation

    def _validate(self) -> None:
        for k in range(len(self)):
            if self.pilot[k] and not self._usable_one(k):
                continue  # pilot items may be uncalibrated
            if not self._usable_one(k):
                raise BankError(f"a/b/thresholds: item {self.ids[k]!r} has missing or invalid parameters")
            if self.model[k] == "3pl" and not (0.0 <= self.c[k] < 1.0):
                raise BankError(f"c: item {self.ids[k]!r} needs 0 <= c < 1")
            if self.poly[k]:
                t = self.thresholds[k]
                width = int(self.n_cats[k]) - 1
                if np.isnan(t[:width]).any() or not np.isnan(t[width:]).all():
                    raise BankError(f"thresholds: item {self.ids[k]!r} must be NaN-padded on the right only")
                if self.model[k] == "grm" and np.any(np.diff(t[:width]) <= 0):
                    raise BankError(f"thresholds: GRM item {self.ids[k]!r} needs increasing thresholds")

    def _usable_one(self, k: int) -> bool:
        if not (np.isfinite(self.a[k]) and self.a[k] > 0):
            return False
        if self.poly[k]:
            return bool(np.sum(~np.isnan(self.thresholds[k])) >= 1)
        return bool(np.isfinite(self.b[k]))

    def _enemy_lists(self, enemies: Sequence[Iterable[str]] | None, n: int) -> tuple[tuple[int, ...], ...]:
        if enemies is None:
            return tuple(() for _ in range(n))
        out: list[set[int]] = [set() for _ in range(n)]
        for k, group in enumerate(enemies):
            for other in group or []:
                j = self.index.get(str(other))
                if j is None:
                    raise BankError(f"enemies: item {self.ids[k]!r} names unknown enemy {other!r}")
                if j != k:
                    out[k].add(j)
                    out[j].add(k)  # enmity is symmetric
        return tuple(tuple(sorted(s)) for s in out)


def load_bank(source: str | Path | Mapping[str, Any], grid: Grid | None = None) -> Bank:
    """A bank from a JSON file path or an already parsed dict.

    Two formats: ``{"items": [{id, model, a, b, c?, thresholds?, content?, dimension?, pilot?,
    enemies?}]}`` and the project's ``"competency.items/1"`` item file, whose items carry an
    ``irt`` dict and a ``node`` code (content = node, dimension = the node's top-level code).
    A dict of arrays (with key ``"a"``) is accepted too.
    """
    if isinstance(source, (str, Path)):
        with open(source, encoding="utf-8") as fh:
            data = json.load(fh)
    else:
        data = source
    if isinstance(data, Bank):
        return data
    if "items" not in data:
        if "a" in data:
            return Bank.from_arrays(data, grid=grid)
        raise BankError("items: the bank file has no 'items' list")
    items = data["items"]
    if data.get("format", "").startswith("competency.items/"):
        items = [_from_project_item(k, it) for k, it in enumerate(items)]
    return Bank.from_items(items, grid=grid)


def _from_project_item(k: int, item: Mapping[str, Any]) -> dict[str, Any]:
    irt = item.get("irt") or {}
    node = item.get("node")
    if "id" not in item:
        raise BankError(f"id: item {k} has no id")
    has_params = irt.get("a") is not None
    return {
        "id": item["id"],
        "model": irt.get("model") or "2pl",
        "a": irt.get("a"),
        "b": irt.get("b"),
        "c": irt.get("c"),
        "thresholds": irt.get("thresholds"),
        "content": node,
        "dimension": _top_code(node) if node else 0,
        "pilot": bool(item.get("pilot", False)) or not has_params or irt.get("source") == "pilot",
        "enemies": item.get("enemies") or [],
    }


def _top_code(node: str) -> str:
    """'T3.1.2' -> 'T3', 'S6.10' -> 'S6'."""
    return str(node).split(".")[0]


def _sorted_codes(codes: set[str]) -> list[str]:
    def key(code: str) -> tuple[Any, ...]:
        return (0, int(code)) if code.lstrip("-").isdigit() else (1, code)

    return sorted(codes, key=key)


def _num(x: Any, default: float) -> float:
    return default if x is None else float(x)


def _float_vector(x: Any, n: int, name: str, default: float) -> NDArray[np.float64]:
    if x is None:
        return np.full(n, default)
    try:
        arr = np.array([default if v is None else v for v in np.atleast_1d(x).tolist()], dtype=float)
    except (TypeError, ValueError) as exc:
        raise BankError(f"{name}: not numeric ({exc})") from None
    if arr.shape != (n,):
        raise BankError(f"{name}: expected {n} values, got {arr.size}")
    return arr


def _threshold_matrix(x: Any, n: int) -> NDArray[np.float64]:
    if x is None:
        return np.full((n, 1), np.nan)
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.shape[0] != n:
        raise BankError(f"thresholds: expected {n} rows, got {arr.shape[0]}")
    if arr.shape[1] == 0:
        arr = np.full((n, 1), np.nan)
    return arr.copy()
