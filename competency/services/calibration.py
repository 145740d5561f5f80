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
from competency.irt import fit
from competency.models import Attempt, Item, ItemParams, Response, utcnow
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
    since: datetime | None = None,
    until: datetime | None = None,
    param_version: int | None = None,
) -> dict:
    """Fit the window's responses: attempts finished in [since, until), answers scored with
    ``param_version`` (all when None); the rows are streamed, never held as Python objects."""
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
        for code in free:
            j = col[code]
            a = float(result.params["a"][j])
            b = float(result.params["b"][j]) if "b" in result.params else math.nan
            lines.append(
                f"  {code}: n={counts[code]} a={a:.3f} b={b:.3f} (was a={params[code].a:.3f} b={params[code].b})"
            )
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
    if apply:
        audit.record(
            "items.calibrate", "bank", bank or "*", detail={"run": run_id, "new_versions": new_versions}
        )
        db.session.commit()
        lines.append(f"stored {new_versions} new parameter versions (source calibration:{run_id})")
    else:
        lines.append("report only; run with --apply to store the estimates")
    return {"run": run_id, "lines": lines, "new_versions": new_versions}


def _irt(params: ItemParams) -> dict:
    out = {"a": params.a}
    if params.b is not None:
        out["b"] = params.b
    if params.c is not None:
        out["c"] = params.c
    if params.thresholds:
        out["thresholds"] = params.thresholds
    return out
