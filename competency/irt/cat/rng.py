"""Counter-based uniform draws.

Every random decision of the engine (randomesque pick, Sympson–Hetter lottery, pilot pick, a
simulated response) is a pure function of (examinee seed, stream, position, try). The step API
and the batched simulator therefore make identical choices, and a stored state replays the same
way on any worker without carrying a generator's internal state.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_K = (np.uint64(0xD6E8FEB86659FD93), np.uint64(0xA0761D6478BD642F), np.uint64(0xE7037ED1A0B428DB))

STREAM_RANDOMESQUE = 1
STREAM_SH = 2
STREAM_PILOT = 3
STREAM_RESPONSE = 4
STREAM_SEED = 5
STREAM_RANDOM_SELECT = 6


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    # SplitMix64 finaliser; array arithmetic on uint64 wraps modulo 2**64 as intended.
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _u64(x: ArrayLike) -> NDArray[np.uint64]:
    return np.atleast_1d(np.asarray(x, dtype=np.int64)).astype(np.uint64)


def uniforms(
    seed: ArrayLike, stream: int, position: ArrayLike, attempt: ArrayLike = 0
) -> NDArray[np.float64]:
    """Uniform(0, 1) draws, one per element of the broadcast inputs."""
    s, p, t = np.broadcast_arrays(_u64(seed), _u64(position), _u64(attempt))
    x = _mix(s + _GOLD * _u64(stream))
    x = _mix(x ^ (p * _K[0]) ^ (t * _K[1]))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def derive_seeds(seed: int, n: int) -> NDArray[np.int64]:
    """n examinee seeds in [0, 2**53) derived from one run seed."""
    u = uniforms(np.full(n, seed), STREAM_SEED, np.arange(n))
    return (u * 9007199254740992.0).astype(np.int64)
