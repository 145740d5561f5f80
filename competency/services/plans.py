"""Improvement plans: gaps between measured and target levels (targets: `plan_targets`), ordered by
prerequisites into stages; plans copied from path templates; who may see a plan; progress."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from competency import graph
from competency.bilingual import localized
from competency.extensions import db
from competency.models import Attempt, PathTemplate, Plan, PlanTask, Resource, Role, User, utcnow
from competency.services import audit, maps
from competency.services.errors import Conflict, NotFound
from competency.services.plan_targets import area_of, measured_levels, targets_for
from competency.services.resources import pick_resources, resources_by_code


def _names(g, code: str) -> tuple[str, str]:
    data = g.nodes[code] if code in g else {}
    return data.get("name_zh", code), data.get("name_en", code)


def _levels_between(scale, low: str | None, high: str) -> list[str]:
    start = scale.index(low) + 1 if low else 0
    return [lv.code for lv in scale.levels[start : scale.index(high) + 1]] or [high]


def plan_for_attempt(attempt_id: int) -> Plan | None:
    return db.session.scalar(select(Plan).where(Plan.attempt_id == attempt_id))


_CATALOG: dict[str, object] = {"key": None, "at": 0.0, "rows": ()}
CATALOG_TTL_SECONDS = 300


def _catalog():
    """The resource catalog as plain rows, kept per process for a few minutes.

    Building a plan scans the whole catalog as an attempt finishes; decoding ~190 rows of JSON each
    time cost more than the rest of grading. The cache is dropped when resources are added or removed,
    and after CATALOG_TTL_SECONDS in any case (edits made by `seed-demo` show within that time).
    """
    # Adding, editing or retiring a resource changes the key (its count, newest id, last edit, retirements).
    key = tuple(
        db.session.execute(
            select(
                func.count(),
                func.max(Resource.id),
                func.max(Resource.updated_at),
                func.count(Resource.retired_at),
            )
        ).one()
    )
    now = time.monotonic()
    if _CATALOG["key"] != key or now - _CATALOG["at"] > CATALOG_TTL_SECONDS:
        rows = db.session.execute(
            select(
                Resource.code,
                Resource.nodes,
                Resource.roles,
                Resource.levels,
                Resource.hours,
                Resource.kind,
                Resource.institution_id,
            )
            .where(Resource.retired_at.is_(None))
            .order_by(Resource.code)
        ).all()
        _CATALOG.update(key=key, at=now, rows=tuple(rows))
    return list(_CATALOG["rows"])


def build_for_attempt(attempt: Attempt) -> Plan | None:
    """The plan for a graded attempt (idempotent; the caller commits). None when every target is met."""
    if attempt.status != "graded" or not attempt.result:
        return None
    existing = plan_for_attempt(attempt.id)
    if existing is not None:
        return existing
    user = db.session.get(User, attempt.user_id)
    result = attempt.result
    scale_name = result.get("scale") or attempt.assessment.scale
    scale = graph.level_scale(scale_name)
    g = maps.for_scale(scale_name)
    measured = measured_levels(result)
    targets = {c: t for c, t in targets_for(attempt, user).items() if c in g and t in scale}
    # An indicator without items of its own is judged by its dimension's level; one outside the
    # assessment altogether is left out rather than counted as the lowest level.
    dims = result.get("dimensions", [])
    single = (
        dims[0].get("level") if len(dims) == 1 else None
    )  # e.g. a job-skill test reports one role dimension
    known = {c: measured.get(c) or measured.get(area_of(c)) or single for c in targets}
    targets = {c: t for c, t in targets.items() if known[c] is not None}
    report = graph.gap_analysis({c: v for c, v in known.items() if v}, targets, scale, g)
    if not report.gaps:
        return None
    path = graph.learning_path(g, report.gaps)
    gaps = {gap.code: gap for gap in report.gaps}
    role = attempt.assessment.role_code or user.target_role
    # Platform-wide resources and the person's own institution's: another school's stay private.
    catalog = [r for r in _catalog() if r.institution_id in (None, user.institution_id)]
    assessment = attempt.assessment
    plan = Plan(
        user_id=user.id,
        attempt_id=attempt.id,
        source="attempt",
        title_zh=f"{assessment.title_zh}·提升计划",
        title_en=f"Improvement plan: {assessment.title_en}",
        scale=scale_name,
        targets={c: gaps[c].target for c in gaps},
        measured={c: gaps[c].measured for c in gaps},
        graph_version=report.version or None,
    )
    stages = []
    for s, codes in enumerate(path.stages):
        areas = list(dict.fromkeys(area_of(c) for c in codes))
        stages.append(
            {
                "title_zh": f"第{s + 1}阶段：" + "、".join(_names(g, a)[0] for a in areas),
                "title_en": f"Stage {s + 1}: " + ", ".join(_names(g, a)[1] for a in areas),
            }
        )
        for position, code in enumerate(codes):
            gap = gaps.get(code)
            if gap is None:  # a prerequisite pulled in by the path; not expected with met=None
                continue
            picked = pick_resources(code, _levels_between(scale, gap.measured, gap.target), role, catalog)
            zh, en = _names(g, code)
            plan.tasks.append(
                PlanTask(
                    stage=s,
                    position=position,
                    nodes=[code],
                    title_zh=f"{code} {zh}：{gap.measured or '—'} → {gap.target}",
                    title_en=f"{code} {en}: {gap.measured or '—'} → {gap.target}",
                    resources=[r.code for r in picked],
                    hours=round(sum(r.hours for r in picked), 1),
                )
            )
    plan.stages = stages
    db.session.add(plan)
    db.session.flush()
    audit.record("plan.build", "plan", plan.id, detail={"attempt_id": attempt.id, "tasks": len(plan.tasks)})
    return plan


def create_for_attempt(attempt_id: int, actor: User) -> Plan:
    """Build (or return) the plan of one of the actor's own attempts; refuses unfinished attempts."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != actor.id:
        raise NotFound("attempt_not_found", _("attempt not found"))
    if attempt.status != "graded" or not attempt.result:
        raise Conflict(
            "attempt_not_graded",
            _("This attempt is not finished and graded yet; a plan needs its result."),
            "attempt_id",
        )
    plan = build_for_attempt(attempt)
    if plan is None:
        raise Conflict("no_gaps", _("Every target level is already reached; there is nothing to plan."))
    db.session.commit()
    return plan


