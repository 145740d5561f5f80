"""Calibration from stored responses: online (fixed-item) calibration of pilot items, or a full run.

Items are calibrated per reporting dimension (the top of the map above each item's node), since each
item loads on one dimension. In "online" mode the operational items are held at their current
parameters, which keeps new estimates on the scale the platform already reports on.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select

from competency.extensions import db
from competency.irt import fit, score
from competency.irt.diagnostics import empirical_reliability, marginal_reliability
from competency.irt.dif import logistic_dif, mantel_haenszel
from competency.irt.fit_sparse import item_rmsd, lz_star, posterior_infit_outfit
from competency.irt.linking import drift, stocking_lord, transform
from competency.models import Attempt, Item, ItemParams, Response, User, utcnow
from competency.services import audit, maps
from competency.services.errors import ServiceError
from competency.services.items import current_params
from competency.services.streaming import stream

DICHOTOMOUS = ("2pl", "3pl")


def _top(node: str, trees) -> str:
    """The top-level dimension or area above a node (the node itself when no map knows it)."""
    for tree in trees:
        if node in tree:
            return list(maps.containers(tree, node))[-1]
    return node


STREAM_BATCH = 10_000  # responses per round trip from the server-side cursor


@dataclass
class _Responses:
    """The window's responses as three compact columns (about 13 bytes a response, not a Python row)."""

    attempt: np.ndarray  # int64 attempt ids
    item: np.ndarray  # int32 index into ``codes``
    score: np.ndarray  # int16
    codes: list[str]


def _read_window(
    bank: str | None, since: datetime | None, until: datetime | None, param_version: int | None
) -> _Responses:
    """Graded responses in the window, streamed from a server-side cursor into numpy columns."""
    stmt = (
        select(Response.attempt_id, Response.item_code, Response.score)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(Attempt.status == "graded")
    )
    if bank:
        stmt = stmt.join(Item, Item.code == Response.item_code).where(Item.bank == bank)
    if since is not None:
        stmt = stmt.where(Attempt.finished_at >= since)
    if until is not None:
        stmt = stmt.where(Attempt.finished_at < until)
    if param_version is not None:
        stmt = stmt.where(Response.param_version == param_version)
    index: dict[str, int] = {}
    chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    result = stream(stmt, STREAM_BATCH)
    for part in result.partitions():
        chunks.append(
            (
                np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part)),
                np.fromiter(
                    (index.setdefault(r[1], len(index)) for r in part), dtype=np.int32, count=len(part)
                ),
                np.fromiter((r[2] for r in part), dtype=np.int16, count=len(part)),
            )
        )
    if not chunks:
        empty = np.zeros(0, dtype=np.int64)
        return _Responses(empty, empty.astype(np.int32), empty.astype(np.int16), [])
    return _Responses(
        np.concatenate([c[0] for c in chunks]),
        np.concatenate([c[1] for c in chunks]),
        np.concatenate([c[2] for c in chunks]),
        list(index),
    )


