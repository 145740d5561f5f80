"""Layering (分层): split a cohort by measured level, give each layer a staged path, follow progress."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, func, insert, select, text, update
from sqlalchemy.orm import selectinload

from competency.bilingual import localized
from competency.extensions import db
from competency.models import (
    Attempt,
    Cohort,
    CohortAssignment,
    CohortMembership,
    PathTemplate,
    Plan,
    PlanTask,
    ResultLevel,
    User,
    utcnow,
)
from competency.services import audit, cohort_fit, paging
from competency.services.cohort_results import chosen_attempts
from competency.services.errors import ServiceError
from competency.services.institutions import member_count
from competency.services.resources import templates
from competency.services.streaming import stream

NOT_ASSESSED = None
ANALYZE_AFTER = 1000  # plans written in one layering before planner statistics are refreshed; also the batch


def default_template(
    level: str, audience: str, role: str | None, options: list[PathTemplate]
) -> PathTemplate | None:
    """The template whose layer levels include ``level``; one made for the job role wins over a general one."""
    fitting = [t for t in options if t.audience == audience and level in (t.layer_levels or [])]
    for t in fitting:
        if role and role in (t.roles or []):
            return t
    return next((t for t in fitting if not t.roles), None)


def _insert_plans(cohort_id: int, wanted: list[tuple[int, PathTemplate, dict]]) -> None:
    """Layer plans copied from their templates (as ``plans.from_template`` makes one), set-based.

    Two multi-row INSERTs (plans, then their tasks) in batches of a thousand rows, whatever the cohort's
    size; the ORM's unit of work would send one INSERT per plan.
    """
    if not wanted:
        return
    now = utcnow()
    rows = [
        {
            "user_id": user_id,
            "attempt_id": None,
            "cohort_id": cohort_id,
            "template_code": template.code,
            "source": "template",
            "title_zh": template.title_zh,
            "title_en": template.title_en,
            "scale": "teacher" if template.audience == "teacher" else "job",
            "targets": {},
            "measured": measured or {},
            "stages": [{"title_zh": st["title_zh"], "title_en": st["title_en"]} for st in template.stages],
            "graph_version": None,
            "created_at": now,
            "archived_at": None,
        }
        for user_id, template, measured in wanted
    ]
    made = dict(db.session.execute(insert(Plan).returning(Plan.user_id, Plan.id), rows).all())
    tasks = [
        {
            "plan_id": made[user_id],
            "stage": s,
            "position": position,
            "nodes": list(task.get("nodes", [])),
            "title_zh": task["title_zh"],
            "title_en": task["title_en"],
            "resources": list(task.get("resources", [])),
            "hours": float(task.get("hours") or 0),
            "done_at": None,
        }
        for user_id, template, _measured in wanted
        for s, stage in enumerate(template.stages)
        for position, task in enumerate(stage["tasks"])
    ]
    if tasks:
        db.session.execute(insert(PlanTask), tasks)


@dataclass
class LayeringOutcome:
    layers: dict[str, list[User]]  # template code -> members
    unassessed: int  # members without a graded result: no layer
    plans: int


def layer_cohort(
    cohort: Cohort,
    assignment: CohortAssignment,
    basis: str,
    actor: User,
    overrides: dict[str, str] | None = None,
) -> LayeringOutcome:
    """Split the cohort by the assignment's results in one step; each layer gets its template's plan.

    ``basis`` is "overall" or a dimension code; ``overrides`` maps a default template code to the one
    the trainer chose instead. Earlier layer plans of this cohort are archived, not deleted.
    """
    if assignment.cohort_id != cohort.id:
        raise ServiceError("unknown_assignment", _("the assignment is not in this cohort"), "assignment_id")
    graded = chosen_attempts(assignment, graded=True)
    if basis != "overall" and basis not in _dimension_codes(assignment, graded):
        raise ServiceError("invalid_basis", _("layer by the overall level or by one dimension"), "basis")
    rows = _basis_levels(graded, basis)
    if not rows:
        raise ServiceError(
            "no_results",
            _("nobody in this cohort has a graded result for this assignment yet"),
            "assignment_id",
        )
    audience = "teacher" if assignment.assessment.scale == "teacher" else "student"
    options = templates()
    by_code = {t.code: t for t in options}
    overrides = dict(overrides or {})
    who = cohort_fit.profile(cohort)
    for chosen in overrides.values():
        if chosen not in by_code or by_code[chosen].audience != audience:
            raise ServiceError(
                "unknown_template", _("unknown learning-path template %(code)s", code=chosen), "template"
            )
        if not cohort_fit.template_fits(by_code[chosen], who):
            raise _does_not_fit(by_code[chosen])
    role = assignment.assessment.role_code
    by_level: dict[str | None, PathTemplate | None] = {}
    for _user, level in rows:
        if level not in by_level:
            by_level[level] = default_template(level, audience, role, options) if level else None
        if by_level[level] is None:
            raise ServiceError(
                "no_template",
                _("no learning-path template covers level %(level)s", level=level or "—"),
                "basis",
            )

    now = utcnow()
    db.session.execute(
        update(Plan)
        .where(Plan.cohort_id == cohort.id, Plan.source == "template", Plan.archived_at.is_(None))
        .values(archived_at=now)
    )
    # Everyone starts unlayered; the graded members then get their layer, a thousand rows a statement.
    db.session.execute(
        update(CohortMembership).where(CohortMembership.cohort_id == cohort.id).values(layer=NOT_ASSESSED)
    )
    layers: dict[str, list[User]] = {}
    new_plans: list[tuple[int, PathTemplate, dict]] = []
    for user, level in rows:
        template = by_code[overrides.get(by_level[level].code, by_level[level].code)]
        layers.setdefault(template.code, []).append(user)
        new_plans.append((user.id, template, {"basis": basis, "level": level}))
    for start in range(0, len(new_plans), ANALYZE_AFTER):
        chunk = new_plans[start : start + ANALYZE_AFTER]
        db.session.execute(
            update(CohortMembership),
            [{"cohort_id": cohort.id, "user_id": uid, "layer": t.code} for uid, t, _m in chunk],
        )
        _insert_plans(cohort.id, chunk)
    if len(new_plans) >= ANALYZE_AFTER and db.engine.dialect.name == "postgresql":
        # Thousands of new rows at once: refresh the planner's statistics now rather than at the next
        # autovacuum, or the progress pages are planned for near-empty tables meanwhile.
        db.session.execute(text("ANALYZE plan, plan_task"))
    members = db.session.scalar(
        select(func.count()).select_from(CohortMembership).where(CohortMembership.cohort_id == cohort.id)
    )
    unassessed = (members or 0) - len(new_plans)
    db.session.flush()
    audit.record(
        "cohort.layering",
        "cohort",
        cohort.id,
        actor=actor,
        detail={
            "assignment_id": assignment.id,
            "basis": basis,
            "layers": {code: len(users) for code, users in layers.items()},
            "unassessed": unassessed,
        },
    )
    db.session.commit()
    return LayeringOutcome(layers, unassessed, len(new_plans))


def _dimension_codes(assignment: CohortAssignment, graded) -> set[str]:
    """Dimensions the results report on: the assessment's, and any the graded results name."""
    stmt = (
        select(ResultLevel.code)
        .join(graded, graded.c.attempt_id == ResultLevel.attempt_id)
        .where(ResultLevel.kind == "d")
        .distinct()
    )
    return set(assignment.assessment.dimensions or []) | set(db.session.scalars(stmt))


