"""Pages and exports send as many SQL statements for 100 cohort members as for 10: no query per member.

A cohort is built at 10 members, every page and export is requested and its statements counted; then
90 more members join (graded, in progress and not started alike, with layer plans) and the counts
must be the same. An N+1 that comes back fails here whatever the machine's speed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from competency.extensions import db
from competency.models import (
    Attempt,
    Cohort,
    CohortAssignment,
    CohortMembership,
    Response,
    User,
    utcnow,
)
from competency.services.resources import seed_resources
from tests.app.conftest import csrf_from, login
from tests.app.outcomes_factory import make_assessment, result_for

LEVELS = ["L1", "L2", "L3", "L4", "L5", "L6"]
DEPARTMENTS = ["信息工程系", "机电系", "商贸系"]


def _add_members(cohort, assessment, institution, start: int, n: int) -> None:
    """``n`` teachers in the cohort: two of three graded (with responses), then in progress, not started."""
    now = utcnow()
    users = [
        User(
            username=f"m{start + i:04d}",
            display_name=f"成员{start + i:04d}",
            password_hash="-",
            role="teacher",
            institution_id=institution.id,
            department=DEPARTMENTS[i % 3],
            teacher_category="public_course",
            career_stage="novice",
        )
        for i in range(n)
    ]
    db.session.add_all(users)
    db.session.flush()
    attempts = []
    for i, user in enumerate(users):
        db.session.add(CohortMembership(cohort_id=cohort.id, user_id=user.id))
        kind = i % 3
        if kind == 2:
            continue
        level = LEVELS[i % 6]
        attempt = Attempt(
            assessment_id=assessment.id,
            user_id=user.id,
            status="graded" if kind == 0 else "in_progress",
            started_at=now - timedelta(minutes=30),
            state={},
            engine={},
            param_versions={},
        )
        if kind == 0:
            attempt.finished_at = now - timedelta(minutes=5)
            attempt.result = result_for(
                assessment,
                {"T1": level, "T2": level, "T3": level, "T4": level, "T5": level},
                {"T1.1.1": level, "T3.1.2": level},
                level,
            )
            attempt.overall_level = level
        attempts.append(attempt)
    db.session.add_all(attempts)
    db.session.flush()
    for attempt in attempts:
        for position in (1, 2):
            db.session.add(
                Response(
                    attempt_id=attempt.id,
                    position=position,
                    item_code=f"T-1.1.1-0{position}",
                    param_version=1,
                    answer={"value": "B"},
                    score=position % 2,
                )
            )
    db.session.commit()


@pytest.fixture
def world(app, make_user, institution):
    seed_resources(lambda _m: None)
    make_user("trainer", "coach")
    make_user("institution_admin", "boss")
    cohort = Cohort(name="规模班", institution_id=institution.id)
    db.session.add(cohort)
    db.session.flush()
    assessment = make_assessment()
    assignment = CohortAssignment(
        cohort_id=cohort.id,
        assessment_id=assessment.id,
        opens_at=utcnow() - timedelta(days=2),
        closes_at=utcnow() + timedelta(days=2),
    )
    db.session.add(assignment)
    db.session.commit()
    return cohort, assessment, assignment, institution


def _counts(app, count_queries, cohort, assignment) -> dict[str, int]:
    base = f"/trainer/cohorts/{cohort.id}"
    export = f"{base}/export?assignment={assignment.id}"
    urls = {
        "results page": (f"{base}/assignments/{assignment.id}", "coach"),
        "cohort page": (base, "coach"),
        "members page": (f"/cohorts/{cohort.id}", "coach"),
        "responses xlsx": (f"{export}&what=responses&format=xlsx", "coach"),
        "responses csv": (f"{export}&what=responses&format=csv", "coach"),
        "results csv": (f"{export}&what=results&format=csv", "coach"),
        "results xlsx": (f"{export}&what=results&format=xlsx", "coach"),
        "members export": (f"{base}/export?what=members&format=csv", "coach"),
        "institution dashboard": ("/trainer/institution", "boss"),
        "user list": ("/admin/users", "boss"),
    }
    clients = {who: app.test_client() for who in ("coach", "boss")}
    for who, c in clients.items():
        login(c, who)
    counts = {}
    for name, (url, who) in urls.items():
        client = clients[who]
        client.get(url)  # warm: the first request of a user loads what later ones reuse
        with count_queries as c:
            response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = c.count
    client = clients["coach"]
    token = csrf_from(client, base)
    with count_queries as c:
        response = client.post(
            f"{base}/layers",
            data={"csrf_token": token, "layer-assignment_id": assignment.id, "layer-basis": "overall"},
        )
    assert response.status_code == 302
    counts["layering"] = c.count
    return counts


def test_statement_counts_do_not_grow_with_the_cohort(app, count_queries, world):
    cohort, assessment, assignment, institution = world
    _add_members(cohort, assessment, institution, 0, 10)
    small = _counts(app, count_queries, cohort, assignment)
    _add_members(cohort, assessment, institution, 10, 90)
    large = _counts(app, count_queries, cohort, assignment)
    grew = {name: (small[name], large[name]) for name in small if large[name] != small[name]}
    assert not grew, f"statements per request grew from 10 to 100 members: {grew}"
    assert all(n < 40 for n in large.values()), large
    assert db.session.query(CohortMembership).count() == 100