def calibrate(
    bank: str | None = None,
    model: str = "2pl",
    min_responses: int = 200,
    apply: bool = False,
    mode: str = "online",
    approve: list[str] | None = None,
    dif_groups: dict[str, int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    param_version: int | None = None,
) -> dict:
    """Calibrate, report, and with ``apply`` publish new parameter versions.

    The window's responses (attempts finished in [since, until), answers scored with
    ``param_version``; all when None) are streamed, never held as Python objects.

    ``approve`` (with ``apply``): only these item codes get a new version; the other estimates are
    rejected and listed in the audit record. Attempts keep the parameter version they were scored
    with (each response stores it), so publishing never rescores earlier results.
    """
    if model not in DICHOTOMOUS:
        raise ServiceError(
            "invalid_model", f"model must be one of {', '.join(DICHOTOMOUS)} for dichotomous items", "model"
        )
    data = _read_window(bank, since, until, param_version)
    items = {it.code: it for it in db.session.scalars(select(Item))}
    per_item = np.bincount(data.item, minlength=len(data.codes))
    counts: dict[str, int] = {code: int(per_item[j]) for j, code in enumerate(data.codes)}
    eligible = {code for code, n in counts.items() if n >= min_responses}
    if not eligible:
        raise ServiceError(
            "too_few_responses", f"no item has {min_responses} or more responses yet", "min_responses"
        )
    trees = (maps.teacher_map(), maps.student_indicators())
    groups: dict[str, list[str]] = defaultdict(list)
    for code in sorted(eligible):
        groups[_top(items[code].node, trees)].append(code)
    if approve is not None:
        if not apply:
            raise ServiceError("approve_without_apply", "approve: only meaningful with apply", "approve")
        unknown = sorted(set(approve) - set(items))
        if unknown:
            raise ServiceError("unknown_item", f"approve: unknown item code {unknown[0]}", "approve")
    rejected: list[str] = []
    group_of_attempt: dict[int, int] = {}
    if dif_groups is not None:
        pairs = db.session.execute(
            select(Attempt.id, User.username).join(User, User.id == Attempt.user_id)
        ).all()
        group_of_attempt = {aid: dif_groups[name] for aid, name in pairs if name in dif_groups}
    run_id = utcnow().strftime("%Y%m%dT%H%M%S")
    lines = [f"calibration run {run_id} ({mode}; {len(eligible)} items with ≥ {min_responses} responses)"]
    new_versions = 0
    for dimension, codes in sorted(groups.items()):
        col = {code: j for j, code in enumerate(codes)}
        # Column of each stored item code in this dimension's matrix (-1: not in it).
        to_col = np.full(len(data.codes), -1, dtype=np.int64)
        for j, code in enumerate(data.codes):
            to_col[j] = col.get(code, -1)
        mine = to_col[data.item] >= 0
        attempts, rows_of = np.unique(data.attempt[mine], return_inverse=True)
        matrix = np.full((len(attempts), len(codes)), np.nan)
        matrix[rows_of, to_col[data.item[mine]]] = data.score[mine]
        params = {code: current_params(items[code]) for code in codes}
        models = [params[c].model if params[c].model not in DICHOTOMOUS else model for c in codes]
        fixed = {}
        if mode == "online":
            fixed = {
                col[c]: _irt(params[c])
                for c in codes
                if items[c].status == "operational" and params[c] is not None
            }
        free = [c for c in codes if col[c] not in fixed]
        if not free:
            lines.append(f"{dimension}: every item is an anchor; nothing to estimate")
            continue
        try:
            result = fit(matrix, model=models, fixed=fixed or None)
        except ValueError as exc:
            lines.append(f"{dimension}: skipped ({exc})")
            continue
        lines.append(
            f"{dimension}: {len(free)} estimated, {len(fixed)} anchors, converged={result.converged}"
        )
        checks = _checks(matrix, result, models)
        lines.extend(checks["summary"])
        if mode == "full":
            lines.extend(_drift_lines(codes, col, items, params, result, models))
        if dif_groups is not None:
            grp = np.array([group_of_attempt.get(int(a), -1) for a in attempts])
            lines.extend(_dif_lines(codes, matrix, result, models, grp))
        for code in free:
            j = col[code]
            a = float(result.params["a"][j])
            b = float(result.params["b"][j]) if "b" in result.params else math.nan
            se_a, se_b = float(result.se["a"][j]), float(result.se["b"][j]) if "b" in result.se else math.nan
            guess = ""
            if models[j] == "3pl":
                guess = f" c={float(result.params['c'][j]):.3f} (SE {float(result.se['c'][j]):.3f})"
            lines.append(
                f"  {code}: n={counts[code]} a={a:.3f} (SE {se_a:.3f}) b={b:.3f} (SE {se_b:.3f}){guess}"
                f" (was a={params[code].a:.3f} b={params[code].b}); {checks['item'][j]}"
            )
            if apply and approve is not None and code not in approve:
                rejected.append(code)
                lines.append(
                    f"  {code}: rejected (not approved); keeps version {items[code].current_version}"
                )
                continue
            if apply and result.converged and math.isfinite(a) and a > 0:
                row = items[code]
                row.current_version += 1
                row.versions.append(
                    ItemParams(
                        version=row.current_version,
                        model=models[j],
                        a=a,
                        b=b if math.isfinite(b) else None,
                        c=float(result.params["c"][j]) if models[j] == "3pl" else None,
                        thresholds=[float(t) for t in result.params["thresholds"][j] if math.isfinite(t)]
                        if models[j] in ("grm", "gpcm")
                        else None,
                        source=f"calibration:{run_id}",
                    )
                )
                new_versions += 1
        for code in codes:
            if col[code] in fixed and checks["misfit"][col[code]]:
                lines.append(
                    f"  anchor {code}: {checks['item'][col[code]]}: misfit, review before anchoring on it"
                )
    if apply:
        audit.record(
            "items.calibrate",
            "bank",
            bank or "*",
            detail={"run": run_id, "new_versions": new_versions, "mode": mode, "rejected": rejected},
        )
        db.session.commit()
        lines.append(f"stored {new_versions} new parameter versions (source calibration:{run_id})")
    else:
        lines.append("report only; run with --apply to store the estimates")
    return {"run": run_id, "lines": lines, "new_versions": new_versions}


RMSD_FLAG = 0.1  # PISA-style rule of thumb; above it the item's curve does not describe its data


def _checks(matrix: np.ndarray, result, models) -> dict:
    """Item fit for sparse data (RMSD, posterior outfit), reliability and person fit of one dimension."""
    rmsd = item_rmsd(matrix, result)["rmsd"]
    outfit = posterior_infit_outfit(matrix, result)["outfit"]
    theta, sd = score(matrix, result, method="eap")
    summary = [
        f"  reliability: marginal {marginal_reliability(result):.3f}, empirical {empirical_reliability(theta, sd):.3f}"
    ]
    if all(m in DICHOTOMOUS for m in models):
        lz = lz_star(matrix, result)
        flagged = int(np.nansum(lz["flag"]))
        summary.append(
            f"  person fit (lz*, WLE, α = .05): {flagged} of {int(np.sum(np.isfinite(lz['lz_star'])))} attempts "
            "flagged (about 5 % expected by chance; shown to managers only)"
        )
    item = [f"RMSD {r:.3f}, outfit {o:.2f}" for r, o in zip(rmsd, outfit, strict=True)]
    return {"summary": summary, "item": item, "misfit": rmsd > RMSD_FLAG}


DRIFT_THRESHOLD = 0.3  # logits; a change must also be significant (|z| > 1.96) to be flagged


def _drift_lines(codes, col, items, params, result, models) -> list[str]:
    """Full runs: link the new estimates to the current scale over the operational items
    (Stocking–Lord), then compare each operational item's new parameters with its current version.
    The current versions carry no stored SE, so the z values use the new estimate's SE only."""
    ops = [c for c in codes if items[c].status == "operational" and params[c] is not None]
    ops = [c for c in ops if models[col[c]] in DICHOTOMOUS and params[c].b is not None]
    if len(ops) < 2:
        return []
    idx = [col[c] for c in ops]
    old = {"a": np.array([params[c].a for c in ops]), "b": np.array([params[c].b for c in ops])}
    new = {"a": result.params["a"][idx], "b": result.params["b"][idx]}
    a_const, b_const = stocking_lord(old, new, "2pl")
    moved = transform(new, a_const, b_const)
    se = {"a": result.se["a"][idx] / a_const, "b": result.se["b"][idx] * a_const}
    zero = {"a": np.zeros(len(ops)), "b": np.zeros(len(ops))}
    res = drift(old, zero, moved, se, threshold_a=DRIFT_THRESHOLD, threshold_b=DRIFT_THRESHOLD)
    out = [f"  drift against the current parameters (Stocking–Lord A={a_const:.3f}, B={b_const:.3f}):"]
    for k, code in enumerate(ops):
        mark = " DRIFT" if res["flag"][k] else ""
        out.append(
            f"    {code}: Δa={res['delta_a'][k]:+.3f} (SE {res['se_delta_a'][k]:.3f}) "
            f"Δb={res['delta_b'][k]:+.3f} (SE {res['se_delta_b'][k]:.3f}){mark}"
        )
    return out


def read_dif_groups(path: str) -> dict[str, int]:
    """username → 0 (reference) / 1 (focal) from a CSV with a header ``username,group``.

    The file is the admin's (e.g. exported from consented profile answers); it is read for this run
    only and nothing per person is stored or printed. A bad line names itself and nothing runs.
    """
    import csv

    codes = {"reference": 0, "focal": 1}
    out: dict[str, int] = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"username", "group"} <= set(reader.fieldnames):
            raise ServiceError(
                "bad_groups", f"{path}: need a header with the columns username,group", "dif_groups"
            )
        for line, row in enumerate(reader, start=2):
            name, group = (row.get("username") or "").strip(), (row.get("group") or "").strip().lower()
            if not name:
                raise ServiceError("bad_groups", f"{path}, line {line}: username is empty", "dif_groups")
            if group not in codes:
                raise ServiceError(
                    "bad_groups",
                    f"{path}, line {line}: group must be reference or focal, got {group!r}",
                    "dif_groups",
                )
            out[name] = codes[group]
    if set(out.values()) != {0, 1}:
        raise ServiceError(
            "bad_groups", f"{path}: need persons in both the reference and the focal group", "dif_groups"
        )
    return out


