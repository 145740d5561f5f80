"""Grading rules: θ per dimension → level per dimension (cut scores) → overall grade.

Pure functions (no database), so the rules are easy to test and to document. Overall rules:

- ``composite`` (default for teachers): the weighted mean of the dimension θs, graded with the overall
  cut scores, but never more than ``cap_above_min`` levels above the weakest dimension — a high
  grade must not hide a dimension far below it.
- ``minimum``: the lowest dimension level (strict certification).
- ``majority``: the highest level reached by at least ``share`` of the dimensions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from competency import graph

DEFAULT_RULE = {"rule": "composite", "weights": None, "cap_above_min": 1}


def level_of(scale: graph.LevelScale, theta: float, cuts: Sequence[float] | None) -> str:
    return scale.level_for_theta(theta, cuts).code


def overall_level(
    scale: graph.LevelScale,
    dimensions: Sequence[Mapping],
    rule: Mapping | None = None,
    cuts: Sequence[float] | None = None,
) -> str:
    """The overall level from per-dimension rows with "code", "theta" and "level"."""
    rule = {**DEFAULT_RULE, **(rule or {})}
    if not dimensions:
        raise ValueError("no dimension to grade")
    indices = [scale.index(d["level"]) for d in dimensions]
    kind = rule["rule"]
    if kind == "minimum":
        return scale[min(indices)].code
    if kind == "majority":
        share = float(rule.get("share", 0.8))
        for idx in range(len(scale) - 1, -1, -1):
            if sum(i >= idx for i in indices) >= share * len(indices):
                return scale[idx].code
        return scale.lowest.code
    if kind == "composite":
        weights = rule.get("weights") or {}
        w = [float(weights.get(d["code"], 1.0)) for d in dimensions]
        composite = sum(wi * d["theta"] for wi, d in zip(w, dimensions, strict=True)) / sum(w)
        idx = scale.index(scale.level_for_theta(composite, cuts).code)
        cap = rule.get("cap_above_min")
        if cap is not None:
            idx = min(idx, min(indices) + int(cap))
        return scale[idx].code
    raise ValueError(f"unknown grade rule {kind!r}; use composite, minimum or majority")


def readiness(scale: graph.LevelScale, measured: str | None, target: str) -> bool | None:
    """Whether a measured level reaches the target; None when the indicator was not measured."""
    if measured is None:
        return None
    return scale.compare(measured, target) >= 0
