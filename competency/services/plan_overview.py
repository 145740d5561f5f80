"""A person's plans at a glance: which one is current, which a trainer assigned, and which results
needed no plan because every target was already met."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from competency.extensions import db
from competency.models import Assessment, Attempt, Plan, User
from competency.services import plans


@dataclass
class PlanRow:
    plan: Plan
    done: int
    total: int
    current: bool
    from_trainer: bool


@dataclass
class MetResult:
    attempt: Attempt
    assessment: Assessment


@dataclass
class Overview:
    rows: list[PlanRow]
    all_met: list[MetResult]  # latest graded results that needed no plan


def overview(user: User) -> Overview:
    """Plans newest first. Per scale, the current plan is the trainer's (its cohort works on it
    together) when there is one, else the newest plan built from a result."""
    plans.ensure_for_user(user)
    mine = plans.plans_of(user)
    current: dict[str, int] = {}
    for plan in mine:  # newest first
        if plan.source == "template" and plan.scale not in current:
            current[plan.scale] = plan.id
    for plan in mine:
        current.setdefault(plan.scale, plan.id)
    rows = [
        PlanRow(
            plan,
            *plans.progress(plan),
            current=current.get(plan.scale) == plan.id,
            from_trainer=plan.source == "template",
        )
        for plan in mine
    ]
    with_plan = select(Plan.attempt_id).where(Plan.attempt_id.is_not(None))
    stmt = (
        select(Attempt, Assessment)
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .where(Attempt.user_id == user.id, Attempt.status == "graded", Attempt.id.not_in(with_plan))
        .order_by(Attempt.finished_at.desc())
    )
    latest: dict[int, MetResult] = {}
    for attempt, assessment in db.session.execute(stmt).all():
        latest.setdefault(assessment.id, MetResult(attempt, assessment))
    # A result that needed no plan counts only while it is the person's latest on that assessment.
    newest = {
        row.assessment_id: row.id
        for row in db.session.execute(
            select(Attempt.assessment_id, Attempt.id)
            .where(Attempt.user_id == user.id, Attempt.status == "graded")
            .order_by(Attempt.finished_at)
        ).all()
    }
    met = [m for m in latest.values() if newest.get(m.assessment.id) == m.attempt.id]
    return Overview(rows, met)
