"""Layering (分层): split a cohort by measured level, give each layer a staged path, follow progress."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from competency.extensions import db
from competency.models import Cohort, CohortAssignment, CohortMembership, PathTemplate, Plan, User, utcnow
from competency.services import audit, cohort_fit, plans
from competency.services.cohort_results import results
from competency.services.errors import ServiceError
from competency.services.resources import templates

NOT_ASSESSED = None


def level_basis(member_result, basis: str) -> str | None:
    """The level that decides a member's layer: overall, or one dimension's."""
    if basis == "overall":
        return member_result.attempt.overall_level or member_result.result.get("overall_level")
    return member_result.dimension_levels().get(basis)


def default_template(
    level: str, audience: str, role: str | None, options: list[PathTemplate]
) -> PathTemplate | None:
    """The template whose layer levels include ``level``; one made for the job role wins over a general one."""
    fitting = [t for t in options if t.audience == audience and level in (t.layer_levels or [])]
    for t in fitting:
        if role and role in (t.roles or []):
            return t
    return next((t for t in fitting if not t.roles), None)


@dataclass
class LayeringOutcome:
    layers: dict[str, list[User]]  # template code -> members
    unassessed: list[User]
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
    res = results(assignment)
    dims = {d["code"] for d in res.dimensions}
    if basis != "overall" and basis not in dims:
        raise ServiceError("invalid_basis", _("layer by the overall level or by one dimension"), "basis")
    if not res.graded:
        raise ServiceError(
            "no_results",
            _("nobody in this cohort has a graded result for this assignment yet"),
            "assignment_id",
        )
    audience = "teacher" if res.scale.name == "teacher" else "student"
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
    picked: dict[int, PathTemplate] = {}
    for m in res.graded:
        level = level_basis(m, basis)
        template = default_template(level, audience, role, options) if level else None
        if template is None:
            raise ServiceError(
                "no_template",
                _("no learning-path template covers level %(level)s", level=level or "—"),
                "basis",
            )
        picked[m.user.id] = by_code[overrides.get(template.code, template.code)]

    now = utcnow()
    old = select(Plan).where(
        Plan.cohort_id == cohort.id, Plan.source == "template", Plan.archived_at.is_(None)
    )
    for plan in db.session.scalars(old):
        plan.archived_at = now
    layers: dict[str, list[User]] = {}
    unassessed = []
    for m in res.members:
        membership = db.session.get(CohortMembership, (cohort.id, m.user.id))
        template = picked.get(m.user.id)
        if template is None:
            membership.layer = NOT_ASSESSED
            unassessed.append(m.user)
            continue
        membership.layer = template.code
        layers.setdefault(template.code, []).append(m.user)
        plans.from_template(
            m.user, template, cohort.id, measured={"basis": basis, "level": level_basis(m, basis)}
        )
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
            "unassessed": len(unassessed),
        },
    )
    db.session.commit()
    return LayeringOutcome(layers, unassessed, sum(len(u) for u in layers.values()))


def _does_not_fit(template: PathTemplate) -> ServiceError:
    return ServiceError(
        "template_does_not_fit",
        _(
            "the path “%(title)s” is not made for this cohort: pick a path for its members' kind, job roles or industries",
            title=template.title_en if str(get_locale()) == "en" else template.title_zh,
        ),
        "template",
    )


def change_layer_template(cohort: Cohort, layer: str, template_code: str, actor: User) -> int:
    """Give every member of one layer another path template; their current layer plans are archived."""
    members = [m for m in cohort.memberships if m.layer == layer and layer]
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
        plans.from_template(m.user, template, cohort.id, measured=measured.get(m.user_id))
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
    plan: Plan | None
    done: int
    total: int
    stage: int | None  # index of the first stage with open tasks
    reassess: bool


def progress(cohort: Cohort) -> list[MemberProgress]:
    """Each member's layer plan and how far they are in it."""
    stmt = select(Plan).where(Plan.cohort_id == cohort.id, Plan.archived_at.is_(None))
    current = {p.user_id: p for p in db.session.scalars(stmt)}
    rows = []
    for membership in sorted(cohort.memberships, key=lambda m: m.user.username):
        plan = current.get(membership.user_id)
        done, total = plans.progress(plan) if plan else (0, 0)
        stage = None
        if plan:
            open_stages = [t.stage for t in plan.tasks if t.done_at is None]
            stage = min(open_stages) if open_stages else None
        rows.append(
            MemberProgress(
                membership.user,
                membership.layer,
                plan,
                done,
                total,
                stage,
                plans.reassessment_suggested(plan) if plan else False,
            )
        )
    return rows
