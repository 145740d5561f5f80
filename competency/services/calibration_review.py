"""The findings of one calibration run of an assessment: new estimates with SEs, item fit, drift,
DIF, exposure, reliability, person-fit counts and (several dimensions) the latent correlation.

Everything here reads; nothing is written. ``compute`` reports progress through a callback so a
background job can show it. Items are calibrated per reporting dimension of the assessment.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm
from sqlalchemy import func, select

from competency.extensions import db
from competency.irt import fit, score
from competency.irt.diagnostics import empirical_reliability
from competency.irt.dif import logistic_dif, mantel_haenszel
from competency.irt.fit_sparse import item_rmsd, lz_star, posterior_infit_outfit
from competency.irt.linking import drift, stocking_lord, transform
from competency.irt.multidim import fit_multidim
from competency.models import Assessment, Attempt, Item, Response
from competency.services import assessment_definitions, calibration_groups
from competency.services.errors import ServiceError
from competency.services.items import current_params
from competency.services.streaming import stream

DICHOTOMOUS = ("2pl", "3pl")
RMSD_FLAG = 0.1  # PISA-style rule of thumb: above it the item's curve does not describe its data
OUTFIT_RANGE = (0.7, 1.3)
DRIFT_THRESHOLD = 0.3  # logits; a change must also be significant (|z| > 1.96) to be flagged
LZ_ALPHA = 0.05
FDR = 0.05  # Benjamini–Hochberg false-discovery rate over a dimension's items, for drift and DIF flags
DIF_MIN_GROUP = 100  # respondents of the item in each group before its DIF is judged
MULTIDIM_QMC_POINTS = 1024  # enough for correlations within 0.05 at 5 dimensions (tests/irt)

Progress = Callable[[int, int, str], None]


@dataclass
class Window:
    """Graded responses of the assessment as compact columns."""

    attempt: np.ndarray  # int64, per response
    user: np.ndarray  # int64, per response
    item: np.ndarray  # int32 index into codes
    score: np.ndarray  # int16
    codes: list[str]


def response_counts(assessment: Assessment) -> dict[str, int]:
    """Item code → graded responses stored for this assessment (one GROUP BY)."""
    rows = db.session.execute(
        select(Response.item_code, func.count())
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(Attempt.assessment_id == assessment.id, Attempt.status == "graded")
        .group_by(Response.item_code)
    )
    return {code: int(n) for code, n in rows}


def read_window(assessment: Assessment) -> Window:
    stmt = (
        select(Response.attempt_id, Attempt.user_id, Response.item_code, Response.score)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(Attempt.assessment_id == assessment.id, Attempt.status == "graded")
    )
    index: dict[str, int] = {}
    parts = []
    for part in stream(stmt, 10_000).partitions():
        parts.append(
            (
                np.fromiter((r[0] for r in part), np.int64, len(part)),
                np.fromiter((r[1] for r in part), np.int64, len(part)),
                np.fromiter((index.setdefault(r[2], len(index)) for r in part), np.int32, len(part)),
                np.fromiter((r[3] for r in part), np.int16, len(part)),
            )
        )
    if not parts:
        empty = np.zeros(0, np.int64)
        return Window(empty, empty, empty.astype(np.int32), empty.astype(np.int16), [])
    cols = [np.concatenate([p[k] for p in parts]) for k in range(4)]
    return Window(*cols, codes=list(index))


def _num(x) -> float | None:
    x = float(x)
    return round(x, 4) if math.isfinite(x) else None


def _params_dict(p) -> dict:
    return {"version": p.version, "model": p.model, "a": p.a, "b": p.b, "c": p.c, "thresholds": p.thresholds}


def compute(assessment: Assessment, settings: dict, progress: Progress) -> dict:
    """Calibrate the assessment's items from its graded attempts and gather the review's findings."""
    model, mode = settings.get("model", "2pl"), settings.get("mode", "full")
    min_responses = int(settings.get("min_responses", 200))
    data = read_window(assessment)
    counts = np.bincount(data.item, minlength=len(data.codes))
    items = {r.code: r for r in db.session.scalars(select(Item).where(Item.code.in_(data.codes or [""])))}
    tree = assessment_definitions.map_for(assessment)
    eligible = [
        c
        for j, c in enumerate(data.codes)
        if counts[j] >= min_responses and c in items and current_params(items[c]) is not None
    ]
    if not eligible:
        raise ServiceError(
            "too_few_responses", f"no item has {min_responses} or more graded responses yet", "min_responses"
        )
    by_dim: dict[str, list[str]] = {}
    for code in sorted(eligible):
        dim = assessment_definitions.dimension_for(assessment, items[code].node, tree) or "?"
        by_dim.setdefault(dim, []).append(code)
    attempts, first = np.unique(data.attempt, return_index=True)
    users = data.user[first]
    groupings = calibration_groups.group_vectors(users)
    total = len(by_dim) + (1 if len(by_dim) > 1 else 0)
    out_items, out_dims = [], []
    for step, (dim, codes) in enumerate(sorted(by_dim.items())):
        progress(step, total, f"dimension {dim}: {len(codes)} items")
        found = _dimension(dim, codes, data, attempts, items, model, mode, groupings)
        out_dims.append(found["summary"])
        out_items.extend(found["items"])
    correlation = None
    if len(by_dim) > 1:
        progress(len(by_dim), total, "latent correlation (multidimensional calibration)")
        t0 = time.perf_counter()
        correlation = _correlation(by_dim, data, items, attempts)
        correlation["seconds"] = round(time.perf_counter() - t0, 1)
    progress(total, total, "done")
    exposure_base = len(attempts)
    for row in out_items:
        row["exposure"] = _num(row["n"] / exposure_base) if exposure_base else None
    return {
        "attempts": int(len(attempts)),
        "responses": int(len(data.score)),
        "settings": {"model": model, "mode": mode, "min_responses": min_responses},
        "groupings": [
            {
                "code": g.code,
                "field": g.field,
                "value": g.value,
                "reference": g.reference,
                "n_reference": int(np.sum(v == 0)),
                "n_focal": int(np.sum(v == 1)),
            }
            for g, v in groupings
        ],
        "dimensions": out_dims,
        "items": out_items,
        "correlation": correlation,
        "skipped": sorted(c for j, c in enumerate(data.codes) if c not in eligible),
    }


def _dimension(dim, codes, data, attempts, items, model, mode, groupings) -> dict:
    col = {c: j for j, c in enumerate(codes)}
    to_col = np.array([col.get(c, -1) for c in data.codes], dtype=np.int64)
    mine = to_col[data.item] >= 0
    rows_att, rows_of = np.unique(data.attempt[mine], return_inverse=True)
    matrix = np.full((len(rows_att), len(codes)), np.nan)
    matrix[rows_of, to_col[data.item[mine]]] = data.score[mine]
    current = {c: current_params(items[c]) for c in codes}
    # "keep": every item keeps its current model; otherwise dichotomous items take the chosen one.
    models = [
        current[c].model if model == "keep" or current[c].model not in DICHOTOMOUS else model for c in codes
    ]
    fixed = {}
    if mode == "online":
        fixed = {col[c]: _irt(current[c]) for c in codes if items[c].status == "operational"}
    t0 = time.perf_counter()
    result = fit(matrix, model=models, fixed=fixed or None)
    seconds_fit = round(time.perf_counter() - t0, 1)
    rmsd = item_rmsd(matrix, result)["rmsd"]
    io = posterior_infit_outfit(matrix, result)
    theta, psd = score(matrix, result, method="eap")
    latent_var = result.latent_sd**2 if result.latent_sd else 1.0
    summary = {
        "code": dim,
        "attempts": int(len(rows_att)),
        "items": len(codes),
        "anchors": len(fixed),
        "converged": bool(result.converged),
        "iterations": int(result.iterations),
        # EAP-based marginal reliability (1 − mean posterior variance / latent variance): for an
        # adaptive test the information-based formula would describe the whole pool, not a test taken.
        "reliability_marginal": _num(1.0 - float(np.mean(psd**2)) / latent_var),
        "reliability_empirical": _num(empirical_reliability(theta, psd)),
        "linking": None,
        "seconds_fit": seconds_fit,
    }
    # Person fit and DIF use the dichotomous items (polytomous ones still inform θ̂).
    dcols = [j for j, m in enumerate(models) if m in DICHOTOMOUS]
    dparams = {k: np.asarray(result.params[k])[dcols] for k in ("a", "b", "c") if k in result.params}
    dich = len(dcols) >= 2
    if dich:
        lz = lz_star(matrix[:, dcols], dparams, [models[j] for j in dcols], alpha=LZ_ALPHA)
        summary["lz_flagged"] = int(np.nansum(lz["flag"]))
        summary["lz_n"] = int(np.sum(np.isfinite(lz["lz_star"])))
    new = {k: np.asarray(v, dtype=float).copy() for k, v in result.params.items() if k != "model"}
    se = {k: np.asarray(v, dtype=float) for k, v in result.se.items()}
    drifts = {}
    if mode == "full":
        new, se, drifts, summary["linking"] = _link(codes, col, items, current, models, new, se)
    dif: dict[str, list] = {c: [] for c in codes}
    if dich and groupings:
        t0 = time.perf_counter()
        wle, _ = score(matrix, result, method="wle")
        pos = np.searchsorted(attempts, rows_att)
        sub = matrix[:, dcols]
        tests = []
        for grouping, vec in groupings:
            g = vec[pos]
            mh = mantel_haenszel(sub, g, wle, min_group=DIF_MIN_GROUP)
            lr = logistic_dif(sub, g, wle, min_group=DIF_MIN_GROUP)
            tests.append((grouping, mh, lr))
        # Items × groups are many tests: a class counts only when its p-value survives the FDR
        # correction over all of this dimension's items and groups together.
        mh_ok = bh_adjust(np.concatenate([mh["p_value"] for _g, mh, _l in tests])) < FDR
        lr_ok = bh_adjust(np.concatenate([lr["p_both"] for _g, _m, lr in tests])) < FDR
        width = len(dcols)
        for k, (grouping, mh, lr) in enumerate(tests):
            for j, jj in enumerate(dcols):
                ok_mh, ok_lr = mh_ok[k * width + j], lr_ok[k * width + j]
                if (mh["ets"][j] in ("B", "C") and ok_mh) or (lr["class"][j] in ("B", "C") and ok_lr):
                    dif[codes[jj]].append(
                        {
                            "grouping": grouping.code,
                            "d_dif": _num(mh["d_dif"][j]),
                            "se_d": _num(mh["se_d"][j]),
                            "ets": str(mh["ets"][j]),
                            "lr_class": str(lr["class"][j]),
                            "delta_r2": _num(lr["delta_r2"][j]),
                            "n_reference": int(mh["n_ref"][j]),
                            "n_focal": int(mh["n_focal"][j]),
                        }
                    )
        summary["seconds_dif"] = round(time.perf_counter() - t0, 1)
    n_per = np.sum(~np.isnan(matrix), axis=0)
    out = []
    for c in codes:
        j = col[c]
        anchor = j in fixed
        estimate = None
        if not anchor:
            estimate = {
                "model": models[j],
                "a": _num(new["a"][j]),
                "b": _num(new["b"][j]) if "b" in new else None,
                "c": _num(new["c"][j]) if models[j] == "3pl" else None,
                "thresholds": [_num(t) for t in new["thresholds"][j] if math.isfinite(t)]
                if models[j] in ("grm", "gpcm")
                else None,
                "se_a": _num(se["a"][j]),
                "se_b": _num(se["b"][j]) if "b" in se else None,
                "se_c": _num(se["c"][j]) if models[j] == "3pl" else None,
            }
        usable = (
            estimate is not None
            and bool(result.converged)
            and estimate["a"] is not None
            and estimate["a"] > 0
            and (estimate["c"] is None or 0 <= estimate["c"] < 0.5)
        )
        imprecise = estimate is not None and (
            (estimate["se_a"] or 0) > 0.5 * (estimate["a"] or 0) or (estimate["se_b"] or 0) > 0.5
        )
        found_drift = drifts.get(c)
        if found_drift and imprecise:  # a change cannot be judged from an estimate this uncertain
            found_drift = {**found_drift, "flag": False, "not_judged": True}
        misfit = bool(rmsd[j] > RMSD_FLAG) or not (OUTFIT_RANGE[0] <= io["outfit"][j] <= OUTFIT_RANGE[1])
        out.append(
            {
                "code": c,
                "dimension": dim,
                "status": items[c].status,
                "n": int(n_per[j]),
                "anchor": anchor,
                "current": _params_dict(current[c]),
                "new": estimate,
                "publishable": usable,
                "imprecise": bool(imprecise),
                "rmsd": _num(rmsd[j]),
                "infit": _num(io["infit"][j]),
                "outfit": _num(io["outfit"][j]),
                "misfit": misfit,
                "drift": found_drift,
                "dif": dif[c],
            }
        )
    return {"summary": summary, "items": out}


def _link(codes, col, items, current, models, new, se):
    """Full runs: put the new estimates on the current scale by Stocking–Lord over the operational
    dichotomous items, then compare each with its current version (Δa, Δb; the current versions carry
    no stored SE, so a change's SE is the new estimate's)."""
    ops = [
        c
        for c in codes
        if items[c].status == "operational" and models[col[c]] in DICHOTOMOUS and current[c].b is not None
    ]
    if len(ops) < 2:
        return new, se, {}, None
    idx = [col[c] for c in ops]
    old = {"a": np.array([current[c].a for c in ops]), "b": np.array([current[c].b for c in ops])}
    moving = {"a": new["a"][idx], "b": new["b"][idx]}
    link_models = [models[j] for j in idx]
    if "3pl" in link_models:  # the lower asymptotes shape the curves the criterion matches
        is3 = np.array(link_models) == "3pl"
        old["c"] = np.where(is3, [current[c].c or 0.0 for c in ops], 0.0)
        moving["c"] = np.where(is3, np.nan_to_num(new.get("c", np.zeros(len(codes)))[idx]), 0.0)
    a_const, b_const = stocking_lord(old, moving, link_models)
    moved = transform(new, a_const, b_const)
    moved_se = dict(se)
    moved_se["a"] = se["a"] / a_const
    for key in ("b", "thresholds"):
        if key in se:
            moved_se[key] = se[key] * a_const
    res = drift(
        old,
        {"a": np.zeros(len(ops)), "b": np.zeros(len(ops))},
        {"a": moved["a"][idx], "b": moved["b"][idx]},
        {"a": moved_se["a"][idx], "b": moved_se["b"][idx]},
        threshold_a=DRIFT_THRESHOLD,
        threshold_b=DRIFT_THRESHOLD,
    )
    # Flag a change beyond the threshold that survives the FDR correction over the linked items.
    p_a, p_b = (2 * norm.sf(np.abs(np.nan_to_num(res[z], nan=0.0))) for z in ("z_a", "z_b"))
    flag = (np.abs(res["delta_a"]) > DRIFT_THRESHOLD) & (bh_adjust(p_a) < FDR)
    flag |= (np.abs(res["delta_b"]) > DRIFT_THRESHOLD) & (bh_adjust(p_b) < FDR)
    drifts = {
        c: {
            "delta_a": _num(res["delta_a"][k]),
            "se_delta_a": _num(res["se_delta_a"][k]),
            "delta_b": _num(res["delta_b"][k]),
            "se_delta_b": _num(res["se_delta_b"][k]),
            "flag": bool(flag[k]),
        }
        for k, c in enumerate(ops)
    }
    return moved, moved_se, drifts, {"method": "stocking-lord", "A": _num(a_const), "B": _num(b_const)}


def _correlation(by_dim: dict[str, list[str]], data: Window, items, attempts) -> dict | None:
    """Correlations of the dimensions from a between-item multidimensional calibration, with SEs."""
    dims = sorted(by_dim)
    codes = [c for d in dims for c in by_dim[d]]
    dimension = [k for k, d in enumerate(dims) for _c in by_dim[d]]
    col = {c: j for j, c in enumerate(codes)}
    to_col = np.array([col.get(c, -1) for c in data.codes], dtype=np.int64)
    mine = to_col[data.item] >= 0
    rows = np.searchsorted(attempts, data.attempt[mine])
    matrix = np.full((len(attempts), len(codes)), np.nan)
    matrix[rows, to_col[data.item[mine]]] = data.score[mine]
    models = []
    for c in codes:
        m = current_params(items[c]).model
        models.append("2pl" if m in ("2pl", "3pl", "rasch", "1pl") else m)
    try:
        res = fit_multidim(
            matrix, dimension, models, points=MULTIDIM_QMC_POINTS if len(dims) > 3 else None, max_iter=500
        )
    except ValueError as exc:
        return {"dimensions": dims, "error": str(exc)}
    corr, corr_se = res.correlation, res.correlation_se
    lower = np.where(np.eye(len(dims), dtype=bool), 1.0, np.clip(corr - 1.96 * corr_se, -0.99, 0.99))
    return {
        "dimensions": dims,
        "matrix": [[_num(x) for x in row] for row in corr],
        "se": [[_num(x) if i != j else None for j, x in enumerate(row)] for i, row in enumerate(corr_se)],
        "lower": [[_num(x) for x in row] for row in lower],
        "converged": bool(res.converged),
        "quadrature": f"{res.quadrature} ({res.n_nodes} nodes)",
    }


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (NaN stays NaN and is not counted)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if not ok.size:
        return out
    order = ok[np.argsort(p[ok])]
    m = order.size
    adj = p[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(np.minimum.accumulate(adj[::-1])[::-1], 1.0)
    return out


def _irt(p) -> dict:
    out = {"a": p.a}
    if p.b is not None:
        out["b"] = p.b
    if p.c is not None:
        out["c"] = p.c
    if p.thresholds:
        out["thresholds"] = p.thresholds
    return out
