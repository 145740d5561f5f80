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
from dataclasses import dataclass

import numpy as np

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


# ------------------------------------------------------------------ reported classes and evidence
#
# A level scale can be finer than the evidence of one test can carry. An assessment then reports
# coarser classes: runs of adjacent levels, named by the level codes that open each class in
# ``grade_rule["report"]`` (e.g. teacher dimensions {"dimensions": ["L3"]}: L1–L2 and L3–L6). The
# certified claim is the class; the level inside it is shown as the most likely level with its range.


# Reported classes by assessment kind where a definition sets none (the demo designs).
DEFAULT_REPORT = {
    "teacher_graded": {"dimensions": ["L3"], "overall": ["L3", "L5"]},
    "student_literacy": {"dimensions": ["P1"], "overall": ["P1", "P3"]},
    "job_skill": {"dimensions": ["J2"], "overall": ["J2"]},
}


def report_boundaries(rule: Mapping | None, which: str) -> tuple[str, ...] | None:
    """Level codes that open a reported class ("dimensions" or "overall"); None = every level."""
    report = (rule or {}).get("report") or {}
    found = report.get(which)
    return tuple(found) if found else None


def report_groups(scale: graph.LevelScale, boundaries: Sequence[str] | None) -> list[tuple[str, ...]]:
    """The reported classes as tuples of level codes, lowest first."""
    if not boundaries:
        return [(level.code,) for level in scale]
    starts = sorted({0, *(scale.index(code) for code in boundaries)})
    ends = [*starts[1:], len(scale)]
    return [tuple(scale[i].code for i in range(s, e)) for s, e in zip(starts, ends, strict=True)]


def report_cuts(
    scale: graph.LevelScale, cuts: Sequence[float] | None, boundaries: Sequence[str] | None
) -> list[float]:
    """θ cuts between reported classes: the level cut in front of each class's first level."""
    full = list(scale.cuts if cuts is None else cuts)
    if not boundaries:
        return full
    return [full[scale.index(code) - 1] for code in sorted(set(boundaries), key=scale.index) if scale.index(code)]


def group_of(groups: Sequence[tuple[str, ...]], level: str) -> int:
    return next(i for i, group in enumerate(groups) if level in group)


def group_label(scale: graph.LevelScale, group: Sequence[str]) -> dict:
    """Code and names of a reported class: "L3–L6", 中级及以上 / intermediate or above."""
    first, last = scale[group[0]], scale[group[-1]]
    code = first.code if len(group) == 1 else f"{first.code}–{last.code}"
    if len(group) == 1:
        return {"code": code, "name_zh": first.name_zh, "name_en": first.name_en, "levels": list(group)}
    band_first, band_last = scale.band(first.code), scale.band(last.code)
    if band_first and band_first == band_last:
        zh, en = band_first, BAND_EN.get(band_first, band_first)
    elif band_first and band_last and last.index == len(scale) - 1:
        zh, en = f"{band_first}及以上", f"{BAND_EN.get(band_first, band_first)} or above"
    else:
        zh, en = f"{first.name_zh}至{last.name_zh}", f"{first.name_en} to {last.name_en}"
    return {"code": code, "name_zh": zh, "name_en": en, "levels": list(group)}


# English names of the 初级/中级/高级 bands of the scales' "band" crosswalks.
BAND_EN = {"初级": "basic", "中级": "intermediate", "高级": "advanced"}


def min_evidence(rule: Mapping | None, engine_min_items: int) -> tuple[int, int]:
    """(total, per dimension) scored answers an attempt needs for a level; default: the engine's minimum."""
    given = (rule or {}).get("min_evidence") or {}
    return int(given.get("total", engine_min_items)), int(given.get("per_dimension", 0))


def missing_evidence(
    counts: Mapping[str, int], dimensions: Sequence[str], total: int, per_dimension: int
) -> list[str]:
    """What an attempt lacks for a level, as stable codes: "total:N/M" and "dimension:CODE:N/M"."""
    problems = []
    answered = sum(counts.get(d, 0) for d in dimensions)
    if answered < total:
        problems.append(f"total:{answered}/{total}")
    if per_dimension and len(dimensions) > 1:
        for d in dimensions:
            if counts.get(d, 0) < per_dimension:
                problems.append(f"dimension:{d}:{counts.get(d, 0)}/{per_dimension}")
    return problems


