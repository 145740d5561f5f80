"""What fits a cohort: its kind (teachers or students), its students' job roles and industries, and
the path templates and assessments that suit it. Trainers are offered only what fits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from competency import graph
from competency.extensions import db
from competency.models import (
    Assessment,
    Cohort,
    CohortAssignment,
    PathTemplate,
    Role,
)
from competency.services import cohort_profile_rows

TEACHER = "teacher"
STUDENT = "student"


@dataclass(frozen=True)
class _Row:
    role: str
    target_role: str | None
    specialty_industry: str | None
    n: int


@dataclass(frozen=True)
class CohortProfile:
    kind: str | None  # "teacher", "student", or None for an empty cohort
    roles: frozenset[str]  # target job roles of the student members
    industries: frozenset[str]  # industries of those roles and of teacher members' specialties


def profile(cohort: Cohort) -> CohortProfile:
    """The cohort's kind by its members' roles (the majority when mixed), their roles and industries."""
    # The cohort's composition rows (services.cohort_profile_rows): a handful however many members.
    rows = [_Row(*row) for row in cohort_profile_rows.counts(cohort.id)]
    teachers = sum(r.n for r in rows if r.role == Role.TEACHER)
    students = sum(r.n for r in rows if r.role == Role.STUDENT)
    kind = None if not (teachers or students) else (TEACHER if teachers >= students else STUDENT)
    by_role = {p.code: p.industry for p in graph.job_profiles()}
    # A cohort's roles: its students' target roles and the job roles of the evaluations it was given.
    assigned = (
        select(Assessment.role_code)
        .join(CohortAssignment, CohortAssignment.assessment_id == Assessment.id)
        .where(CohortAssignment.cohort_id == cohort.id, Assessment.role_code.is_not(None))
    )
    roles = frozenset(r.target_role for r in rows if r.role == Role.STUDENT and r.target_role)
    if kind == STUDENT:
        roles |= frozenset(db.session.scalars(assigned))
    industries = {by_role[code] for code in roles if code in by_role}
    industries |= {r.specialty_industry for r in rows if r.role == Role.TEACHER and r.specialty_industry}
    return CohortProfile(kind, roles, frozenset(industries))


def template_fits(template: PathTemplate, who: CohortProfile) -> bool:
    """A teacher cohort gets teacher paths; a student cohort gets general student paths and the job
    paths of its students' roles (or of those roles' industries)."""
    if who.kind is not None and template.audience != who.kind:
        return False
    if not template.roles:
        return True
    by_role = {p.code: p.industry for p in graph.job_profiles()}
    return any(r in who.roles or by_role.get(r) in who.industries for r in template.roles)


def templates_for(
    cohort: Cohort, options: list[PathTemplate], who: CohortProfile | None = None
) -> list[PathTemplate]:
    who = who or profile(cohort)
    return [t for t in options if template_fits(t, who)]


def assessment_fits(assessment: Assessment, who: CohortProfile) -> bool:
    """Teacher cohorts take the teacher assessment; student cohorts the literacy evaluation and the
    job-skill evaluations of their students' roles (any job evaluation when no roles are recorded)."""
    if who.kind is None:
        return True
    if who.kind == TEACHER:
        return assessment.kind == "teacher_graded"
    if assessment.kind == "teacher_graded":
        return False
    if assessment.kind == "job_skill" and who.roles:
        return assessment.role_code in who.roles
    return True


def assessments_for(
    cohort: Cohort, options: list[Assessment], who: CohortProfile | None = None
) -> list[Assessment]:
    who = who or profile(cohort)
    return [a for a in options if assessment_fits(a, who)]
