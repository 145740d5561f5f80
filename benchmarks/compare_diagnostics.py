"""S-X² item fit and marginal reliability: competency.irt against Python `mirt` 1.2.0, same parameters.

    .venv/bin/python benchmarks/compare_diagnostics.py

Method. Each data set is calibrated once with mirt (``fit_mirt``, its defaults, no SEs).
mirt's estimates are converted to our params dict (IRT form, logistic, D = 1: mirt's
``discrimination``/``difficulty`` are a/b, its GRM ``thresholds`` are our b_k with
P(Y ≥ k) = logistic(a(θ − b_k)); no 1.702 factor on either side). The conversion is
checked by comparing category probabilities of both libraries at a few θ values (the
maximum absolute difference is printed; it must be ~1e-8 or less). On those identical
parameters the script computes

* S-X² (Orlando–Thissen): ours ``diagnostics.sx2`` with ``mincell=1`` against
  ``mirt.itemfit(..., statistics=["S_X2"], min_expected=1)``. ``mirt.itemfit`` wraps its
  result in a pandas/polars DataFrame and neither is installed, so the script calls the
  function it delegates to, ``mirt.diagnostics.compute_itemfit``, with the same arguments
  (it returns the same columns as a dict of arrays). mirt is given our quadrature
  (61 equally spaced nodes on [−6, 6], normal weights) so that only the statistic differs;
  a second line gives mirt at its own default (41 Gauss–Hermite nodes) for context;
* marginal reliability: ours ``diagnostics.marginal_reliability`` against
  ``mirt.marginal_rxx`` (both 61 nodes on [−6, 6], θ ~ N(0, 1)).

Our own calibration (``competency.irt.fit``) is run too and only its parameter differences
from mirt's (max |Δa|, max |Δb|) are printed, as context.

Known differences in definition, reported rather than hidden:

* Sparse-cell pooling. Ours merges adjacent sum-score groups from the low end up until every
  expected cell of the group is ≥ mincell (the remainder joins the last group), for every
  model; df = per group, the categories the item can take less one, summed, − item parameters
  (groups·(K−1) − parameters whenever pooling runs). mirt pools a sparse score row into its less
  populated neighbour (dichotomous items); for polytomous items it first folds the
  structurally incomplete extreme score rows into the nearest complete row (Kang & Chen,
  2008) and then pools sparse *categories* within a score row, so its df counts the
  remaining category contrasts. mirt also reports p = NaN while a sparse cell remains.
  Our API exposes only ``mincell``, so identical S-X² can be expected only where no pooling
  is triggered (or both rules happen to pool the same rows). A line "without pooling"
  (mincell = min_expected = 0) shows how much of a gap the pooling explains; for polytomous
  items mirt still folds the incomplete extreme score rows there, while ours keeps them (their
  structurally empty cells are no contrasts of our df since session 6; before, they were).
* Marginal reliability. Ours is σ²/(σ² + E[1/I(θ)]); mirt's is E[I(θ)/(I(θ) + 1/σ²)]
  (its docstring). The script also evaluates mirt's formula on our information curve so
  that a definitional difference can be told apart from an information difference.

Data sets. LSAT7 (1000 × 5, dichotomous, 2PL). mirt 1.2.0's ``Science`` is *not* R mirt's
4-item, 4-category Likert set: it is a simulated 500 × 25 binary set, so it is fitted as a
2PL. No polytomous published data ships with mirt 1.2.0; the graded response model is
compared on ``verbal_aggression`` (316 × 24, 3 categories, "based on" De Boeck & Wilson, 2004).
"""

from __future__ import annotations

import warnings

import mirt
import numpy as np
from mirt.diagnostics import compute_itemfit

from competency.irt import fit
from competency.irt.diagnostics import marginal_reliability, sx2, test_information
from competency.irt.items import item_set
from competency.irt.quadrature import DEFAULT_BOUND, DEFAULT_POINTS, normal_grid

