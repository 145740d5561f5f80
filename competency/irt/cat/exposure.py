"""Exposure control: Sympson–Hetter lottery parameters and a maximum exposure rate.

Sympson–Hetter: when the selector's best item i comes up, it is administered with probability
K_i; otherwise it is set aside for this examinee and the next best comes up. ``derive_sympson_hetter``
finds K by iterated simulation: the classic K_i ← min(1, r_max / P(S_i)) (P(S_i): share of simulated
examinees for whom item i came up, before the lottery), tightened by K_i ← K_i·r_max/P(A_i) while the
administration share P(A_i) still exceeds r_max, which converges in fewer rounds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from .bank import Bank
    from .config import EngineConfig


def sh_vector(bank: Bank, cfg: EngineConfig) -> NDArray[np.float64] | None:
    if cfg.exposure != "sympson_hetter":
        return None
    k = np.ones(len(bank))
    for item_id, v in cfg.sh_k.items():
        idx = bank.index.get(item_id)
        if idx is not None:
            k[idx] = float(v)
    return k


def rate_mask(rates: NDArray[np.float64] | None, cfg: EngineConfig, n: int) -> NDArray[np.bool_] | None:
    """Items whose current exposure rate is still below r_max (a soft rule)."""
    if cfg.exposure != "max_rate" or rates is None:
        return None
    return np.asarray(rates, dtype=float)[:n] < cfg.r_max


def derive_sympson_hetter(
    bank: Any,
    config: EngineConfig | dict[str, Any],
    true_thetas: NDArray[np.float64],
    r_max: float = 0.25,
    iterations: int = 10,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, float]:
    """Sympson–Hetter K parameters (item id -> probability) for a target maximum exposure r_max."""
    from .bank import load_bank
    from .config import EngineConfig
    from .simulation import run_sessions

    bank = load_bank(bank)
    cfg = config if isinstance(config, EngineConfig) else EngineConfig.from_dict(config)
    k = np.ones(len(bank))
    thetas = np.asarray(true_thetas, dtype=float)
    for it in range(iterations):
        sh = {bank.ids[i]: float(k[i]) for i in range(len(bank))}
        run = run_sessions(bank, cfg.replace(exposure="sympson_hetter", sh_k=sh), thetas, seed=seed + it)
        p_select = run.selected_count / len(thetas)
        administered = np.zeros(len(bank))
        for seq in run.items:
            administered[seq] += 1
        p_admin = administered / len(thetas)
        # Classic step K = r/P(S) where selection is too frequent; where the items still run over
        # the target, also shrink K by r/P(A) (converges in fewer rounds); relax K where under.
        classic = np.where(p_select > r_max, r_max / np.maximum(p_select, 1e-12), 1.0)
        k = np.minimum(classic, np.minimum(1.0, k * r_max / np.maximum(p_admin, 1e-12)))
        if progress:
            progress(it + 1, iterations)
    return {bank.ids[i]: round(float(k[i]), 6) for i in range(len(bank)) if k[i] < 1.0}
