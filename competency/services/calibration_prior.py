"""The multidimensional CAT's prior correlation, taken from the latest published calibration, and the
pre-flight check of what happens when the true correlation is lower (its 95 % lower bound).

A prior correlation that is too high makes the MCAT borrow strength between dimensions that is not
there: its reported SEs are too optimistic. The publishing simulation therefore runs twice, once with
simulated people drawn at the prior's correlation and once at the lower bound (prior unchanged), and
reports how the mean SE, the RMSE and the classification accuracy change.
"""

from __future__ import annotations

import numpy as np
from flask import has_app_context
from sqlalchemy import select

from competency.extensions import db
from competency.models import Assessment, CalibrationRun

PROVISIONAL_RHO = 0.6  # used only until a multidimensional calibration of these dimensions is published


def latest_correlation(dimensions: list[str]) -> dict | None:
    """The latest published run's correlation over exactly these dimensions (matrix in their order)."""
    runs = db.session.scalars(
        select(CalibrationRun)
        .where(CalibrationRun.status == "published")
        .order_by(CalibrationRun.published_at.desc(), CalibrationRun.id.desc())
        .limit(50)
    )
    for run in runs:
        corr = (run.findings or {}).get("correlation") or {}
        if corr.get("matrix") and corr.get("converged") and sorted(corr["dimensions"]) == sorted(dimensions):
            pos = {d: k for k, d in enumerate(corr["dimensions"])}
            order = [pos[d] for d in dimensions]
            return {"run": run.id, "matrix": pick(corr["matrix"], order), "lower": pick(corr["lower"], order)}
    return None


def pick(matrix, order: list[int]) -> list[list[float]]:
    return [[float(matrix[i][j]) for j in order] for i in order]


def prior_for(dimensions: list[str]) -> float | list[list[float]]:
    """The MCAT prior correlation for new definitions: the calibrated matrix, else the provisional ρ
    (also when there is no database to ask, as when the demo definitions are only listed)."""
    if not has_app_context():
        return PROVISIONAL_RHO
    found = latest_correlation(dimensions)
    return found["matrix"] if found else PROVISIONAL_RHO


def lower_bound(assessment: Assessment) -> list[list[float]] | None:
    """The 95 % lower bound of the calibrated correlations of the assessment's dimensions; for a
    provisional scalar prior (no calibration yet), ρ − 0.3, the size of error issue 22 measured."""
    engine = assessment.engine or {}
    if not engine.get("mcat") or len(assessment.dimensions) < 2:
        return None
    found = latest_correlation(list(assessment.dimensions))
    if found is not None:
        low = np.asarray(found["lower"], dtype=float)
    else:
        rho = engine.get("prior_correlation", 0.0)
        if not isinstance(rho, int | float):
            return None
        dims = len(assessment.dimensions)
        low = np.full((dims, dims), max(float(rho) - 0.3, 0.0))
        np.fill_diagonal(low, 1.0)
    # The bound taken cell by cell need not be a correlation matrix: move it to the nearest one.
    vals, vecs = np.linalg.eigh(low)
    low = vecs @ np.diag(np.maximum(vals, 1e-3)) @ vecs.T
    d = np.sqrt(np.diag(low))
    low = low / np.outer(d, d)
    return [[round(float(x), 4) for x in row] for row in low]


def compare(base: dict, low: dict, correlation: list[list[float]], source: str) -> dict:
    """How mean SE, RMSE and accuracy change from the base simulation to the lower-bound one."""
    acc = lambda s: [r["accuracy"] for r in s["classification"]["dimensions"]]  # noqa: E731
    return {
        "source": source,
        "correlation": correlation,
        "mean_se": {"base": base["mean_se"], "lower": low["mean_se"]},
        "rmse": {"base": base["rmse"], "lower": low["rmse"]},
        # SE / RMSE < 1: the reported SEs are smaller than the errors actually made.
        "se_over_rmse": {
            "base": [
                round(s / r, 3) if r else None for s, r in zip(base["mean_se"], base["rmse"], strict=True)
            ],
            "lower": [
                round(s / r, 3) if r else None for s, r in zip(low["mean_se"], low["rmse"], strict=True)
            ],
        },
        "accuracy": {"base": acc(base), "lower": acc(low)},
        "overall_accuracy": {
            "base": base["classification"]["overall"]["accuracy"],
            "lower": low["classification"]["overall"]["accuracy"],
        },
    }


def source_of(assessment: Assessment) -> str:
    found = latest_correlation(list(assessment.dimensions))
    return f"calibration run {found['run']}" if found else "provisional"