MINCELL = 1.0  # mirt's default min_expected; ours is set to the same
CHECK_THETA = np.array([-3.0, -1.5, -0.3, 0.0, 0.7, 2.0, 3.5])
# (mirt data set name, our model name, mirt model name)
DATA_SETS = (("LSAT7", "2pl", "2PL"), ("Science", "2pl", "2PL"), ("verbal_aggression", "grm", "GRM"))


def load(name: str) -> np.ndarray:
    return np.asarray(mirt.load_dataset(name)["data"]).astype(int)


def params_from_mirt(mirt_model, model: str) -> dict[str, np.ndarray]:
    """mirt's stored parameters → our IRT-form params dict (both are a(θ − b), D = 1)."""
    pars = mirt_model.parameters
    a = np.asarray(pars["discrimination"], dtype=float).ravel()
    if model == "grm":
        return {"a": a, "thresholds": np.asarray(pars["thresholds"], dtype=float)}
    return {"a": a, "b": np.asarray(pars["difficulty"], dtype=float).ravel()}


def mirt_category_probs(mirt_model, theta: np.ndarray) -> np.ndarray:
    """mirt's P(Y = k | θ) as (Q, n, K); its dichotomous models return P(Y = 1) only."""
    p = np.asarray(mirt_model.probability(theta[:, None]), dtype=float)
    if p.ndim == 2:
        p = np.stack([1.0 - p, p], axis=2)
    return p


def conversion_error(mirt_model, params: dict, model: str) -> float:
    ours = item_set(params, model).category_probs(CHECK_THETA)
    return float(np.max(np.abs(ours - mirt_category_probs(mirt_model, CHECK_THETA))))


def calibration_gap(x: np.ndarray, model: str, mirt_params: dict) -> tuple[float, float]:
    """Max |Δa| and |Δb| (b: difficulties or GRM thresholds) between our fit and mirt's."""
    ours = fit(x, model).params
    key = "thresholds" if model == "grm" else "b"
    da = float(np.max(np.abs(ours["a"] - mirt_params["a"])))
    db = float(np.nanmax(np.abs(ours[key] - mirt_params[key])))
    return da, db