def from_template(
    user: User, template: PathTemplate, cohort_id: int | None, measured: dict | None = None
) -> Plan:
    """A plan copied from a staged path template (layering); the caller commits."""
    plan = Plan(
        user_id=user.id,
        cohort_id=cohort_id,
        template_code=template.code,
        source="template",
        title_zh=template.title_zh,
        title_en=template.title_en,
        scale="teacher" if template.audience == "teacher" else "job",
        measured=measured or {},
        stages=[{"title_zh": s["title_zh"], "title_en": s["title_en"]} for s in template.stages],
    )
    for s, stage in enumerate(template.stages):
        for position, task in enumerate(stage["tasks"]):
            plan.tasks.append(
                PlanTask(
                    stage=s,
                    position=position,
                    nodes=list(task.get("nodes", [])),
                    title_zh=task["title_zh"],
                    title_en=task["title_en"],
                    resources=list(task.get("resources", [])),
                    hours=float(task.get("hours") or 0),
                )
            )
    db.session.add(plan)
    return plan


def can_view(actor: User, plan: Plan) -> bool:
    if actor.id == plan.user_id:
        return True
    if actor.role == Role.PLATFORM_ADMIN:
        return True
    return (
        actor.role in (Role.INSTITUTION_ADMIN, Role.TRAINER)
        and actor.institution_id == plan.user.institution_id
    )


def get_plan(plan_id: int, actor: User) -> Plan:
    plan = db.session.get(Plan, plan_id)
    if plan is None or not can_view(actor, plan):
        raise NotFound("plan_not_found", _("plan not found"))
    return plan