def _basis_levels(graded, basis: str) -> list[tuple[User, str | None]]:
    """Each graded member with the level that decides their layer (overall, or one dimension's)."""
    kind, code = ("o", "overall") if basis == "overall" else ("d", basis)
    level = ResultLevel.level
    stmt = (
        select(User, Attempt.overall_level, level)
        .join(graded, graded.c.user_id == User.id)
        .join(Attempt, Attempt.id == graded.c.attempt_id)
        .outerjoin(
            ResultLevel,
            and_(
                ResultLevel.attempt_id == graded.c.attempt_id,
                ResultLevel.kind == kind,
                ResultLevel.code == code,
            ),
        )
        .order_by(User.username)
    )
    out = []
    for user, overall, chosen in db.session.execute(stmt):
        out.append((user, (overall or chosen) if basis == "overall" else chosen))
    return out


def _does_not_fit(template: PathTemplate) -> ServiceError:
    return ServiceError(
        "template_does_not_fit",
        _(
            "the path “%(title)s” is not made for this cohort: pick a path for its members' kind, job roles or industries",
            title=localized(template, "title", str(get_locale()) == "en"),
        ),
        "template",
    )


def change_layer_template(cohort: Cohort, layer: str, template_code: str, actor: User) -> int:
    """Give every member of one layer another path template; their current layer plans are archived."""
    members = (
        list(
            db.session.scalars(
                select(CohortMembership)
                .where(CohortMembership.cohort_id == cohort.id, CohortMembership.layer == layer)
                .options(selectinload(CohortMembership.user))
            )
        )
        if layer
        else []
    )
    if not members:
        raise ServiceError("unknown_layer", _("this cohort has no layer %(layer)s", layer=layer), "layer")
    template = db.session.scalar(select(PathTemplate).where(PathTemplate.code == template_code))
    current = db.session.scalar(select(PathTemplate).where(PathTemplate.code == layer))
    if template is None:
        raise ServiceError(
            "unknown_template", _("unknown learning-path template %(code)s", code=template_code), "template"
        )
    if (current is not None and current.audience != template.audience) or not cohort_fit.template_fits(
        template, cohort_fit.profile(cohort)
    ):
        raise _does_not_fit(template)
    now = utcnow()
    ids = [m.user_id for m in members]
    old = select(Plan).where(
        Plan.cohort_id == cohort.id,
        Plan.user_id.in_(ids),
        Plan.source == "template",
        Plan.archived_at.is_(None),
    )
    measured = {}
    for plan in db.session.scalars(old):
        plan.archived_at = now
        measured[plan.user_id] = plan.measured
    for m in members:
        m.layer = template.code
    _insert_plans(cohort.id, [(m.user_id, template, measured.get(m.user_id) or {}) for m in members])
    audit.record(
        "cohort.layer_template",
        "cohort",
        cohort.id,
        actor=actor,
        detail={"layer": layer, "template": template.code, "members": len(members)},
    )
    db.session.commit()
    return len(members)


