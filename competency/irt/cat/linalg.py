"""np.linalg.solve / inv / cholesky for stacks of small matrices, minus the wrappers' overhead.

The estimators call these a few times per session step on 1..6-dimensional matrices, where the
public functions spend ~30k instructions on argument checks and error-state set-up around a
~15k-instruction LAPACK call. Here the same gufuncs (``numpy.linalg._umath_linalg``, with the
signature the public functions pick for float64 stacks) run directly: identical results.

Errors keep their public form. LAPACK reports a singular or not positive-definite matrix through
the floating-point "invalid" flag; under ``lapack_errors()`` that raises FloatingPointError, and
the callers then redo the work with the public functions, which raise LinAlgError (or return)
exactly as before. Without the private module (another numpy) the public functions run.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

try:
    from numpy.linalg import _umath_linalg as _gufuncs
except ImportError:  # pragma: no cover - a numpy without the module
    _gufuncs = None

Arr = NDArray[np.float64]


def lapack_errors() -> np.errstate:
    """The error state under which the *_unchecked functions may run: "invalid" raises."""
    return np.errstate(invalid="raise", over="ignore", divide="ignore", under="ignore")


def solve_unchecked(a: Arr, b: Arr) -> Arr:
    """np.linalg.solve(a, b) for float64 stacks a (..., M, M), b (..., M, K); run under lapack_errors()."""
    return np.linalg.solve(a, b) if _gufuncs is None else _gufuncs.solve(a, b, signature="dd->d")


def inv_unchecked(a: Arr) -> Arr:
    """np.linalg.inv(a) for a float64 stack (..., M, M); run under lapack_errors()."""
    return np.linalg.inv(a) if _gufuncs is None else _gufuncs.inv(a, signature="d->d")


def cholesky_unchecked(a: Arr) -> Arr:
    """np.linalg.cholesky(a) (lower factor) for a float64 stack (..., M, M); run under lapack_errors()."""
    return np.linalg.cholesky(a) if _gufuncs is None else _gufuncs.cholesky_lo(a, signature="d->d")


def _unchecked_or_public(unchecked, public, *args: Arr) -> Arr:
    """The gufunc's result, or the public function's (its result or its LinAlgError) when LAPACK
    flagged the matrix."""
    try:
        with lapack_errors():
            return unchecked(*args)
    except FloatingPointError:
        return public(*args)


def solve(a: Arr, b: Arr) -> Arr:
    """np.linalg.solve(a, b) for float64 stacks a (..., M, M), b (..., M, K)."""
    return _unchecked_or_public(solve_unchecked, np.linalg.solve, a, b)


def inv(a: Arr) -> Arr:
    """np.linalg.inv(a) for a float64 stack (..., M, M)."""
    return _unchecked_or_public(inv_unchecked, np.linalg.inv, a)


def cholesky(a: Arr) -> Arr:
    """np.linalg.cholesky(a) (lower factor) for a float64 stack (..., M, M)."""
    return _unchecked_or_public(cholesky_unchecked, np.linalg.cholesky, a)
