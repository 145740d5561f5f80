"""Issue 17, High 1: assigning an assessment to a cohort never changes who else may take it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from competency.extensions import db
from competency.models import Assessment, Cohort, CohortAssignment, CohortMembership, utcnow
from competency.services import audience
from tests.app.conftest import api_token, csrf_from, login


def _visible(client, token: str) -> set[int]:
    body = client.get("/api/v1/assessments", headers={"Authorization": f"Bearer {token}"}).get_json()
    return {a["id"] for a in body["assessments"]}


def test_another_institutions_trainer_cannot_lock_students_out(
    client, make_user, other_institution, job_assessment
):
    """The reported attack: tech_trainer (another institution) assigns a platform-wide assessment to an
    empty cohort of theirs; before the fix every other student lost it (404 assessment_not_found)."""
    assert job_assessment.institution_id is None
    audience_before = dict(job_assessment.audience)
    make_user("student", "local_student")
    make_user("trainer", "tech_trainer", inst=other_institution)
    empty = Cohort(name="空班", institution_id=other_institution.id)
    db.session.add(empty)
    db.session.commit()

    login(client, "tech_trainer")
    token = csrf_from(client, f"/trainer/cohorts/{empty.id}")
    response = client.post(
        f"/trainer/cohorts/{empty.id}/assign",
        data={
            "csrf_token": token,
            "assign-assessment_id": job_assessment.id,
            "assign-opens_on": (utcnow() - timedelta(days=1)).strftime("%Y-%m-%d"),
            "assign-closes_on": (utcnow() + timedelta(days=5)).strftime("%Y-%m-%d"),
            "assign-baseline_id": "0",
        },
    )
    assert response.status_code == 302
    assert db.session.scalar(select(CohortAssignment.cohort_id)) == empty.id
    db.session.expire_all()
    assert db.session.get(Assessment, job_assessment.id).audience == audience_before
    client.get("/logout")

    student_token = api_token(client, "local_student")
    assert job_assessment.id in _visible(client, student_token)
    started = client.post(
        "/api/v1/attempts",
        json={"assessment_id": job_assessment.id},
        headers={"Authorization": f"Bearer {student_token}"},
    )
    assert started.status_code in (200, 201), started.get_json()


def test_an_assignment_opens_a_cohort_restricted_assessment_to_the_cohort_only(
    app, make_user, institution, job_assessment
):
    restricted_cohort = Cohort(name="A班", institution_id=institution.id)
    assigned_cohort = Cohort(name="B班", institution_id=institution.id)
    db.session.add_all([restricted_cohort, assigned_cohort])
    db.session.flush()
    job_assessment.audience = {"roles": ["student"], "cohort_ids": [restricted_cohort.id]}
    in_a, in_b, outside = (make_user("student", n) for n in ("in_a", "in_b", "outside"))
    db.session.add_all(
        [
            CohortMembership(cohort_id=restricted_cohort.id, user_id=in_a.id),
            CohortMembership(cohort_id=assigned_cohort.id, user_id=in_b.id),
        ]
    )
    db.session.commit()
    is_open = audience.is_open_to
    assert is_open(job_assessment, in_a) and not is_open(job_assessment, in_b)
    trainer = make_user("trainer", "coach")
    from competency.services import cohort_results

    now = utcnow()
    cohort_results.assign(
        assigned_cohort, job_assessment.id, now - timedelta(hours=1), now + timedelta(days=1), trainer
    )
    db.session.expire_all()
    assessment = db.session.get(Assessment, job_assessment.id)
    assert assessment.audience["cohort_ids"] == [restricted_cohort.id]
    assert is_open(assessment, in_a) and is_open(assessment, in_b) and not is_open(assessment, outside)
    # Outside the assignment's window the assignment grants nothing.
    assert not is_open(assessment, in_b, now + timedelta(days=2))
    # The role rule still holds for members: a teacher in the cohort does not get a student evaluation.
    teacher = make_user("teacher", "t_in_b")
    db.session.add(CohortMembership(cohort_id=assigned_cohort.id, user_id=teacher.id))
    db.session.commit()
    assert not is_open(assessment, teacher)


def test_assessment_kept_to_other_institutions_is_not_assignable(
    app, make_user, institution, other_institution, job_assessment
):
    from competency.services import cohort_results
    from competency.services.errors import ServiceError

    job_assessment.audience = {"roles": ["student"], "institution_ids": [institution.id]}
    db.session.commit()
    outsider = make_user("trainer", "far_trainer", inst=other_institution)
    cohort = Cohort(name="远方", institution_id=other_institution.id)
    db.session.add(cohort)
    db.session.commit()
    assert job_assessment not in cohort_results.assignable_assessments(outsider)
    now = utcnow()
    try:
        cohort_results.assign(cohort, job_assessment.id, now, now + timedelta(days=1), outsider)
    except ServiceError as exc:
        assert exc.field == "assessment_id"
    else:  # pragma: no cover - the refusal is the point
        raise AssertionError("assigning an assessment kept to another institution was accepted")
