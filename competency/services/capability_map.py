"""The capability map as people see it: dimensions → sub-dimensions → indicators with prerequisites,
each indicator holding a measured level and a target (one person), a level distribution (a cohort),
or a job's requirement (a job profile against a student).

Everything a page needs comes from a few set-based queries: one for the person's graded results, one
for the answers behind each indicator (grouped in the database), one for their open plan tasks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import networkx as nx
from sqlalchemy import case, func, select

from competency import graph
from competency.extensions import db
from competency.models import Assessment, Attempt, Item, Plan, PlanTask, Response, User
from competency.services import maps
from competency.services.cohort_results import CohortResults
from competency.services.plan_targets import DEFAULT_STAGE, teacher_category

TEACHER = "teacher"
STUDENT = "student"
# Scales whose results measure each map: the teacher map on the teacher scale; the student indicator
# system on the job scale (literacy and job-skill evaluations alike).
SCALES = {TEACHER: ("teacher",), STUDENT: ("job",)}

MET, BELOW, UNMEASURED, NO_TARGET, NOT_REQUIRED = "met", "below", "unmeasured", "no_target", "not_required"


@dataclass
class Indicator:
    code: str
    name_zh: str
    name_en: str
    parent: str
    level: str | None = None
    target: str | None = None
    status: str = UNMEASURED
    gap: int = 0  # levels still to go (0 when met or unknown)
    items: int = 0  # questions answered on it, in the result the level comes from
    measured_at: datetime | None = None
    distribution: dict[str, int] = field(default_factory=dict)  # cohort maps: members per level
    median: str | None = None  # cohort maps
    prerequisites: list[str] = field(default_factory=list)
    unlocks: list[str] = field(default_factory=list)


@dataclass
class Group:
    """A dimension (or area), or a sub-dimension inside one; ``children`` are groups or indicator codes."""

    code: str
    name_zh: str
    name_en: str
    level: str | None = None
    target: str | None = None
    groups: list[Group] = field(default_factory=list)
    indicators: list[str] = field(default_factory=list)


@dataclass
class CapabilityMap:
    kind: str  # "teacher" | "student"
    mode: str  # "person" | "cohort" | "job"
    scale: graph.LevelScale
    dimensions: list[Group]
    indicators: dict[str, Indicator]
    edges: list[tuple[str, str]]  # prerequisite → indicator it prepares
    has_results: bool = False
    members: int = 0  # cohort maps: graded members

    def ordered(self) -> list[Indicator]:
        return [self.indicators[c] for d in self.dimensions for c in _codes(d)]

    def counts(self) -> Counter:
        return Counter(i.status for i in self.indicators.values())


def _codes(group: Group) -> list[str]:
    out = list(group.indicators)
    for sub in group.groups:
        out += _codes(sub)
    return out


def tree_for(kind: str) -> nx.DiGraph:
    return maps.teacher_map() if kind == TEACHER else maps.student_indicators()


def kind_of(user: User) -> str:
    return TEACHER if user.role == "teacher" else STUDENT


def _skeleton(kind: str, mode: str) -> CapabilityMap:
    tree = tree_for(kind)
    scale = graph.level_scale("teacher" if kind == TEACHER else "job")

    def contained(code: str) -> list[str]:
        kids = [c for _p, c, rel in tree.out_edges(code, data="relation") if rel == "contains"]
        return sorted(kids, key=graph.code_key)

    indicators: dict[str, Indicator] = {}

    def build(code: str) -> Group:
        data = tree.nodes[code]
        group = Group(code, data.get("name_zh", code), data.get("name_en", code))
        for child in contained(code):
            if tree.nodes[child].get("kind") == "indicator":
                node = tree.nodes[child]
                indicators[child] = Indicator(
                    child, node.get("name_zh", child), node.get("name_en", child), code
                )
                group.indicators.append(child)
            else:
                group.groups.append(build(child))
        return group

    dimensions = [build(code) for code in graph.top_level(tree)]
    edges = [
        (a, b)
        for a, b, rel in tree.edges(data="relation")
        if rel == "prerequisite" and a in indicators and b in indicators
    ]
    for a, b in edges:
        indicators[b].prerequisites.append(a)
        indicators[a].unlocks.append(b)
    return CapabilityMap(kind, mode, scale, dimensions, indicators, edges)


def _judge(cmap: CapabilityMap) -> None:
    scale = cmap.scale
    for ind in cmap.indicators.values():
        if cmap.mode == "job" and ind.target is None:
            ind.status = NOT_REQUIRED
        elif ind.level is None:
            ind.status = UNMEASURED
        elif ind.target is None:
            ind.status = NO_TARGET
        else:
            gap = scale.index(ind.target) - scale.index(ind.level)
            ind.status, ind.gap = (MET, 0) if gap <= 0 else (BELOW, gap)


def _graded_results(user: User, kind: str) -> list[tuple[Attempt, Assessment]]:
    """The person's graded attempts on the map's scale, newest first (one query)."""
    stmt = (
        select(Attempt, Assessment)
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .where(
            Attempt.user_id == user.id,
            Attempt.status == "graded",
            Assessment.scale.in_(SCALES[kind]),
        )
        .order_by(Attempt.finished_at.desc(), Attempt.id.desc())
    )
    return [(a, s) for a, s in db.session.execute(stmt).all() if a.result]


def profile_targets(user: User, kind: str, role_code: str | None = None) -> dict[str, str]:
    """A teacher's targets from category × career stage; a student's from their (or the given) job role."""
    if kind == TEACHER:
        return graph.teacher_targets(
            teacher_category(user), user.career_stage or DEFAULT_STAGE, indicators=True
        )
    role = role_code or user.target_role
    if not role:
        return {}
    try:
        return dict(graph.job_profile(role).requirements)
    except KeyError:
        return {}


def person_map(user: User, role_code: str | None = None) -> CapabilityMap:
    """The person's map: each indicator's latest measured level against their target (or, with
    ``role_code``, a job profile's requirements against the student's levels)."""
    kind = kind_of(user)
    cmap = _skeleton(kind, "job" if role_code else "person")
    targets = profile_targets(user, kind, role_code)
    results = _graded_results(user, kind)
    given: dict[str, str] = {}
    for attempt, _assessment in results:  # newest first: the first measurement of a node wins
        for row in attempt.result.get("indicators", []):
            ind = cmap.indicators.get(row["code"])
            if ind is not None and ind.level is None and row.get("level"):
                ind.level, ind.items, ind.measured_at = row["level"], row.get("items", 0), attempt.finished_at
            if row.get("target") and not role_code:
                given.setdefault(row["code"], row["target"])
        for row in attempt.result.get("dimensions", []):
            for group in cmap.dimensions:
                if group.code == row["code"] and group.level is None:
                    group.level = row.get("level")
    for code, ind in cmap.indicators.items():
        ind.target = targets.get(code) or (None if role_code else given.get(code))
    for group in cmap.dimensions:
        group.target = targets.get(group.code)
    cmap.has_results = bool(results)
    _judge(cmap)
    return cmap


def cohort_map(res: CohortResults) -> CapabilityMap:
    """A cohort's map for one assignment: members per level on each indicator and the median level."""
    kind = TEACHER if res.scale.name == "teacher" else STUDENT
    cmap = _skeleton(kind, "cohort")
    codes = res.scale.codes
    for _user, row in res.heatmap():
        for code, level in row.items():
            if level and code in cmap.indicators:
                dist = cmap.indicators[code].distribution
                dist[level] = dist.get(level, 0) + 1
    for ind in cmap.indicators.values():
        if ind.distribution:
            ranked = [lv for lv in codes for _ in range(ind.distribution.get(lv, 0))]
            ind.median = ranked[(len(ranked) - 1) // 2]
            ind.level = ind.median
            ind.items = sum(ind.distribution.values())
    cmap.members = len(res.graded)
    cmap.has_results = bool(res.graded)
    _judge(cmap)
    return cmap


@dataclass
class Evidence:
    attempt_id: int
    assessment_zh: str
    assessment_en: str
    finished_at: datetime | None
    level: str | None
    questions: int
    correct: int


@dataclass
class TaskView:
    plan_id: int
    plan_zh: str
    plan_en: str
    title_zh: str
    title_en: str
    done: bool
    hours: float
    from_trainer: bool


@dataclass
class IndicatorDetail:
    indicator: Indicator
    description_zh: str
    description_en: str
    descriptors: list[tuple[str, str, str]]  # (level code, zh, en), lowest level first
    evidence: list[Evidence]
    tasks: list[TaskView]
    prerequisite_reasons: list[tuple[str, str, str]]  # (code, zh, en)


def indicator_detail(cmap: CapabilityMap, code: str, user: User | None) -> IndicatorDetail | None:
    """What one indicator asks at each level, the person's evidence on it and their plan tasks for it."""
    ind = cmap.indicators.get(code)
    if ind is None:
        return None
    tree = tree_for(cmap.kind)
    node = tree.nodes[code]
    raw = node.get("descriptors") or {}
    pairs = raw.items() if isinstance(raw, dict) else raw
    descriptors = [(level, text.get("zh", ""), text.get("en", "")) for level, text in pairs]
    reasons = [
        (a, tree.edges[a, code].get("reason_zh", ""), tree.edges[a, code].get("reason_en", ""))
        for a in ind.prerequisites
    ]
    evidence: list[Evidence] = []
    tasks: list[TaskView] = []
    if user is not None and cmap.mode != "cohort":
        evidence = _evidence(user, cmap.kind, code)
        tasks = _tasks(user, code)
    return IndicatorDetail(
        ind,
        node.get("description_zh", ""),
        node.get("description_en", ""),
        descriptors,
        evidence,
        tasks,
        reasons,
    )


def _evidence(user: User, kind: str, code: str) -> list[Evidence]:
    """Per graded attempt: the level it gave the indicator and the answers on the indicator's items,
    counted in the database (one grouped query)."""
    results = _graded_results(user, kind)
    if not results:
        return []
    ids = [a.id for a, _s in results]
    stmt = (
        select(
            Response.attempt_id,
            func.count(Response.id),
            func.sum(case((Response.score > 0, 1), else_=0)),
        )
        .join(Item, Item.code == Response.item_code)
        .where(Response.attempt_id.in_(ids), Item.node == code, Response.pilot.is_(False))
        .group_by(Response.attempt_id)
    )
    answered = {row[0]: (int(row[1]), int(row[2] or 0)) for row in db.session.execute(stmt).all()}
    out = []
    for attempt, assessment in results:
        level = next(
            (r.get("level") for r in attempt.result.get("indicators", []) if r["code"] == code), None
        )
        n, right = answered.get(attempt.id, (0, 0))
        if level is None and not n:
            continue
        out.append(
            Evidence(
                attempt.id, assessment.title_zh, assessment.title_en, attempt.finished_at, level, n, right
            )
        )
    return out


def _tasks(user: User, code: str) -> list[TaskView]:
    """Tasks of the person's current plans that work on the indicator (or on its container)."""
    stmt = (
        select(PlanTask, Plan)
        .join(Plan, Plan.id == PlanTask.plan_id)
        .where(Plan.user_id == user.id, Plan.archived_at.is_(None))
        .order_by(Plan.created_at.desc(), PlanTask.stage, PlanTask.position)
    )
    out = []
    for task, plan in db.session.execute(stmt).all():
        if code in (task.nodes or []):
            out.append(
                TaskView(
                    plan.id,
                    plan.title_zh,
                    plan.title_en,
                    task.title_zh,
                    task.title_en,
                    task.done_at is not None,
                    task.hours,
                    plan.source == "template",
                )
            )
    return out


def requirements_map(role_code: str) -> CapabilityMap:
    """A job profile's requirements on the student indicator system, with nobody's levels (for staff)."""
    cmap = _skeleton(STUDENT, "job")
    for code, level in graph.job_profile(role_code).requirements.items():
        if code in cmap.indicators:
            cmap.indicators[code].target = level
    _judge(cmap)
    return cmap
