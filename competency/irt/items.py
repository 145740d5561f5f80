"""A test of items that may mix models: parameters in the IRT form, checked once.

A params dict uses the keys of the public contract: ``a``, ``b`` (dichotomous items),
``c`` (3pl; 0 elsewhere), ``thresholds`` ((n, K−1), NaN-padded; grm/gpcm items).
For a mixed test, give ``model`` as one name per item (a list, or ``params["model"]``):
dichotomous items read ``a, b, c``, polytomous items read ``a`` and their row of
``thresholds``; the unused entries of a row may be NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from competency.irt import models as km

MODELS = ("rasch", "1pl", "2pl", "3pl", "grm", "gpcm")
DICHOTOMOUS = frozenset({"rasch", "1pl", "2pl", "3pl"})
POLYTOMOUS = frozenset({"grm", "gpcm"})

ModelSpec = str | Sequence[str] | np.ndarray


def check_model_name(model: str) -> str:
    name = str(model).lower()
    if name not in MODELS:
        raise ValueError(f"model: unknown item model {model!r}; expected one of {', '.join(MODELS)}")
    return name


def model_list(model: ModelSpec | None, n_items: int, params: Mapping | None = None) -> list[str]:
    """One model name per item from a name, a per-item list, or ``params["model"]``."""
    if model is None and params is not None and "model" in params:
        model = params["model"]
    if model is None:
        raise ValueError("model: give a model name or one per item")
    if isinstance(model, str):
        return [check_model_name(model)] * n_items
    names = [check_model_name(m) for m in model]
    if len(names) != n_items:
        raise ValueError(f"model: {len(names)} model names for {n_items} items")
    return names


@dataclass(frozen=True)
class ItemSet:
    """Parameters of n items in the IRT form, with a unified category layout (K_max columns)."""

    models: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    thresholds: np.ndarray  # (n, K_max − 1); a dichotomous item stores b in column 0
    n_categories: np.ndarray  # (n,) int

    @property
    def n_items(self) -> int:
        return len(self.models)

    @property
    def max_categories(self) -> int:
        return int(self.n_categories.max()) if self.n_items else 2

    def take(self, columns: np.ndarray) -> ItemSet:
        """The items at `columns`, in that order (already validated, so not checked again)."""
        cols = np.asarray(columns, dtype=np.intp)
        return ItemSet(
            tuple(self.models[i] for i in cols.tolist()),
            self.a[cols],
            self.b[cols],
            self.c[cols],
            self.thresholds[cols],
            self.n_categories[cols],
        )

    def _groups(self) -> dict[str, np.ndarray]:
        kinds = np.array(["dich" if m in DICHOTOMOUS else m for m in self.models])
        return {k: np.flatnonzero(kinds == k) for k in ("dich", "grm", "gpcm") if np.any(kinds == k)}

    def category_probs(self, theta: np.ndarray) -> np.ndarray:
        """P(Y = k | θ), shape (Q, n, K_max); categories an item does not have get 0."""
        theta = np.atleast_1d(np.asarray(theta, dtype=float))
        out = np.zeros((theta.size, self.n_items, self.max_categories))
        for kind, idx in self._groups().items():
            if kind == "dich":
                p = km.prob_dichotomous(theta, self.a[idx], self.b[idx], self.c[idx])
                out[:, idx, 0], out[:, idx, 1] = 1.0 - p, p
            else:
                f = km.category_probs_grm if kind == "grm" else km.category_probs_gpcm
                k = int(self.n_categories[idx].max())
                out[:, idx, :k] = f(theta, self.a[idx], self.thresholds[idx, : k - 1])
        return out

    def dcategory_probs(self, theta: np.ndarray) -> np.ndarray:
        """dP(Y = k | θ)/dθ, shape (Q, n, K_max)."""
        theta = np.atleast_1d(np.asarray(theta, dtype=float))
        out = np.zeros((theta.size, self.n_items, self.max_categories))
        for kind, idx in self._groups().items():
            if kind == "dich":
                dp = km.dprob_dichotomous(theta, self.a[idx], self.b[idx], self.c[idx])
                out[:, idx, 0], out[:, idx, 1] = -dp, dp
            else:
                f = km.dcategory_probs_grm if kind == "grm" else km.dcategory_probs_gpcm
                k = int(self.n_categories[idx].max())
                out[:, idx, :k] = f(theta, self.a[idx], self.thresholds[idx, : k - 1])
        return out

    def information(self, theta: np.ndarray) -> np.ndarray:
        """Item information, shape (Q, n)."""
        theta = np.atleast_1d(np.asarray(theta, dtype=float))
        out = np.zeros((theta.size, self.n_items))
        for kind, idx in self._groups().items():
            if kind == "dich":
                out[:, idx] = km.info_dichotomous(theta, self.a[idx], self.b[idx], self.c[idx])
            else:
                f = km.info_grm if kind == "grm" else km.info_gpcm
                k = int(self.n_categories[idx].max())
                out[:, idx] = f(theta, self.a[idx], self.thresholds[idx, : k - 1])
        return out

    def to_params(self) -> dict[str, np.ndarray]:
        """The public params dict (IRT form)."""
        out: dict[str, np.ndarray] = {"a": self.a.copy()}
        dich = np.array([m in DICHOTOMOUS for m in self.models])
        if dich.any():
            out["b"] = np.where(dich, self.b, np.nan)
        if any(m == "3pl" for m in self.models):
            out["c"] = self.c.copy()
        if (~dich).any():
            t = self.thresholds.copy()
            t[dich] = np.nan
            out["thresholds"] = t
        if len(set(self.models)) > 1:
            out["model"] = np.array(self.models)
        return out


def _item_vector(params: Mapping, key: str, n: int) -> np.ndarray:
    try:
        v = np.asarray(params[key], dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"params[{key!r}]: not numeric") from exc
    if v.ndim == 0:
        v = np.full(n, float(v))
    if v.shape != (n,):
        raise ValueError(f"params[{key!r}]: expected {n} values, got shape {v.shape}")
    return v


def n_items_of(params: Mapping) -> int:
    for key in ("a", "b", "thresholds"):
        if key in params:
            v = np.asarray(params[key])
            if v.ndim >= 1:
                return int(v.shape[0])
    raise ValueError("params: need at least 'a' (and 'b' or 'thresholds')")


def item_set(params: Mapping, model: ModelSpec | None = None, n_items: int | None = None) -> ItemSet:
    """Validate a params dict (IRT form) and build an ItemSet; errors name the item."""
    n = n_items if n_items is not None else n_items_of(params)
    models = model_list(model, n, params)
    if "a" in params:
        a = _item_vector(params, "a", n)
    elif all(m == "rasch" for m in models):
        a = np.ones(n)
    else:
        raise ValueError("params['a']: missing")
    dich = np.array([m in DICHOTOMOUS for m in models])
    b = _item_vector(params, "b", n) if "b" in params else np.full(n, np.nan)
    c = _item_vector(params, "c", n) if "c" in params else np.zeros(n)
    c = np.where(np.array([m == "3pl" for m in models]), np.nan_to_num(c), 0.0)
    if (~dich).any():
        if "thresholds" not in params:
            raise ValueError("params['thresholds']: required for grm/gpcm items")
        t = np.asarray(params["thresholds"], dtype=float)
        if t.ndim == 1:
            t = t[:, None]
        if t.shape[0] != n:
            raise ValueError(f"params['thresholds']: expected {n} rows, got {t.shape[0]}")
    else:
        t = np.full((n, 1), np.nan)
    n_cat = np.full(n, 2, dtype=int)
    width = max(1, t.shape[1])
    thresholds = np.full((n, width), np.nan)
    for i, m in enumerate(models):
        if not np.isfinite(a[i]):
            raise ValueError(f"item {i}: slope a must be finite (got {a[i]})")
        if m in DICHOTOMOUS:
            if not np.isfinite(b[i]):
                raise ValueError(f"item {i}: difficulty b must be finite (got {b[i]})")
            if not 0.0 <= c[i] < 1.0:
                raise ValueError(f"item {i}: lower asymptote c must lie in [0, 1) (got {c[i]})")
            thresholds[i, 0] = b[i]
            continue
        row = t[i]
        k = int(np.sum(~np.isnan(row)))
        if k == 0 or np.isnan(row[:k]).any() or not np.isfinite(row[:k]).all():
            raise ValueError(f"item {i}: thresholds must be finite, NaN-padded on the right only")
        if m == "grm" and np.any(np.diff(row[:k]) <= 0):
            raise ValueError(f"item {i}: GRM thresholds must increase strictly (got {row[:k]})")
        if a[i] <= 0 and m == "grm":
            raise ValueError(f"item {i}: GRM slope must be positive (got {a[i]})")
        thresholds[i, :k] = row[:k]
        n_cat[i] = k + 1
    return ItemSet(tuple(models), a, b, c, thresholds, n_cat)
