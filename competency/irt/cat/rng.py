"""Counter-based uniform draws.

Every random decision of the engine (randomesque pick, Sympson–Hetter lottery, pilot pick, a
simulated response) is a pure function of (examinee seed, stream, position, try). The step API
and the batched simulator therefore make identical choices, and a stored state replays the same
way on any worker without carrying a generator's internal state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

# SplitMix64 constants (Python ints: they mix with numpy uint64 arrays and with Python ints alike)
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_GOLD, _K0, _K1 = 0x9E3779B97F4A7C15, 0xD6E8FEB86659FD93, 0xA0761D6478BD642F
_MASK = 2**64 - 1
_INT64 = range(-(2**63), 2**63)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

STREAM_RANDOMESQUE = 1
STREAM_SH = 2
STREAM_PILOT = 3
STREAM_RESPONSE = 4
STREAM_SEED = 5
STREAM_RANDOM_SELECT = 6


def _hash(seed: Any, stream: Any, position: Any, attempt: Any, wrap: Callable[[Any], Any]) -> Any:
    """The 53-bit hash of (seed, stream, position, attempt), written once for both paths: numpy
    uint64 arrays (``wrap`` the identity: their arithmetic wraps modulo 2**64 by itself) and Python
    ints (``wrap`` reduces modulo 2**64 by hand). Reducing after each step or once at the end gives
    the same residue, so the two paths agree bit for bit (tests/cat/test_cat_single_row.py)."""
    x = _mix(wrap(seed + wrap(stream * _GOLD)), wrap)
    x = _mix(x ^ wrap(position * _K0) ^ wrap(attempt * _K1), wrap)
    return x >> 11  # < 2**53: converts to float exactly, and the scaling by 2**-53 is exact too


def _mix(x: Any, wrap: Callable[[Any], Any]) -> Any:
    """SplitMix64 finaliser."""
    x = wrap((x ^ (x >> 30)) * _M1)
    x = wrap((x ^ (x >> 27)) * _M2)
    return x ^ (x >> 31)


def _same(x: Any) -> Any:
    return x


def _wrap_int(x: int) -> int:
    return x & _MASK


def _u64(x: ArrayLike) -> NDArray[np.uint64]:
    return np.atleast_1d(np.asarray(x, dtype=np.int64)).astype(np.uint64)


def _single(x: object) -> int | None:
    """x as an int64 value when it is one signed integer (a Python int, numpy scalar or shape-(1,) array)."""
    if type(x) is int:
        return x if x in _INT64 else None  # out of range: the array path raises as before
    if isinstance(x, np.ndarray):
        return int(x[0]) if x.shape == (1,) and x.dtype.kind == "i" else None
    if isinstance(x, np.signedinteger):
        return int(x)
    return None


def uniforms(
    seed: ArrayLike, stream: int, position: ArrayLike, attempt: ArrayLike = 0
) -> NDArray[np.float64]:
    """Uniform(0, 1) draws, one per element of the broadcast inputs."""
    s, p, t = _single(seed), _single(position), _single(attempt)
    if s is not None and p is not None and t is not None and type(stream) is int and stream in _INT64:
        # One draw (a web request's step): the array path costs ~40 µs of numpy overhead for it.
        return np.array([uniform_one(s, stream, p, t)])
    return _uniforms_array(seed, stream, position, attempt)


def uniform_one(seed: int, stream: int, position: int, attempt: int = 0) -> float:
    """One draw with Python integers, bit-identical to the array path (tests/cat/test_cat_single_row.py)."""
    # int64 -> uint64 is the two's-complement reinterpretation, i.e. the value modulo 2**64
    return float(_hash(seed, stream, position, attempt, _wrap_int)) * _TO_UNIT


def _uniforms_array(
    seed: ArrayLike, stream: int, position: ArrayLike, attempt: ArrayLike = 0
) -> NDArray[np.float64]:
    s, p, t = np.broadcast_arrays(_u64(seed), _u64(position), _u64(attempt))
    return _hash(s, _u64(stream), p, t, _same).astype(np.float64) * _TO_UNIT


def derive_seeds(seed: int, n: int) -> NDArray[np.int64]:
    """n examinee seeds in [0, 2**53) derived from one run seed."""
    u = uniforms(np.full(n, seed), STREAM_SEED, np.arange(n))
    return (u * 9007199254740992.0).astype(np.int64)
