"""Roll-up of indicator scores, gap analysis against targets, and staged learning paths."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import networkx as nx

from competency.graph.scales import LevelScale


def code_key(code: str) -> tuple:
    """Natural sort key: T3.1.10 after T3.1.9, S6.10 after S6.2."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\-]", code))


def children(graph: nx.DiGraph, code: str) -> list[str]:
    """Nodes directly contained in ``code``, in natural code order."""
    kids = [v for _, v, rel in graph.out_edges(code, data="relation") if rel == "contains"]
    return sorted(kids, key=code_key)


def top_level(graph: nx.DiGraph) -> list[str]:
    """Nodes with no container (dimensions or areas), in natural code order."""
    contained = {v for _, v, rel in graph.edges(data="relation") if rel == "contains"}
    return sorted((n for n in graph if n not in contained), key=code_key)


def nodes_of_kind(graph: nx.DiGraph, kind: str) -> list[str]:
    return sorted((n for n, k in graph.nodes(data="kind") if k == kind), key=code_key)


def prerequisite_graph(graph: nx.DiGraph) -> nx.DiGraph:
    """Only the prerequisite edges (A must be learnt before B)."""
    pre = nx.DiGraph()
    pre.add_nodes_from(graph.nodes)
    pre.add_edges_from((u, v) for u, v, rel in graph.edges(data="relation") if rel == "prerequisite")
    return pre


# -- roll-up --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rollup:
    """Weighted means of indicator scores up the hierarchy.

    ``scores`` holds every node with at least one measured descendant; ``coverage`` the share
    of the node's weight that was measured (1.0 = complete). Levels, when the input was
    level codes, are the weighted mean level index rounded half up.
    """

    scores: Mapping[str, float]
    coverage: Mapping[str, float]
    overall: float | None
    overall_coverage: float
    version: str
    levels: Mapping[str, str] = field(default_factory=dict)
    overall_level: str | None = None


def _weighted(values: list[tuple[float, float, float]]) -> tuple[float | None, float]:
    """(weight, score, coverage) triples -> (renormalised mean, covered weight share)."""
    total = sum(w for w, _, _ in values)
    covered = sum(w * cov for w, s, cov in values if s is not None)
    measured = [(w, s) for w, s, _ in values if s is not None]
    mass = sum(w for w, _ in measured)
    if not measured or mass <= 0:
        return None, 0.0
    return sum(w * s for w, s in measured) / mass, covered / total if total else 0.0


def rollup(
    graph: nx.DiGraph,
    scores: Mapping[str, float | str],
    scale: LevelScale | None = None,
) -> Rollup:
    """Roll indicator scores up to containers and an overall score using the node weights.

    ``scores`` maps indicator codes to numbers (θ, proportion, …) or to level codes of
    ``scale`` (converted to level indices). Unmeasured children are left out and the weights
    of the measured ones renormalised; ``coverage`` says how much weight was measured.
    Nodes with weight null (role-specific S6.x) do not count in this roll-up.
    """
    numeric: dict[str, float] = {}
    as_levels = any(isinstance(v, str) for v in scores.values())
    if as_levels and scale is None:
        raise ValueError("level-code scores need a scale")
    for code, value in scores.items():
        if code not in graph:
            raise KeyError(f"unknown node {code!r}")
        if graph.nodes[code]["kind"] != "indicator":
            raise ValueError(f"scores are given for indicators; {code!r} is a {graph.nodes[code]['kind']}")
        number = float(scale.index(value)) if isinstance(value, str) else float(value)  # type: ignore[union-attr]
        if math.isnan(number):
            continue
        numeric[code] = number
    out: dict[str, float] = {}
    cov: dict[str, float] = {}

    def visit(code: str) -> tuple[float | None, float]:
        kids = children(graph, code)
        if not kids:
            value = numeric.get(code)
            return value, (1.0 if value is not None else 0.0)
        parts = []
        for kid in kids:
            weight = graph.nodes[kid].get("weight")
            if weight is None:
                continue
            s, c = visit(kid)
            parts.append((float(weight), s, c))
        return _weighted(parts)

    def record(code: str) -> tuple[float | None, float]:
        for kid in children(graph, code):
            record(kid)
        s, c = visit(code)
        if s is not None:
            out[code] = s
            cov[code] = c
        return s, c

    tops = top_level(graph)
    parts = []
    for top in tops:
        s, c = record(top)
        parts.append((float(graph.nodes[top].get("weight") or 0.0), s, c))
    overall, overall_cov = _weighted(parts)
    levels: dict[str, str] = {}
    overall_level = None
    if as_levels and scale is not None:
        levels = {code: _round_level(scale, s) for code, s in out.items()}
        overall_level = _round_level(scale, overall) if overall is not None else None
    return Rollup(
        scores=out,
        coverage=cov,
        overall=overall,
        overall_coverage=overall_cov,
        version=graph.graph.get("version", ""),
        levels=levels,
        overall_level=overall_level,
    )