def ensure_for_attempt(attempt: Attempt) -> Plan | None:
    """The attempt's plan, built on first request and committed.

    Plans are derived data: they are built when a result is first shown (page, API or plan list),
    which keeps the work off the answer that finishes a test. Two racing first requests are settled
    by the unique attempt id: the loser reads the winner's plan.
    """
    existing = plan_for_attempt(attempt.id)
    if existing is not None or attempt.status != "graded" or not attempt.result:
        return existing
    try:
        plan = build_for_attempt(attempt)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return plan_for_attempt(attempt.id)
    return plan


def ensure_for_user(user: User) -> None:
    """Build the plans of the person's graded attempts that have none yet."""
    have = select(Plan.attempt_id).where(Plan.attempt_id.is_not(None))
    missing = db.session.scalars(
        select(Attempt).where(Attempt.user_id == user.id, Attempt.status == "graded", Attempt.id.not_in(have))
    ).all()
    for attempt in missing:
        ensure_for_attempt(attempt)


def plans_of(user: User) -> list[Plan]:
    stmt = (
        select(Plan)
        .where(Plan.user_id == user.id, Plan.archived_at.is_(None))
        .order_by(Plan.created_at.desc())
    )
    return list(db.session.scalars(stmt))


def set_task_done(plan: Plan, task_id: int, done: bool, actor: User) -> PlanTask:
    """Only the plan's owner marks tasks; staff may look but not tick boxes for them."""
    if plan.user_id != actor.id:
        raise NotFound("plan_not_found", _("plan not found"))
    task = next((t for t in plan.tasks if t.id == task_id), None)
    if task is None:
        raise NotFound("task_not_found", _("task not found"))
    task.done_at = (task.done_at or utcnow()) if done else None
    db.session.commit()
    return task


@dataclass
class StageView:
    index: int
    title: str
    hours: float
    tasks: list[PlanTask]
    done: int

    @property
    def complete(self) -> bool:
        return bool(self.tasks) and self.done == len(self.tasks)


def stage_views(plan: Plan, locale: str) -> list[StageView]:
    english = locale == "en"
    views = []
    for i, stage in enumerate(plan.stages):
        tasks = [t for t in plan.tasks if t.stage == i]
        views.append(
            StageView(
                index=i,
                title=localized(stage, "title", english),
                hours=round(sum(t.hours for t in tasks), 1),
                tasks=tasks,
                done=sum(1 for t in tasks if t.done_at is not None),
            )
        )
    return views


def progress(plan: Plan) -> tuple[int, int]:
    return sum(1 for t in plan.tasks if t.done_at is not None), len(plan.tasks)


def reassessment_suggested(plan: Plan) -> bool:
    """A stage is complete: time to measure again before going on (or to confirm the whole plan)."""
    return any(v.complete for v in stage_views(plan, "en"))


def to_dict(plan: Plan, locale: str) -> dict:
    english = locale == "en"
    resources = resources_by_code(code for t in plan.tasks for code in t.resources)
    stages = []
    for view in stage_views(plan, locale):
        tasks = []
        for t in view.tasks:
            tasks.append(
                {
                    "id": t.id,
                    "node": t.nodes[0] if t.nodes else None,
                    "nodes": list(t.nodes),
                    "title": localized(t, "title", english),
                    "hours": t.hours,
                    "done": t.done_at is not None,
                    "resources": [
                        {
                            "code": r.code,
                            "kind": r.kind,
                            "title": localized(r, "title", english),
                            "hours": r.hours,
                            "levels": list(r.levels),
                            "url": r.url,
                        }
                        for r in (resources.get(c) for c in t.resources)
                        if r is not None
                    ],
                }
            )
        stages.append({"title": view.title, "hours": view.hours, "complete": view.complete, "tasks": tasks})
    done, total = progress(plan)
    return {
        "id": plan.id,
        "title": localized(plan, "title", english),
        "source": plan.source,
        "attempt_id": plan.attempt_id,
        "template": plan.template_code,
        "scale": plan.scale,
        "stages": stages,
        "progress": {"done": done, "total": total},
        "reassessment_suggested": reassessment_suggested(plan),
    }
