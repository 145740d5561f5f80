"""Summary rows: grading, re-grading, joining and leaving a cohort and profile changes move the counts
in the same transaction, and the counts always equal a computation from scratch."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from competency.extensions import db
from competency.models import (
    AssignmentLevelCount,
    Attempt,
    Cohort,
    CohortAssignment,
    CohortMembership,
    InstitutionLevelCount,
    Role,
    User,
    utcnow,
)
from competency.services import cohort_fit, cohort_profile_rows, cohort_summary, dashboards, summary_rows
from tests.app.conftest import answer_for, api_token, start_attempt
from tests.app.outcomes_factory import make_assessment, make_attempt, result_for

DIMS = {"T1": "L2", "T2": "L2", "T3": "L3", "T4": "L2", "T5": "L1"}


@pytest.fixture
def world(app, make_user, institution):
    trainer = make_user("trainer", "coach")
    teachers = [make_user("teacher", f"t{i}", department="信息学院") for i in range(1, 6)]
    cohort = Cohort(name="汇总班", institution_id=institution.id, owner_id=trainer.id)
    db.session.add(cohort)
    db.session.flush()
    for user in teachers[:4]:
        db.session.add(CohortMembership(cohort_id=cohort.id, user_id=user.id))
    assessment = make_assessment()
    assignment = CohortAssignment(
        cohort_id=cohort.id,
        assessment_id=assessment.id,
        opens_at=utcnow() - timedelta(days=1),
        closes_at=utcnow() + timedelta(days=1),
    )
    db.session.add(assignment)
    db.session.commit()
    return institution, cohort, assessment, assignment, teachers


def _stored(assignment) -> dict:
    rows = db.session.execute(
        select(
            AssignmentLevelCount.kind,
            AssignmentLevelCount.code,
            AssignmentLevelCount.level,
            AssignmentLevelCount.members,
        ).where(  # fmt: skip
            AssignmentLevelCount.assignment_id == assignment.id, AssignmentLevelCount.members != 0
        )
    ).all()
    return {(k, c, lv): n for k, c, lv, n in rows}


def _from_scratch(assignment) -> dict:
    """What a rebuild computes (rolled back afterwards: the stored rows stay as the hook left them)."""
    summary_rows.rebuild_assignment(db.session.connection(), assignment)
    rebuilt = _stored(assignment)
    db.session.rollback()
    return rebuilt


def _naive_overall(assignment) -> Counter:
    """The old computation, in Python: each member's newest graded attempt in the window, by level."""
    members = set(
        db.session.scalars(
            select(CohortMembership.user_id).where(CohortMembership.cohort_id == assignment.cohort_id)
        )
    )
    newest: dict[int, Attempt] = {}
    for a in db.session.scalars(select(Attempt).where(Attempt.assessment_id == assignment.assessment_id)):
        inside = assignment.opens_at <= a.started_at <= assignment.closes_at
        if a.user_id in members and inside and a.status == "graded" and a.result is not None:
            best = newest.get(a.user_id)
            if best is None or (a.started_at, a.id) > (best.started_at, best.id):
                newest[a.user_id] = a
    return Counter(a.overall_level for a in newest.values())


def _check(assignment) -> dict:
    stored = _stored(assignment)
    assert stored == _from_scratch(assignment)
    overall = Counter({lv: n for (k, _c, lv), n in stored.items() if k == "o"})
    assert overall == _naive_overall(assignment)
    return stored


