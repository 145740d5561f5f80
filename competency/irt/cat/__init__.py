"""Adaptive testing engine (pure numpy/scipy; no Flask, no database).

Simulation (the public contract)::

    from competency.irt.cat import simulate
    report = simulate(bank, true_thetas, selector="mfi", estimator="eap",
                      se_target=0.3, min_items=5, max_items=40, seed=0)
    report.theta, report.se, report.lengths   # per examinee ((N, D) arrays with mcat=True)
    report.exposure                            # per item: share of examinees who saw it
    report.seconds                             # wall time inside the engine
    report.bias, report.rmse, report.conditional, report.overlap_rate, report.stop_reasons
    print(report.to_text()); report.write_svg("sim.svg")

``bank`` is a dict of arrays in IRT form (logistic, D = 1): "a", "b", optional "c", and for mixed
banks "model" ("2pl"/"3pl"/"grm"/"gpcm" per item) with "thresholds" (n, K-1) NaN-padded; optional
"content" codes, "dimension" codes, "pilot" flags, "enemies" (lists of ids or indices), "ids".
Every EngineConfig field can be passed to ``simulate`` as a keyword.

Step API for the web layer (nothing is kept in memory between requests)::

    bank = Bank.from_items([{"id": "T-1", "model": "2pl", "a": 1.2, "b": -0.4, "content": "T3.1.2",
                             "dimension": "T3", "pilot": False, "enemies": []}, ...])
    # or load_bank(path_or_dict): {"items": [...]} or a "competency.items/1" item file
    cfg = EngineConfig(selector="mfi", estimator="eap", se_target=0.3, min_items=5, max_items=40)
    cfg = EngineConfig.from_dict(cfg.to_dict())        # JSON round trip
    engine = Engine(bank, cfg)
    state = engine.start(seed=123)                      # CatState; state.to_dict() is JSON
    item_id = engine.next_item(state, elapsed_seconds=None, exposure_rates=None)
    #   -> an item id, or None when stopping (state.stop_reason says why). Sets state.pending
    #      (repeat calls return the same item) and state.skipped (Sympson–Hetter).
    state = engine.record(state, item_id, score)        # NEW state; the old one is unchanged
    engine.should_stop(state, elapsed_seconds=None)     # -> (bool, reason)
    state.theta, state.se, state.level                  # lists, one entry per dimension
    state.administered, state.responses, state.stop_reason
    engine.summary(state)                               # per-dimension result for grading

Build each Bank once per item-parameter version and reuse it across requests (a module-level cache
keyed by bank id + version is enough): its lookup tables and MFI ranking are cached on the object
(~15 ms to build for 500 items). Attempt state lives only in CatState. For a "max_rate" exposure
rule pass ``exposure_rates`` (item id -> share of attempts that saw it) to next_item.

Stop reasons: "se_target", "max_items", "time_limit", "classification_ci",
"classification_sprt", "pool_exhausted", "empty_pool". Bad input raises a CatError subclass
(UnknownItemError, ItemAlreadyAnsweredError, InvalidResponseError, StateMismatchError,
ConfigError, BankError) naming the field, and changes nothing.

CLI: ``run_simulation_report(bank_path_or_dict, n_examinees, config=..., progress=cb,
plot_path="x.svg")`` returns the report; ``.to_text()`` prints it.

Exposure: ``derive_sympson_hetter(bank, cfg, thetas, r_max)`` returns the K parameters to store in
``EngineConfig(exposure="sympson_hetter", sh_k=...)``.

Layering (one small interface per decision; imports run one way, tests/cat/test_cat_imports.py):
estimators.py (EAP/MAP/ML, vector EAP/MAP), selectors.py (criteria: MFI/D-optimal, PWI, KL,
a-stratified, random), exposure.py (randomesque, Sympson–Hetter lottery, max rate as selection
steps), selection.py (the selector the engine asks: pilot slots, the ranked shortcut, eligibility,
criterion, picker), stopping.py, content.py (Kingsbury–Zara, min/max); engine.py composes them over
sessions.py (arrays of N sessions); simulation.py runs thousands in lock step with the same code
and derives Sympson–Hetter parameters (one-row batches take bit-identical scalar paths; linalg.py
runs numpy's LAPACK gufuncs directly).
"""

from .bank import Bank, Grid, load_bank
from .config import EngineConfig
from .engine import Engine
from .errors import (
    BankError,
    CatError,
    ConfigError,
    InvalidResponseError,
    ItemAlreadyAnsweredError,
    StateMismatchError,
    UnknownItemError,
)
from .simulation import SimulationReport, derive_sympson_hetter, run_simulation_report, simulate
from .state import CatState

__all__ = [
    "Bank",
    "BankError",
    "CatError",
    "CatState",
    "ConfigError",
    "Engine",
    "EngineConfig",
    "Grid",
    "InvalidResponseError",
    "ItemAlreadyAnsweredError",
    "SimulationReport",
    "StateMismatchError",
    "UnknownItemError",
    "derive_sympson_hetter",
    "load_bank",
    "run_simulation_report",
    "simulate",
]