def mirt_sx2(result, x: np.ndarray, own_grid: bool, mincell: float = MINCELL) -> dict[str, np.ndarray]:
    kwargs: dict = {"statistics": ["S_X2"], "min_expected": mincell}
    if own_grid:
        # Same nodes and weights as ours, so the quadrature cannot explain a difference.
        z, w = normal_grid(DEFAULT_POINTS, DEFAULT_BOUND)
        kwargs.update(quadrature_points=z[:, None], quadrature_weights=w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mirt warns about sparse cells; the table shows them
        table = compute_itemfit(result.model, x, **kwargs)
    return {
        "S_X2": np.asarray(table["S_X2"], dtype=float),
        "df": np.asarray(table["df"], dtype=float),
        "p": np.asarray(table["p_value"], dtype=float),
    }


def reliability(params: dict, model: str, mirt_model) -> dict[str, float]:
    z, w = normal_grid(DEFAULT_POINTS, DEFAULT_BOUND)
    info = test_information(z, params, model)
    mirt_info = np.asarray(mirt_model.information(z[:, None]), dtype=float)
    mirt_info = mirt_info.sum(axis=1) if mirt_info.ndim == 2 else mirt_info
    return {
        "ours": marginal_reliability(params, model),
        "mirt": float(mirt.marginal_rxx(mirt_model)),
        # mirt's definition E[I/(I + 1/σ²)], σ = 1, evaluated on our information curve.
        "mirt_formula_on_ours": float(np.sum(w * info / (info + 1.0))),
        "info_max_rel_diff": float(np.max(np.abs(info - mirt_info) / mirt_info)),
    }


def print_sx2_table(ours: dict, ref: dict) -> None:
    print(
        f"  {'item':>4} {'S-X2 ours':>10} {'S-X2 mirt':>10} {'diff':>9} {'df ours':>7} {'df mirt':>7}", end=""
    )
    print(f" {'p ours':>8} {'p mirt':>8}")
    for i in range(ours["S_X2"].size):
        print(
            f"  {i + 1:>4} {ours['S_X2'][i]:10.4f} {ref['S_X2'][i]:10.4f} "
            f"{ours['S_X2'][i] - ref['S_X2'][i]:+9.4f} {ours['df'][i]:7d} {ref['df'][i]:7.0f} "
            f"{ours['p'][i]:8.4f} {ref['p'][i]:8.4f}"
        )


def compare(name: str, model: str, mirt_name: str) -> dict[str, float]:
    x = load(name)
    result = mirt.fit_mirt(x, model=mirt_name, compute_standard_errors=False)
    params = params_from_mirt(result.model, model)
    print(f"== {name}: {x.shape[0]} × {x.shape[1]}, {mirt_name} (mirt converged={result.converged}) ==")
    print(f"  conversion check: max |P_ours − P_mirt| over θ ∈ {CHECK_THETA.tolist()}: ", end="")
    print(f"{conversion_error(result.model, params, model):.2e}")
    da, db = calibration_gap(x, model, params)
    label = "thresholds" if model == "grm" else "b"
    print(f"  our calibration vs mirt's: max |Δa| = {da:.4f}, max |Δ{label}| = {db:.4f}")
    ours = sx2(x, params, model, mincell=MINCELL)
    ref = mirt_sx2(result, x, own_grid=True)
    print(f"  S-X² (mincell = min_expected = {MINCELL:g}; mirt on our 61-node grid):")
    print_sx2_table(ours, ref)
    gap = np.abs(ours["S_X2"] - ref["S_X2"])
    df_same = int(np.sum(ours["df"] == ref["df"]))
    print(f"  max |ΔS-X²| = {np.max(gap):.2e}; items with equal df: {df_same}/{gap.size}")
    default = mirt_sx2(result, x, own_grid=False)
    print(
        "  (mirt at its default 41-node Gauss–Hermite grid: max |ΔS-X²| vs ours = "
        f"{np.max(np.abs(ours['S_X2'] - default['S_X2'])):.2e})"
    )
    # Without pooling the two collapsing rules drop out, which shows whether they explain a gap.
    raw_ours, raw_ref = sx2(x, params, model, mincell=0.0), mirt_sx2(result, x, own_grid=True, mincell=0.0)
    print(
        "  without pooling (mincell = min_expected = 0): max |ΔS-X²| = "
        f"{np.max(np.abs(raw_ours['S_X2'] - raw_ref['S_X2'])):.2e}, "
        f"items with |ΔS-X²| < 0.01: {int(np.sum(np.abs(raw_ours['S_X2'] - raw_ref['S_X2']) < 0.01))}/{gap.size}, "
        f"df ours {sorted(set(raw_ours['df'].tolist()))} vs mirt {sorted(set(raw_ref['df'].astype(int).tolist()))}"
    )
    rel = reliability(params, model, result.model)
    print(
        f"  marginal reliability: ours {rel['ours']:.6f}  mirt {rel['mirt']:.6f}  "
        f"|diff| {abs(rel['ours'] - rel['mirt']):.6f}"
    )
    print(
        f"    mirt's formula E[I/(I+1)] on our information: {rel['mirt_formula_on_ours']:.6f} "
        f"(|diff to mirt| {abs(rel['mirt_formula_on_ours'] - rel['mirt']):.2e}); "
        f"max relative difference of test information: {rel['info_max_rel_diff']:.2e}"
    )
    return {"max_dsx2": float(np.max(gap)), "drel": abs(rel["ours"] - rel["mirt"])}


def main() -> None:
    print(f"mirt {mirt.__version__ if hasattr(mirt, '__version__') else '?'}, numpy {np.__version__}")
    print("Collapsing rules differ (see the module docstring): ours merges adjacent score groups")
    print("from the low end up; mirt pools sparse score rows (binary) or sparse categories within")
    print("a row after folding incomplete extreme rows (polytomous).")
    for name, model, mirt_name in DATA_SETS:
        compare(name, model, mirt_name)


if __name__ == "__main__":
    main()
