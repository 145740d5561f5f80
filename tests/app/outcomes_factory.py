"""Graded assessments and attempts made directly in the database, for the outcome tests (certificates,
plans, cohorts), so they do not depend on running the adaptive test itself."""

from __future__ import annotations

from datetime import datetime, timedelta

from competency import graph
from competency.extensions import db
from competency.models import Assessment, Attempt, Response, User, utcnow

TEACHER_DIMS = ["T1", "T2", "T3", "T4", "T5"]


def make_assessment(
    code: str = "TDL-2026",
    scale: str = "teacher",
    kind: str = "teacher_graded",
    role_code: str | None = None,
    dimensions: list[str] | None = None,
    certificate_rule: dict | None = None,
    institution_id: int | None = None,
) -> Assessment:
    dims = dimensions or (TEACHER_DIMS if scale == "teacher" else ["S1", "S4", "S6"])
    assessment = Assessment(
        code=code,
        title_zh="教师数字素养分等级评价" if scale == "teacher" else "岗位能力评价",
        title_en="Teacher digital literacy graded assessment"
        if scale == "teacher"
        else "Job skill evaluation",
        kind=kind,
        role_code=role_code,
        scale=scale,
        dimensions=dims,
        nodes=dims,
        engine={},
        cut_scores={},
        grade_rule={},
        certificate_rule=certificate_rule or {},
        status="published",
        institution_id=institution_id,
    )
    db.session.add(assessment)
    db.session.commit()
    return assessment


def result_for(
    assessment: Assessment,
    dims: dict[str, str],
    indicators: dict[str, str] | None = None,
    overall: str | None = None,
) -> dict:
    """A result dict as the grading service writes it (see the outcomes contract)."""
    g = graph.teacher_map() if assessment.scale == "teacher" else graph.student_indicators()
    return {
        "assessment": assessment.code,
        "kind": assessment.kind,
        "scale": assessment.scale,
        "graph_version": "1.0.0",
        "dimensions": [
            {
                "code": code,
                "name_zh": g.nodes[code]["name_zh"] if code in g else code,
                "name_en": g.nodes[code]["name_en"] if code in g else code,
                "theta": 0.1 * i,
                "se": 0.35,
                "level": level,
                "items": 5,
            }
            for i, (code, level) in enumerate(dims.items())
        ],
        "indicators": [
            {"code": code, "theta": 0.0, "se": 0.8, "level": level, "items": 2, "target": None, "met": None}
            for code, level in (indicators or {}).items()
        ],
        "overall_level": overall or next(iter(dims.values())),
        "grade_rule": {},
        "stop_reason": "se_target",
        "items_answered": 24,
        "timed_out": False,
        "finished_at": utcnow().isoformat(),
    }


def make_attempt(
    user: User,
    assessment: Assessment,
    dims: dict[str, str] | None = None,
    indicators: dict[str, str] | None = None,
    overall: str | None = None,
    status: str = "graded",
    started_at: datetime | None = None,
    responses: int = 0,
) -> Attempt:
    started = started_at or utcnow() - timedelta(minutes=30)
    attempt = Attempt(
        assessment_id=assessment.id,
        user_id=user.id,
        status=status,
        started_at=started,
        state={},
        engine={},
        param_versions={},
    )
    if status == "graded":
        attempt.finished_at = started + timedelta(minutes=20)
        attempt.result = result_for(assessment, dims or {}, indicators, overall)
        attempt.overall_level = attempt.result["overall_level"]
    db.session.add(attempt)
    db.session.flush()
    for position in range(1, responses + 1):
        db.session.add(
            Response(
                attempt_id=attempt.id,
                position=position,
                item_code=f"T-1.1.1-{position:02d}",
                param_version=1,
                answer={"value": '=HYPERLINK("x")' if position == 1 else "B"},
                score=position % 2,
            )
        )
    db.session.commit()
    return attempt


def outcome_params(people: dict[str, User], cohort) -> dict:
    """URL parameters of the outcome routes for the authorisation matrix: the teacher's graded attempt
    with its certificate and plan, and an assignment of the cohort."""
    from competency.models import CohortAssignment, CohortMembership
    from competency.services import certificates, plans

    assessment = make_assessment("MATRIX-T")
    teacher = people["teacher"]
    db.session.add(CohortMembership(cohort_id=cohort.id, user_id=teacher.id))
    attempt = make_attempt(teacher, assessment, {"T1": "L1", "T2": "L1", "T3": "L1", "T4": "L1", "T5": "L1"})
    cert = certificates.issue_for_attempt(attempt)
    plan = plans.build_for_attempt(attempt)
    assignment = CohortAssignment(
        cohort_id=cohort.id,
        assessment_id=assessment.id,
        opens_at=utcnow() - timedelta(days=1),
        closes_at=utcnow() + timedelta(days=1),
    )
    db.session.add(assignment)
    db.session.commit()
    return {
        "code": cert.code,
        "plan_id": plan.id,
        "task_id": plan.tasks[0].id,
        "attempt_id": attempt.id,
        "assignment_id": assignment.id,
    }