def _round_level(scale: LevelScale, index: float) -> str:
    i = min(max(int(math.floor(index + 0.5 + 1e-9)), 0), len(scale) - 1)
    return scale[i].code


def job_rollup(requirements: Mapping[str, str], scores: Mapping[str, float], version: str = "") -> Rollup:
    """Equal-weight mean over a job profile's required indicators (role-specific ones included)."""
    present = [code for code in requirements if code in scores and not math.isnan(float(scores[code]))]
    overall = sum(float(scores[c]) for c in present) / len(present) if present else None
    share = len(present) / len(requirements) if requirements else 0.0
    return Rollup(
        scores={c: float(scores[c]) for c in present},
        coverage={c: 1.0 for c in present},
        overall=overall,
        overall_coverage=share,
        version=version,
    )


# -- gap analysis ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Gap:
    """A node whose measured level is below its target; ``size`` counts the missing levels."""

    code: str
    measured: str | None
    target: str
    size: int
    name_zh: str = ""
    name_en: str = ""


@dataclass(frozen=True)
class GapReport:
    """Gaps (largest first, then natural code order) with the data version they used; iterable."""

    gaps: tuple[Gap, ...]
    scale: str
    version: str
    met: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Gap]:
        return iter(self.gaps)

    def __len__(self) -> int:
        return len(self.gaps)

    def __getitem__(self, i: int) -> Gap:
        return self.gaps[i]

    @property
    def codes(self) -> list[str]:
        return [g.code for g in self.gaps]

    @property
    def total(self) -> int:
        return sum(g.size for g in self.gaps)


def gap_analysis(
    measured: Mapping[str, str | None],
    targets: Mapping[str, str],
    scale: LevelScale,
    graph: nx.DiGraph | None = None,
) -> GapReport:
    """Compare measured with target levels; an unmeasured node counts as the scale's lowest level."""
    gaps: list[Gap] = []
    met: list[str] = []
    for code, target in targets.items():
        got = measured.get(code)
        have = scale.index(got) if got is not None else scale.lowest.index
        size = scale.index(target) - have
        if size > 0:
            names = graph.nodes[code] if graph is not None and code in graph else {}
            gaps.append(Gap(code, got, target, size, names.get("name_zh", ""), names.get("name_en", "")))
        else:
            met.append(code)
    gaps.sort(key=lambda g: (-g.size, code_key(g.code)))
    version = graph.graph.get("version", "") if graph is not None else scale.version
    return GapReport(tuple(gaps), scale.name, version, tuple(sorted(met, key=code_key)))


# -- learning paths -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LearningPath:
    """Goals in prerequisite order, grouped: stage k holds nodes whose prerequisites are met or in stages < k."""

    stages: tuple[tuple[str, ...], ...]
    version: str

    @property
    def order(self) -> list[str]:
        return [code for stage in self.stages for code in stage]

    def stage_of(self, code: str) -> int:
        for i, stage in enumerate(self.stages):
            if code in stage:
                return i
        raise KeyError(code)


def learning_path(
    graph: nx.DiGraph,
    goals: Iterable[str | Gap],
    met: Collection[str] | None = None,
) -> LearningPath:
    """Order ``goals`` by the prerequisite edges into stages (deterministic, natural code order).

    With ``met=None`` every node that is not a goal counts as already met. With an explicit
    ``met`` set, unmet prerequisites of the goals are pulled into the path too.
    """
    pre = prerequisite_graph(graph)
    todo = {g.code if isinstance(g, Gap) else g for g in goals}
    for code in todo:
        if code not in graph:
            raise KeyError(f"unknown node {code!r}")
    if met is not None:
        met_set = set(met)
        for code in list(todo):
            todo |= {a for a in nx.ancestors(pre, code) if a not in met_set}
    sub = pre.subgraph(todo)
    if not nx.is_directed_acyclic_graph(sub):
        raise ValueError("prerequisite cycle among the goals")
    stages = [tuple(sorted(gen, key=code_key)) for gen in nx.topological_generations(sub)]
    return LearningPath(tuple(stages), graph.graph.get("version", ""))