@dataclass
class MemberProgress:
    user: User
    layer: str | None
    plan_id: int | None
    done: int
    total: int
    stage: int | None  # index of the first stage with open tasks
    reassess: bool  # a stage is complete: time to measure again (plans.reassessment_suggested)


PROGRESS_SORTS = {"username": User.username, "name": User.display_name}


def _progress_stmt(cohort: Cohort) -> Select:
    """Members with their current layer plan's task counts, summed per stage by the database."""
    current = (
        select(Plan.user_id, func.max(Plan.id).label("plan_id"))
        .where(Plan.cohort_id == cohort.id, Plan.archived_at.is_(None))
        .group_by(Plan.user_id)
        .subquery()
    )
    stages = (
        select(
            PlanTask.plan_id,
            PlanTask.stage,
            func.count().label("n"),
            func.count(PlanTask.done_at).label("d"),
        )
        .join(current, current.c.plan_id == PlanTask.plan_id)
        .group_by(PlanTask.plan_id, PlanTask.stage)
        .subquery()
    )
    per_plan = (
        select(
            stages.c.plan_id,
            func.sum(stages.c.n).label("total"),
            func.sum(stages.c.d).label("done"),
            func.min(case((stages.c.d < stages.c.n, stages.c.stage))).label("open_stage"),
            func.max(case((stages.c.d == stages.c.n, 1), else_=0)).label("complete"),
        )
        .group_by(stages.c.plan_id)
        .subquery()
    )
    return (
        select(
            User,
            CohortMembership.layer,
            current.c.plan_id,
            per_plan.c.done,
            per_plan.c.total,
            per_plan.c.open_stage,
            per_plan.c.complete,
        )
        .join(CohortMembership, CohortMembership.user_id == User.id)
        .where(CohortMembership.cohort_id == cohort.id)
        .outerjoin(current, current.c.user_id == User.id)
        .outerjoin(per_plan, per_plan.c.plan_id == current.c.plan_id)
    )


def _progress(row) -> MemberProgress:
    user, layer, plan_id, done, total, open_stage, complete = row
    return MemberProgress(
        user, layer, plan_id, int(done or 0), int(total or 0), open_stage, bool(plan_id and complete)
    )


def progress_rows(cohort: Cohort) -> Iterator[MemberProgress]:
    """Every member's progress by user name, streamed (exports)."""
    for row in stream(_progress_stmt(cohort).order_by(User.username)):
        yield _progress(row)
        db.session.expunge(row[0])  # nothing accumulates in the session while streaming


def progress(cohort: Cohort) -> list[MemberProgress]:
    """Each member's layer plan and how far they are in it."""
    return [_progress(row) for row in db.session.execute(_progress_stmt(cohort).order_by(User.username))]


def progress_page(cohort: Cohort, q=None, sort="username", **args) -> paging.Page:
    """A page of members' progress; rows are MemberProgress."""
    key = PROGRESS_SORTS.get(sort, User.username)
    stmt = _progress_stmt(cohort)
    pattern = paging.search_pattern(q)
    if pattern:
        stmt = stmt.where(
            User.username.ilike(pattern, escape="\\") | User.display_name.ilike(pattern, escape="\\")
        )
    total = None if pattern else member_count(cohort.id)  # outer joins: one row per member
    page = paging.keyset(
        stmt, key, User.id, lambda row: (getattr(row[0], key.key), row[0].id), total=total, **args
    )
    page.rows = [_progress(row) for row in page.rows]
    return page


def layer_names(cohort: Cohort) -> list[str]:
    stmt = (
        select(CohortMembership.layer)
        .where(CohortMembership.cohort_id == cohort.id, CohortMembership.layer.is_not(None))
        .distinct()
        .order_by(CohortMembership.layer)
    )
    return list(db.session.scalars(stmt))