# An indicator's level is an EAP from its own few answers with the dimension's estimate as prior
# mean: with fewer than two answers the prior, not the person, decides the level. Below this count
# the indicator is "not enough evidence yet" and has no level and no met/unmet verdict.
MIN_INDICATOR_ITEMS = 2


def overall_indices(
    scale: graph.LevelScale,
    theta,
    dimension_cuts: Sequence[Sequence[float]],
    rule: Mapping | None = None,
    overall_cuts: Sequence[float] | None = None,
    codes: Sequence[str] | None = None,
):
    """``overall_level`` for many people at once: θ is (n, dims) in the order of ``codes`` (the
    dimension codes, for the rule's weights); returns level indices.

    The same rules, vectorised, so that a simulation can grade thousands of simulated people and
    draws (classification accuracy of the overall grade) exactly as a real attempt is graded.
    """

    rule = {**DEFAULT_RULE, **(rule or {})}
    theta = np.asarray(theta, dtype=float)
    dims = theta.shape[1]
    indices = np.stack(
        [np.searchsorted(np.asarray(dimension_cuts[d]), theta[:, d], side="right") for d in range(dims)],
        axis=1,
    )
    kind = rule["rule"]
    if kind == "minimum":
        return indices.min(axis=1)
    if kind == "majority":
        share = float(rule.get("share", 0.8))
        out = np.zeros(theta.shape[0], dtype=np.intp)
        for idx in range(len(scale) - 1, -1, -1):
            reached = (indices >= idx).sum(axis=1) >= share * dims
            out = np.where((out == 0) & reached, idx, out)
        return out
    if kind == "composite":
        weights = rule.get("weights") or {}
        w = np.array([float(weights.get(code, 1.0)) for code in (codes or [None] * dims)])
        composite = theta @ w / w.sum()
        cuts = np.asarray(scale.cuts if overall_cuts is None else overall_cuts, dtype=float)
        idx = np.searchsorted(cuts, composite, side="right")
        cap = rule.get("cap_above_min")
        if cap is not None:
            idx = np.minimum(idx, indices.min(axis=1) + int(cap))
        return idx
    raise ValueError(f"unknown grade rule {kind!r}; use composite, minimum or majority")


@dataclass(frozen=True)
class ReportFrame:
    """What an assessment reports, in one place: its scale and grade rule, the level cuts of each
    dimension and of the overall grade, and the reported classes — for grading many θs at once
    (publishing simulations, accuracy checks, benchmarks) exactly as one attempt is graded."""

    scale: graph.LevelScale
    rule: Mapping
    codes: tuple[str, ...]
    level_cuts: tuple[tuple[float, ...], ...]
    overall_cuts: tuple[float, ...]

    @classmethod
    def of(cls, assessment) -> ReportFrame:
        scale = graph.level_scale(assessment.scale)
        cuts = assessment.cut_scores or {}
        codes = tuple(assessment.dimensions)
        return cls(
            scale=scale,
            rule={**DEFAULT_RULE, **(assessment.grade_rule or {})},
            codes=codes,
            level_cuts=tuple(tuple(cuts.get(code, cuts.get("*", scale.cuts))) for code in codes),
            overall_cuts=tuple(cuts.get("overall", cuts.get("*", scale.cuts))),
        )

    @property
    def dimension_groups(self) -> list[tuple[str, ...]]:
        return report_groups(self.scale, report_boundaries(self.rule, "dimensions"))

    @property
    def overall_groups(self) -> list[tuple[str, ...]]:
        return report_groups(self.scale, report_boundaries(self.rule, "overall"))

    def dimension_cuts(self, d: int) -> list[float]:
        """θ cuts between the reported classes of dimension ``d``."""
        return report_cuts(self.scale, self.level_cuts[d], report_boundaries(self.rule, "dimensions"))

    def overall_levels(self, theta) -> np.ndarray:
        """Overall level index of each row of θ (n, dims)."""
        return overall_indices(self.scale, theta, self.level_cuts, self.rule, self.overall_cuts, codes=self.codes)

    def overall_classes(self, theta) -> np.ndarray:
        """Reported overall class index of each row of θ."""
        return self.level_to_class[self.overall_levels(theta)]

    @property
    def level_to_class(self) -> np.ndarray:
        groups = self.overall_groups
        return np.array([group_of(groups, level.code) for level in self.scale])
