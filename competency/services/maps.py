"""Capability maps shared read-only by the services.

`competency.graph` hands out deep copies, because a caller may edit what it gets; the services only
read, so one copy per process and data version serves every request (a copy costs milliseconds).
"""

from __future__ import annotations

from functools import lru_cache

import networkx as nx

from competency import graph


@lru_cache(maxsize=4)
def _shared(kind: str, version: str) -> nx.DiGraph:
    tree = graph.teacher_map() if kind == "teacher" else graph.student_indicators()
    return nx.freeze(tree)


def teacher_map() -> nx.DiGraph:
    return _shared("teacher", graph.data_version())


def student_indicators() -> nx.DiGraph:
    return _shared("student", graph.data_version())


def containers(tree: nx.DiGraph, code: str):
    """The node itself, then each node that contains it, up to the top of the map."""
    current: str | None = code
    while current is not None:
        yield current
        current = next(
            (parent for parent, _child, rel in tree.in_edges(current, data="relation") if rel == "contains"),
            None,
        )


def for_scale(scale: str) -> nx.DiGraph:
    """The teacher map for the teacher scale, the student indicator system otherwise."""
    return teacher_map() if scale == "teacher" else student_indicators()