def test_grading_and_changes_move_the_assignment_counts(world):
    _inst, cohort, assessment, assignment, (t1, t2, t3, t4, t5) = world
    assert cohort_summary.summary(assignment).graded == 0  # first read builds the (empty) summary
    make_attempt(t1, assessment, DIMS, {"1.1.1": "L2"})
    stored = _check(assignment)  # counted by the grading transaction itself, no rebuild
    assert stored[("o", "overall", "L2")] == 1 and stored[("s", "started", "")] == 1
    assert stored[("i", "1.1.1", "L2")] == 1 and stored[("d", "T3", "L3")] == 1

    t2_attempt = make_attempt(t2, assessment, {**DIMS, "T1": "L3"}, overall="L3")
    make_attempt(t3, assessment, status="in_progress")
    make_attempt(t4, assessment, DIMS, started_at=utcnow() - timedelta(hours=3))
    newer = make_attempt(t4, assessment, {**DIMS, "T2": "L4"}, overall="L4")
    stored = _check(assignment)
    assert stored[("s", "started", "")] == 4 and stored[("o", "overall", "L4")] == 1
    assert ("o", "overall", "L2") in stored and stored[("o", "overall", "L2")] == 1  # t4's older one left

    t2_attempt.result = result_for(assessment, {**DIMS, "T1": "L1"}, overall="L1")  # a re-grade
    t2_attempt.overall_level = "L1"
    db.session.commit()
    stored = _check(assignment)
    assert ("o", "overall", "L3") not in stored and stored[("d", "T1", "L1")] == 1

    make_attempt(t5, assessment, DIMS, overall="L2")  # not a member yet: not counted
    assert _check(assignment)[("o", "overall", "L2")] == 1
    db.session.add(CohortMembership(cohort_id=cohort.id, user_id=t5.id))
    db.session.delete(db.session.get(CohortMembership, {"cohort_id": cohort.id, "user_id": t1.id}))
    db.session.commit()
    assert _check(assignment)[("o", "overall", "L2")] == 1  # t5 in, t1 out

    db.session.delete(newer)  # t4 falls back to the older attempt
    db.session.commit()
    stored = _check(assignment)
    assert ("o", "overall", "L4") not in stored and stored[("o", "overall", "L2")] == 2
    summary = cohort_summary.summary(assignment)
    assert (summary.members, summary.graded, summary.in_progress, summary.not_started) == (4, 3, 1, 0)


def test_a_new_assignment_counts_results_already_there(world):
    _inst, cohort, assessment, assignment, (t1, *_rest) = world
    make_attempt(t1, assessment, DIMS)
    again = CohortAssignment(cohort_id=cohort.id, assessment_id=assessment.id,
                             opens_at=assignment.opens_at, closes_at=assignment.closes_at)  # fmt: skip
    db.session.add(again)
    db.session.commit()
    assert _check(again)[("o", "overall", "L2")] == 1


def test_a_real_answer_that_ends_the_test_updates_the_counts(client, make_user, institution, job_assessment):
    student = make_user("student", "li")
    cohort = Cohort(name="学生班", institution_id=institution.id)
    db.session.add(cohort)
    db.session.flush()
    db.session.add(CohortMembership(cohort_id=cohort.id, user_id=student.id))
    assignment = CohortAssignment(cohort_id=cohort.id, assessment_id=job_assessment.id,
                                  opens_at=utcnow() - timedelta(days=1), closes_at=utcnow() + timedelta(days=1))  # fmt: skip
    db.session.add(assignment)
    db.session.commit()
    assert cohort_summary.summary(assignment).not_started == 1
    token = api_token(client, "li")
    body = start_attempt(client, token, job_assessment.id)
    assert _stored(assignment) == {("s", "started", ""): 1}
    item, attempt_id = body["item"], body["attempt"]["id"] if "attempt" in body else body["id"]
    while True:
        answer = {"position": item["position"], "item_id": item["item_id"], "answer": answer_for(item)}
        reply = client.post(f"/api/v1/attempts/{attempt_id}/responses", json=answer,
                            headers={"Authorization": f"Bearer {token}"}).get_json()  # fmt: skip
        if reply["finished"]:
            break
        item = reply["item"]
    stored = _check(assignment)
    level = db.session.get(Attempt, attempt_id).overall_level
    assert stored[("o", "overall", level or "")] == 1