def _dif_lines(codes, matrix, result, models, groups) -> list[str]:
    """Mantel–Haenszel (ETS class) and logistic-regression DIF on WLE θ̂, one line per flagged item."""
    if not all(m in DICHOTOMOUS for m in models):
        return ["  DIF: skipped (polytomous items in this dimension)"]
    theta, _ = score(matrix, result, method="wle")
    mh = mantel_haenszel(matrix, groups, theta)
    lr = logistic_dif(matrix, groups, theta)
    out = [
        f"  DIF (reference {int(np.sum(groups == 0))}, focal {int(np.sum(groups == 1))} attempts; "
        "matched on WLE θ̂; MH with ETS class, logistic regression with ΔR² class):"
    ]
    flagged = 0
    for j, code in enumerate(codes):
        if mh["ets"][j] in ("B", "C") or lr["class"][j] in ("B", "C"):
            flagged += 1
            out.append(
                f"    {code}: MH D-DIF {mh['d_dif'][j]:+.2f} (SE {mh['se_d'][j]:.2f}) ETS {mh['ets'][j]}; "
                f"logistic uniform p={lr['p_uniform'][j]:.4f}, non-uniform p={lr['p_nonuniform'][j]:.4f}, "
                f"ΔR² {lr['delta_r2'][j]:.3f} ({lr['class'][j]})"
            )
    out.append(f"    {flagged} of {len(codes)} items flagged (ETS B/C or ΔR² B/C)")
    return out


def _irt(params: ItemParams) -> dict:
    out = {"a": params.a}
    if params.b is not None:
        out["b"] = params.b
    if params.c is not None:
        out["c"] = params.c
    if params.thresholds:
        out["thresholds"] = params.thresholds
    return out
