"""Who may take an assessment: its audience (institution, cohorts, roles), its window, and cohort assignments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from competency.extensions import db
from competency.models import Assessment, CohortAssignment, CohortMembership, User, utcnow


def cohort_ids_of(user: User) -> set[int]:
    return set(
        db.session.scalars(select(CohortMembership.cohort_id).where(CohortMembership.user_id == user.id))
    )


def assigned_assessment_ids(user: User, now: datetime | None = None) -> set[int]:
    """Assessments assigned to a cohort the person is in, whose assignment window is open now."""
    now = now or utcnow()
    stmt = (
        select(CohortAssignment.assessment_id)
        .join(CohortMembership, CohortMembership.cohort_id == CohortAssignment.cohort_id)
        .where(
            CohortMembership.user_id == user.id,
            CohortAssignment.opens_at <= now,
            CohortAssignment.closes_at > now,
        )
    )
    return set(db.session.scalars(stmt))


def is_open_to(
    assessment: Assessment,
    user: User,
    now: datetime | None = None,
    *,
    cohort_ids: set[int] | None = None,
    assigned_ids: set[int] | None = None,
) -> bool:
    """Published, inside its window, and the person is in its audience or in a cohort it is assigned to.

    The audience is the assessment's own and only its managers change it; a cohort assignment grants its
    members access beside the audience and never narrows who else may take it. The assessment's
    role rule still holds for assigned members (a teacher test stays a teacher test).
    """
    now = now or utcnow()
    if assessment.status != "published":
        return False
    if assessment.opens_at and now < assessment.opens_at:
        return False
    if assessment.closes_at and now >= assessment.closes_at:
        return False
    audience = assessment.audience or {}
    if audience.get("roles") and user.role not in audience["roles"]:
        return False
    if in_audience(assessment, user, cohort_ids):
        return True
    if assigned_ids is None:
        assigned_ids = assigned_assessment_ids(user, now)
    return assessment.id in assigned_ids


def in_audience(assessment: Assessment, user: User, cohort_ids: set[int] | None = None) -> bool:
    """The audience's institution and cohort rules (roles are checked by the caller)."""
    audience = assessment.audience or {}
    if assessment.institution_id and assessment.institution_id != user.institution_id:
        return False
    if audience.get("institution_ids") and user.institution_id not in audience["institution_ids"]:
        return False
    if audience.get("cohort_ids"):
        mine = cohort_ids if cohort_ids is not None else cohort_ids_of(user)
        return bool(mine & set(audience["cohort_ids"]))
    return True


def open_assessments(user: User) -> list[Assessment]:
    rows = db.session.scalars(
        select(Assessment).where(Assessment.status == "published").order_by(Assessment.id)
    )
    now = utcnow()
    cohorts = cohort_ids_of(user)
    assigned = assigned_assessment_ids(user, now)
    return [a for a in rows if is_open_to(a, user, now, cohort_ids=cohorts, assigned_ids=assigned)]