def _naive_dashboard(institution_id: int) -> Counter:
    """The old computation: each teacher's latest graded teacher-scale attempt, by group and level."""
    latest: dict[int, Attempt] = {}
    for a in db.session.scalars(
        select(Attempt).where(Attempt.status == "graded", Attempt.overall_level.is_not(None))
    ):
        if a.assessment.scale != "teacher":
            continue
        best = latest.get(a.user_id)
        if best is None or (a.finished_at, a.id) > (best.finished_at, best.id):
            latest[a.user_id] = a
    out: Counter = Counter()
    for user_id, a in latest.items():
        u = db.session.get(User, user_id)
        if u.institution_id == institution_id and u.role == Role.TEACHER:
            out[(u.department or "", u.teacher_category or "", u.career_stage or "", a.overall_level)] += 1
    return out


def _dashboard_counts(institution_id: int) -> Counter:
    return Counter({tuple(r[:4]): r[4] for r in summary_rows.institution_counts(institution_id)})


def test_institution_counts_follow_grades_and_profiles(world, other_institution):
    inst, _cohort, assessment, _assignment, (t1, t2, t3, _t4, _t5) = world
    assert dashboards.institution_dashboard(inst.id).assessed == 0  # builds the summary
    make_attempt(t1, assessment, DIMS, overall="L2")
    make_attempt(t2, assessment, DIMS, overall="L3")
    assert db.session.scalar(select(InstitutionLevelCount.teachers).where(
        InstitutionLevelCount.institution_id == inst.id, InstitutionLevelCount.level == "L3")) == 1  # fmt: skip
    make_attempt(t1, assessment, DIMS, overall="L4", started_at=utcnow() - timedelta(minutes=5))  # newer
    t2.department, t2.teacher_category = "公共基础部", "public_course"
    t3.role = Role.STUDENT.value  # no longer counted (has no result anyway)
    db.session.commit()
    assert _dashboard_counts(inst.id) == _naive_dashboard(inst.id)
    t1.institution_id = other_institution.id  # moves with the teacher
    db.session.commit()
    assert _dashboard_counts(inst.id) == _naive_dashboard(inst.id)
    assert _dashboard_counts(other_institution.id) == _naive_dashboard(other_institution.id)
    board = dashboards.institution_dashboard(inst.id)
    assert board.assessed == 1 and board.overall["L3"] == 1
    by_department = next(b for b in board.breakdowns if b.key == "department")
    assert by_department.groups["公共基础部"]["L3"] == 1
    before = _dashboard_counts(inst.id)
    summary_rows.rebuild_institution(db.session.connection(), inst.id)
    assert _dashboard_counts(inst.id) == before


def _composition(cohort_id: int) -> Counter:
    return Counter({row[:3]: row[3] for row in cohort_profile_rows.counts(cohort_id)})


def _composition_from_scratch(cohort_id: int) -> Counter:
    rows = db.session.execute(
        select(User.role, User.target_role, User.specialty_industry)
        .join(CohortMembership, CohortMembership.user_id == User.id)
        .where(CohortMembership.cohort_id == cohort_id)
    ).all()
    return Counter((role, target, industry) for role, target, industry in rows)


def test_cohort_composition_follows_members_and_profiles(world, make_user):
    _inst, cohort, _assessment, _assignment, (t1, t2, _t3, _t4, t5) = world
    assert _composition(cohort.id) == Counter({("teacher", None, None): 4})  # built on first read
    students = [make_user("student", f"s{i}", target_role="J-BD-01") for i in range(5)]
    for s in students:
        db.session.add(CohortMembership(cohort_id=cohort.id, user_id=s.id))
    db.session.delete(db.session.get(CohortMembership, {"cohort_id": cohort.id, "user_id": t1.id}))
    t2.specialty_industry = "大数据"
    db.session.commit()
    assert _composition(cohort.id) == _composition_from_scratch(cohort.id)
    t5.role = Role.STUDENT.value  # not a member: nothing moves
    students[0].target_role = "J-AI-01"
    db.session.add(CohortMembership(cohort_id=cohort.id, user_id=t5.id))
    db.session.commit()
    assert _composition(cohort.id) == _composition_from_scratch(cohort.id)
    who = cohort_fit.profile(cohort)
    assert (
        who.kind == "student" and who.roles >= {"J-BD-01", "J-AI-01"} and "大数据" in who.industries
    )  # t2, a teacher member
