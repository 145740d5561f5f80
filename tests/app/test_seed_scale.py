"""`flask seed-scale --teachers N --students M`: N teachers and M students in the first demo institution,
each with one graded attempt of a demo assessment and its responses, in cohorts of the demo trainer."""

from __future__ import annotations

from sqlalchemy import func, select

from competency.cli import seed_scale_command
from competency.extensions import db
from competency.models import (
    Assessment,
    Attempt,
    Cohort,
    CohortAssignment,
    CohortMembership,
    Institution,
    Response,
    ResultLevel,
    User,
)
from competency.services import cohort_summary
from competency.services.demo import DEMO_INSTITUTIONS, seed_demo


def test_refuses_without_the_demo(app):
    result = app.test_cli_runner().invoke(seed_scale_command, ["--teachers", "3"])
    assert result.exit_code != 0 and "seed-demo" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_adds_people_with_graded_attempts_in_cohorts_of_the_trainer(app):
    seed_demo(lambda _line: None)
    before = db.session.scalar(select(func.count()).select_from(User))
    runner = app.test_cli_runner()
    result = runner.invoke(
        seed_scale_command, ["--teachers", "30", "--students", "12", "--cohort-size", "20"]
    )
    assert result.exit_code == 0, result.output
    assert "added 30 teachers, 12 students, 42 graded attempts" in result.output
    inst = db.session.scalar(select(Institution).where(Institution.name == DEMO_INSTITUTIONS[0]["name"]))
    added = list(db.session.scalars(select(User).where(User.username.like("scale-%"))))
    assert len(added) == 42 and db.session.scalar(select(func.count()).select_from(User)) == before + 42
    assert {u.institution_id for u in added} == {inst.id}
    assert sorted(u.role for u in added).count("teacher") == 30
    for user in added:
        [attempt] = db.session.scalars(select(Attempt).where(Attempt.user_id == user.id))
        code = db.session.get(Assessment, attempt.assessment_id).code
        assert code == ("TDL-2026" if user.role == "teacher" else "SDL-2026")
        assert attempt.status == "graded" and attempt.overall_level == attempt.result["overall_level"]
        answered = db.session.scalar(
            select(func.count()).select_from(Response).where(Response.attempt_id == attempt.id)
        )
        assert answered == attempt.result["items_answered"] >= 16
        assert db.session.scalar(
            select(func.count()).select_from(ResultLevel).where(ResultLevel.attempt_id == attempt.id)
        ) == 1 + len(attempt.result["dimensions"]) + len(attempt.result["indicators"])
    trainer = db.session.scalar(select(User).where(User.username == "trainer"))
    cohorts = list(db.session.scalars(select(Cohort).where(Cohort.name.like("规模%")).order_by(Cohort.id)))
    assert [c.owner_id for c in cohorts] == [trainer.id] * 3
    sizes = [
        db.session.scalar(
            select(func.count()).select_from(CohortMembership).where(CohortMembership.cohort_id == c.id)
        )
        for c in cohorts
    ]
    assert sizes == [20, 10, 12]
    for cohort in cohorts:
        assignment = db.session.scalar(
            select(CohortAssignment).where(CohortAssignment.cohort_id == cohort.id)
        )
        summary = cohort_summary.summary(assignment)
        assert summary.graded == summary.members and summary.not_started == 0
        assert sum(summary.distribution["overall"].values()) == summary.members
    # A second run adds new people beside the first ones.
    again = runner.invoke(seed_scale_command, ["--teachers", "2"])
    assert again.exit_code == 0, again.output
    assert (
        db.session.scalar(select(func.count()).select_from(User).where(User.username.like("scale-%"))) == 44
    )
    bad = runner.invoke(seed_scale_command, ["--teachers", "-1"])
    assert bad.exit_code != 0
