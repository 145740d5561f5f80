"""Capability maps, indicator systems, job profiles and level scales (pure: networkx + stdlib).

    from competency import graph
    G = graph.teacher_map()            # JY/T 0646—2022 teacher map, networkx.DiGraph
    S = graph.student_indicators()     # student digital-literacy indicator system
    jobs = graph.job_profiles()        # 20 digital job roles
    scale = graph.level_scale("teacher")

Every node has ``kind``, ``code``, ``name_zh``, ``name_en``; edges have ``relation`` =
"contains" (hierarchy) or "prerequisite" (learn A before B, ``source="platform"``).
The data are versioned JSON files in ``competency/graph/data``; ``data_version()`` and
``G.graph["version"]`` tell which version a result used. The default data set is loaded
once and cached; every accessor returns a fresh copy.
"""

from __future__ import annotations

from functools import lru_cache

import networkx as nx

from competency.graph.analysis import (
    Gap,
    GapReport,
    LearningPath,
    Rollup,
    children,
    code_key,
    gap_analysis,
    job_rollup,
    learning_path,
    nodes_of_kind,
    prerequisite_graph,
    rollup,
    top_level,
)
from competency.graph.errors import MapValidationError, Problem
from competency.graph.exchange import from_graphml, from_json, to_graphml, to_json
from competency.graph.loading import DATA_DIR, Dataset, load, validate
from competency.graph.profiles import CareerStage, Industry, JobProfile, Task, TeacherCategory
from competency.graph.render import render_svg
from competency.graph.scales import Level, LevelScale

__all__ = [
    "DATA_DIR",
    "CareerStage",
    "Dataset",
    "Gap",
    "GapReport",
    "Industry",
    "JobProfile",
    "LearningPath",
    "Level",
    "LevelScale",
    "MapValidationError",
    "Problem",
    "Rollup",
    "Task",
    "TeacherCategory",
    "career_stages",
    "children",
    "code_key",
    "data_version",
    "dataset",
    "digcompedu",
    "from_graphml",
    "from_json",
    "gap_analysis",
    "industries",
    "job_gaps",
    "job_profile",
    "job_profiles",
    "job_rollup",
    "learning_path",
    "level_scale",
    "load",
    "nodes_of_kind",
    "prerequisite_graph",
    "render_svg",
    "rollup",
    "student_indicators",
    "teacher_categories",
    "teacher_map",
    "teacher_targets",
    "to_graphml",
    "to_json",
    "top_level",
    "validate",
]


@lru_cache(maxsize=1)
def dataset() -> Dataset:
    """The packaged, validated data set (loaded once)."""
    return load(DATA_DIR)


def data_version() -> str:
    """Version of the packaged data set (manifest.json); record it with every result."""
    return dataset().version


def teacher_map() -> nx.DiGraph:
    """Teacher digital-literacy map after JY/T 0646—2022: 5 dimensions, 13 sub-dimensions, 33 indicators."""
    return dataset().teacher_map()


def student_indicators() -> nx.DiGraph:
    """Student indicator system: 7 DLGF areas S0..S6 and their indicators (incl. role-specific S6.3–S6.12)."""
    return dataset().student_indicators()


def job_profiles() -> list[JobProfile]:
    """The 20 digital job roles (two per key industry)."""
    return dataset().job_profiles()


def job_profile(code: str) -> JobProfile:
    return dataset().job_profile(code)


def industries() -> list[Industry]:
    return dataset().industries()


def level_scale(name: str) -> LevelScale:
    """A level scale by name: "teacher" (L1..L6), "job" (J0..J3) or "digcomp" (D1..D8)."""
    return dataset().level_scale(name)


def digcompedu() -> list[dict[str, str]]:
    """DigCompEdu areas and the 22 competences the teacher map is crosswalked to."""
    return dataset().digcompedu()


def teacher_categories() -> list[TeacherCategory]:
    return dataset().teacher_categories()


def career_stages() -> list[CareerStage]:
    return dataset().career_stages()


def teacher_targets(category: str, stage: str, *, indicators: bool = False) -> dict[str, str]:
    """Target teacher level per node for a category (e.g. "public", "specialty-AI", "practical") and stage."""
    return dataset().teacher_targets(category, stage, indicators=indicators)


def job_gaps(role: str | JobProfile, measured: dict[str, str | None]) -> GapReport:
    """Gaps between measured job levels and a role's requirements, largest first."""
    profile = role if isinstance(role, JobProfile) else job_profile(role)
    return gap_analysis(measured, profile.requirements, level_scale("job"), student_indicators())
