"""Response matrices: validation, pattern compression and the E-step design matrices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

MISSING = -1


def as_response_codes(responses: ArrayLike, *, name: str = "responses") -> np.ndarray:
    """Check a (n_persons, n_items) matrix of category numbers (NaN = missing); int16 codes, −1 missing."""
    arr = np.asarray(responses)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (persons × items), got {arr.ndim} dimensions")
    if arr.dtype.kind not in "biuf":
        for j in range(arr.shape[1]):
            for i in range(arr.shape[0]):
                v = arr[i, j]
                if v is None:
                    continue
                try:
                    float(v)
                except (TypeError, ValueError):
                    raise ValueError(
                        f"{name}: item {j} (column {j}), row {i}: non-numeric value {v!r}"
                    ) from None
        arr = np.array([[np.nan if v is None else float(v) for v in row] for row in arr], dtype=float)
    out = np.empty(arr.shape, dtype=np.int16)
    # Row chunks keep the float temporaries small for large matrices.
    for start in range(0, arr.shape[0], 8192):
        out[start : start + 8192] = _chunk_codes(
            np.asarray(arr[start : start + 8192], dtype=float), start, name
        )
    return out


def _chunk_codes(x: np.ndarray, row0: int, name: str) -> np.ndarray:
    finite = np.isfinite(x)
    if np.isinf(x).any():
        i, j = np.argwhere(np.isinf(x))[0]
        raise ValueError(f"{name}: item {j} (column {j}), row {row0 + i}: infinite value")
    bad = finite & ((x != np.round(x)) | (x < 0) | (x > 1000))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{name}: item {j} (column {j}), row {row0 + i}: {x[i, j]!r} is not a category number 0, 1, 2, … "
            "(at most 1000)"
        )
    return np.where(finite, x, MISSING).astype(np.int16)


def check_weights(weights: ArrayLike | None, n_rows: int) -> np.ndarray:
    if weights is None:
        return np.ones(n_rows)
    w = np.asarray(weights, dtype=float).ravel()
    if w.shape != (n_rows,):
        raise ValueError(f"weights: expected {n_rows} frequencies (one per row), got {w.size}")
    if not np.isfinite(w).all() or (w < 0).any():
        i = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])
        raise ValueError(f"weights: row {i}: frequency must be finite and ≥ 0 (got {w[i]})")
    return w


def compress_patterns(codes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique response rows with summed weights, and the row → pattern index."""
    keep = weights > 0
    codes_c = np.ascontiguousarray(codes)
    # Hash whole rows as opaque bytes: one sort instead of a lexicographic one over columns.
    view = codes_c.view(np.dtype((np.void, codes_c.dtype.itemsize * codes_c.shape[1]))).ravel()
    _, first, inverse = np.unique(view, return_index=True, return_inverse=True)
    counts = np.bincount(inverse, weights=np.where(keep, weights, 0.0), minlength=first.size)
    return codes_c[first], counts, inverse


@dataclass
class Design:
    """Indicator matrices so that log L(pattern, node) is one matrix product.

    ``log L = Y @ (log P_k − log P_0)ᵀ + O @ (log P_0)ᵀ`` where Y holds the indicator of
    category k ≥ 1 per (item, k) column and O the indicator "item answered".
    """

    y: np.ndarray  # (n_patterns, C) float64
    observed: np.ndarray | None  # (n_patterns, n_items) float64; None when nothing is missing
    col_item: np.ndarray  # (C,) item of each column
    col_cat: np.ndarray  # (C,) category (≥ 1) of each column


def build_design(patterns: np.ndarray, n_categories: np.ndarray) -> Design:
    cols_item = np.concatenate([np.full(k - 1, i) for i, k in enumerate(n_categories)]).astype(int)
    cols_cat = np.concatenate([np.arange(1, k) for k in n_categories]).astype(int)
    # C order matters: BLAS is several times slower on the column-major result of fancy indexing.
    y = np.ascontiguousarray(patterns[:, cols_item] == cols_cat[None, :], dtype=np.float64)
    missing = patterns == MISSING
    observed = np.ascontiguousarray(~missing, dtype=np.float64) if missing.any() else None
    return Design(y, observed, cols_item, cols_cat)
