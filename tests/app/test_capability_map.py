"""The capability map pages: a teacher's own map, a job profile against a student, a cohort's map."""

from __future__ import annotations

import re
from datetime import timedelta
from xml.etree import ElementTree

from competency.extensions import db
from competency.models import Cohort, CohortAssignment, CohortMembership, utcnow
from competency.services import capability_map, plans
from competency.services.resources import seed_resources
from tests.app.conftest import login
from tests.app.outcomes_factory import make_assessment, make_attempt

DIMS = {"T1": "L3", "T2": "L2", "T3": "L4", "T4": "L2", "T5": "L1"}
INDICATORS = {"T1.1.1": "L3", "T3.1.2": "L1", "T2.1.1": "L4"}


def _teacher_with_results(make_user):
    seed_resources(lambda _m: None)
    teacher = make_user(
        "teacher", "wang", display_name="王老师", teacher_category="public_course", career_stage="proficient"
    )
    attempt = make_attempt(teacher, make_assessment(), DIMS, INDICATORS, overall="L2")
    plans.build_for_attempt(attempt)
    db.session.commit()
    return teacher, attempt


def test_service_builds_the_teacher_map_with_levels_targets_and_prerequisites(app, make_user):
    teacher, _attempt = _teacher_with_results(make_user)
    cmap = capability_map.person_map(teacher)
    assert [d.code for d in cmap.dimensions] == ["T1", "T2", "T3", "T4", "T5"]
    assert len(cmap.indicators) == 33 and len(cmap.dimensions[0].groups) >= 2  # sub-dimensions
    t312 = cmap.indicators["T3.1.2"]
    assert t312.level == "L1" and t312.target is not None and t312.status == "below" and t312.gap >= 1
    assert cmap.indicators["T2.1.1"].status == "met"
    assert cmap.indicators["T5.2.2"].status == "unmeasured"
    assert ("T1.1.1", "T1.1.2") in cmap.edges and "T1.1.1" in cmap.indicators["T1.1.2"].prerequisites
    assert cmap.has_results


def test_teacher_sees_the_map_and_an_indicator_in_focus(client, make_user):
    _teacher, attempt = _teacher_with_results(make_user)
    login(client, "wang")
    page = client.get("/map").get_data(as_text=True)
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    root = ElementTree.fromstring(svg)  # well-formed SVG with a name and a description
    assert root.get("aria-labelledby") == "capmap-title capmap-desc"
    links = re.findall(r'<a href="([^"]+)" class="capmap-node" data-code="([^"]+)"', svg)
    assert len(links) == 33 and all("focus=" in href for href, _code in links)
    # Each box says its state in words, not colour alone.
    assert re.search(r'data-code="T3.1.2"[^>]*aria-label="T3.1.2 [^"]*L1 / [^"]*L\d', svg)
    # The equivalent table lists every indicator with its state.
    assert page.count("<tr data-code=") == 33
    assert 'data-code="T2.1.1" data-status="met"' in page
    # In focus: the descriptors, the evidence from the attempt and the plan tasks for the indicator.
    focused = client.get("/map?focus=T3.1.2").get_data(as_text=True)
    assert 'id="detail"' in focused and 'aria-current="true"' in focused
    assert 'id="descriptors"' in focused and len(re.findall(r"<tr[^>]* data-level=", focused)) == 6
    assert f'data-attempt="{attempt.id}"' in focused
    assert 'id="plan-tasks"' in focused
    # An unknown code is ignored rather than an error.
    assert client.get("/map?focus=nope").status_code == 200


def test_student_compares_a_job_profile_with_their_levels(client, make_user):
    student = make_user("student", "li", target_role="J-BD-01")
    job = make_assessment(
        "JOB-BD", scale="job", kind="job_skill", role_code="J-BD-01", dimensions=["J-BD-01"]
    )
    make_attempt(student, job, {"J-BD-01": "J1"}, {"S1.2": "J2", "S1.3": "J1"}, overall="J1")
    login(client, "li")
    page = client.get("/map/jobs/J-BD-01").get_data(as_text=True)
    assert "大数据分析员" in page
    assert 'data-code="S1.2" data-status="met"' in page  # requires J2, has J2
    assert 'data-code="S1.3" data-status="below"' in page  # requires J3, has J1
    assert 'data-code="S0.1" data-status="not_required"' in page
    assert client.get("/map/jobs/").status_code == 200
    assert client.get("/map/jobs/J-NOPE-01").status_code == 404
    mine = client.get("/map").get_data(as_text=True)
    assert 'data-code="S1.3" data-status="below"' in mine  # the student's own role sets the targets


def test_trainer_sees_the_cohort_distribution(client, make_user, institution):
    trainer = make_user("trainer", "coach")
    cohort = Cohort(name="提升班", institution_id=institution.id, owner_id=trainer.id)
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
    for name, level in (("a", "L1"), ("b", "L3"), ("c", "L3")):
        user = make_user("teacher", name)
        db.session.add(CohortMembership(cohort_id=cohort.id, user_id=user.id))
        db.session.commit()
        make_attempt(user, assessment, DIMS, {"T3.1.2": level}, overall="L2")
    login(client, "coach")
    page = client.get(f"/trainer/cohorts/{cohort.id}/map").get_data(as_text=True)
    row = re.search(r'<tr data-code="T3.1.2".*?</tr>', page, re.S).group(0)
    assert "L1: 1" in row and "L3: 2" in row and "L3 · " in row  # median L3, shown with its name
    assert "3 位成员" in page or "3 members" in page


def test_staff_see_a_job_profiles_requirements(client, make_user):
    make_user("trainer", "coach")
    login(client, "coach")
    page = client.get("/map/jobs/J-BD-01?focus=S1.3").get_data(as_text=True)
    assert 'action="/logout"' in page  # the page keeps the logged-in header
    assert 'data-code="S1.3" data-status="unmeasured"' in page  # required, nobody's level shown
    assert 'data-code="S0.1" data-status="not_required"' in page
    assert 'id="evidence"' not in page and 'id="detail"' in page
