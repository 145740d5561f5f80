"""Trainer tools: assigning with a window, cohort results, layering, re-assessment, imports, dashboards."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from competency.extensions import db
from competency.models import AuditEvent, Cohort, CohortAssignment, CohortMembership, Plan, utcnow
from competency.services import cohort_results, cohort_summary, layering
from competency.services.resources import seed_resources
from tests.app.conftest import csrf_from, login
from tests.app.outcomes_factory import make_assessment, make_attempt

LEVELS = {
    "t_low": ({"T1": "L1", "T2": "L2", "T3": "L2", "T4": "L1", "T5": "L1"}, "L1"),
    "t_mid": ({"T1": "L3", "T2": "L4", "T3": "L3", "T4": "L4", "T5": "L3"}, "L3"),
    "t_high": ({"T1": "L5", "T2": "L5", "T3": "L6", "T4": "L5", "T5": "L5"}, "L5"),
}


@pytest.fixture
def setup(app, make_user, institution):
    seed_resources(lambda _m: None)
    trainer = make_user("trainer", "coach")
    people = {name: make_user("teacher", name, display_name=f"教师{name}") for name in [*LEVELS, "t_none"]}
    cohort = Cohort(name="提升班", institution_id=institution.id, owner_id=trainer.id)
    db.session.add(cohort)
    db.session.flush()
    for user in people.values():
        db.session.add(CohortMembership(cohort_id=cohort.id, user_id=user.id))
    assessment = make_assessment()
    assignment = CohortAssignment(
        cohort_id=cohort.id,
        assessment_id=assessment.id,
        opens_at=utcnow() - timedelta(days=2),
        closes_at=utcnow() + timedelta(days=2),
    )
    db.session.add(assignment)
    db.session.commit()
    for name, (dims, overall) in LEVELS.items():
        make_attempt(people[name], assessment, dims, {"T3.1.2": dims["T3"], "T1.1.1": dims["T1"]}, overall)
    return trainer, people, cohort, assessment, assignment


def test_assign_with_a_window(client, setup):
    _trainer, _people, cohort, assessment, _assignment = setup
    login(client, "coach")
    url = f"/trainer/cohorts/{cohort.id}"
    token = csrf_from(client, url)
    bad = client.post(
        f"{url}/assign",
        data={
            "csrf_token": token,
            "assign-assessment_id": assessment.id,
            "assign-opens_on": "2026-12-10",
            "assign-closes_on": "2026-12-01",
            "assign-baseline_id": "0",
        },
    )
    assert bad.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(CohortAssignment)) == 1
    ok = client.post(
        f"{url}/assign",
        data={
            "csrf_token": token,
            "assign-assessment_id": assessment.id,
            "assign-opens_on": "2026-12-01",
            "assign-closes_on": "2026-12-10",
            "assign-baseline_id": "0",
        },
    )
    assert ok.status_code == 302
    row = db.session.scalars(select(CohortAssignment).order_by(CohortAssignment.id.desc())).first()
    # Whole days in Asia/Shanghai: 1 December 00:00 there is 30 November 16:00 UTC.
    assert (row.opens_at.day, row.opens_at.hour) == (30, 16)
    assert row.closes_at - row.opens_at == timedelta(days=10) - timedelta(seconds=1)
    db.session.refresh(assessment)
    assert "cohort_ids" not in (assessment.audience or {})  # an assignment never edits the audience
    assert "cohort.assign" in set(db.session.scalars(select(AuditEvent.action)))


def test_results_distribution_heatmap_and_not_started(client, setup):
    _trainer, people, cohort, assessment, assignment = setup
    make_attempt(
        people["t_none"], make_assessment("OTHER"), {"T1": "L2"}
    )  # another assessment does not count
    res = cohort_results.results(assignment)
    assert [m.user.username for m in res.not_started] == ["t_none"]
    dist = res.distribution()
    assert dist["overall"] == {"L1": 1, "L2": 0, "L3": 1, "L4": 0, "L5": 1, "L6": 0}
    assert dist["T2"]["L2"] == dist["T2"]["L4"] == dist["T2"]["L5"] == 1
    login(client, "coach")
    page = client.get(f"/trainer/cohorts/{cohort.id}/assignments/{assignment.id}").get_data(as_text=True)
    assert page.count('role="img"') == 1 and "<title id=" in page  # the heat map is an HTML table
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        root = ElementTree.fromstring(svg)  # well-formed, with an accessible name and description
        assert root.get("aria-labelledby") and root.find("{http://www.w3.org/2000/svg}desc").text
    assert '<td data-level="L3">1</td>' in page
    assert re.search(r'data-member="t_mid">.*?data-indicator="T3.1.2"[^>]*>L3<', page, re.S)
    # Full names on hover and in the list; the scroll region is focusable and labelled.
    assert 'title="T3.1.2 ' in page and 'role="region"' in page and 'tabindex="0"' in page
    # Sorted by one indicator, lowest first: t_low (L2) before t_mid (L3) before t_high (L6).
    url = f"/trainer/cohorts/{cohort.id}/assignments/{assignment.id}"
    by_ind = client.get(f"{url}?hsort=T3.1.2").get_data(as_text=True)
    order = re.findall(r'<tr data-member="(t_\w+)"><th scope="row" class="sticky-col">', by_ind)
    assert order == ["t_low", "t_mid", "t_high"]
    strongest = client.get(f"{url}?hsort=strongest").get_data(as_text=True)
    assert (
        re.findall(r'<tr data-member="(t_\w+)"><th scope="row" class="sticky-col">', strongest)[0] == "t_high"
    )
    assert 'id="not-started"' in page and 'data-member="t_none"' in page
    assert '<dd data-count="graded">3</dd>' in page


def test_layering_assigns_templates_and_tracks_progress(client, setup):
    _trainer, people, cohort, _assessment, assignment = setup
    login(client, "coach")
    token = csrf_from(client, f"/trainer/cohorts/{cohort.id}")
    response = client.post(
        f"/trainer/cohorts/{cohort.id}/layers",
        data={"csrf_token": token, "layer-assignment_id": assignment.id, "layer-basis": "overall"},
    )
    assert response.status_code == 302
    layers = {m.user.username: m.layer for m in db.session.scalars(select(CohortMembership))}
    assert layers == {"t_low": "PT-T-L12", "t_mid": "PT-T-L34", "t_high": "PT-T-L56", "t_none": None}
    plan = db.session.scalar(select(Plan).where(Plan.user_id == people["t_mid"].id))
    assert plan.template_code == "PT-T-L34" and plan.cohort_id == cohort.id and len(plan.stages) == 3
    plan.tasks[0].done_at = utcnow()
    db.session.commit()
    page = client.get(f"/trainer/cohorts/{cohort.id}").get_data(as_text=True)
    assert f'data-member="t_mid" data-layer="PT-T-L34" data-done="1" data-total="{len(plan.tasks)}"' in page
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "cohort.layering"))
    assert audit.detail["layers"] == {"PT-T-L12": 1, "PT-T-L34": 1, "PT-T-L56": 1}
    # The trainer gives the top layer another path; a student path is refused for teachers.
    refused = client.post(
        f"/trainer/cohorts/{cohort.id}/layers/path",
        data={"csrf_token": token, "path-layer": "PT-T-L56", "path-template": "PT-S-J2"},
    )
    assert refused.status_code == 400
    changed = client.post(
        f"/trainer/cohorts/{cohort.id}/layers/path",
        data={"csrf_token": token, "path-layer": "PT-T-L56", "path-template": "PT-T-L34"},
    )
    assert changed.status_code == 302
    assert db.session.get(CohortMembership, (cohort.id, people["t_high"].id)).layer == "PT-T-L34"
    high = db.session.scalars(select(Plan).where(Plan.user_id == people["t_high"].id).order_by(Plan.id)).all()
    assert [(p.template_code, p.archived_at is None) for p in high] == [
        ("PT-T-L56", False),
        ("PT-T-L34", True),
    ]
    # Layering again by one dimension archives the earlier layer plans instead of piling them up.
    layering.layer_cohort(cohort, assignment, "T2", _trainer)
    current = db.session.scalars(
        select(Plan).where(Plan.cohort_id == cohort.id, Plan.archived_at.is_(None))
    ).all()
    assert len(current) == 3
    assert db.session.get(CohortMembership, (cohort.id, people["t_low"].id)).layer == "PT-T-L12"  # T2 = L2
    assert db.session.get(CohortMembership, (cohort.id, people["t_mid"].id)).layer == "PT-T-L34"  # T2 = L4


def test_student_layers_prefer_the_role_template(app, make_user, institution):
    seed_resources(lambda _m: None)
    trainer = make_user("trainer", "coach")
    cohort = Cohort(name="大数据班", institution_id=institution.id)
    db.session.add(cohort)
    assessment = make_assessment(
        "JOB-BD", scale="job", kind="job_skill", role_code="J-BD-01", dimensions=["J-BD-01"]
    )
    assignment = CohortAssignment(
        cohort=cohort,
        assessment=assessment,
        opens_at=utcnow() - timedelta(days=1),
        closes_at=utcnow() + timedelta(days=1),
    )
    db.session.add(assignment)
    db.session.flush()
    for name, level in (("s0", "J0"), ("s1", "J1"), ("s3", "J3")):
        student = make_user("student", name)
        db.session.add(CohortMembership(cohort_id=cohort.id, user_id=student.id))
        make_attempt(student, assessment, {"J-BD-01": level}, overall=level)
    outcome = layering.layer_cohort(cohort, assignment, "overall", trainer)
    assert {code: [u.username for u in users] for code, users in outcome.layers.items()} == {
        "PT-S-J01": ["s0"],
        "PT-S-J-BD-01": ["s1"],
        "PT-S-J3": ["s3"],
    }


def test_bad_layering_changes_nothing(client, setup):
    _trainer, _people, cohort, _assessment, assignment = setup
    login(client, "coach")
    token = csrf_from(client, f"/trainer/cohorts/{cohort.id}")
    response = client.post(
        f"/trainer/cohorts/{cohort.id}/layers",
        data={"csrf_token": token, "layer-assignment_id": assignment.id, "layer-basis": "S9"},
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0


def test_reassessment_compares_before_and_after(setup):
    trainer, people, cohort, assessment, first = setup
    first.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    second = cohort_results.assign(
        cohort, assessment.id, utcnow(), utcnow() + timedelta(days=7), trainer, baseline_id=first.id
    )
    make_attempt(
        people["t_low"],
        assessment,
        {"T1": "L3", "T2": "L3"},
        overall="L3",
        started_at=utcnow() + timedelta(minutes=1),
    )
    make_attempt(
        people["t_mid"], assessment, {"T1": "L3"}, overall="L3", started_at=utcnow() + timedelta(minutes=1)
    )
    comparison = cohort_results.compare(second)
    changes = {r["user"].username: r["change"] for r in comparison.rows}
    assert changes == {"t_low": 2, "t_mid": 0}
    assert comparison.mean_change == 1.0
    # The paged comparison of the results page agrees, its mean taken over everyone by the database.
    paged = cohort_summary.comparison(second)
    assert {r["user"].username: r["change"] for r in paged.page.rows} == changes
    assert paged.mean_change == 1.0 and paged.page.total == 2
    with pytest.raises(Exception, match="re-assessment opens after"):
        cohort_results.assign(
            cohort, assessment.id, utcnow() - timedelta(days=5), utcnow(), trainer, baseline_id=second.id
        )


def _xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_import_is_all_or_nothing_with_row_errors(client, setup, make_user, other_institution):
    _trainer, _people, cohort, _assessment, _assignment = setup
    make_user("teacher", "new1")
    make_user("student", "new2")
    make_user("trainer", "coach2")
    make_user("teacher", "foreigner", inst=other_institution)
    login(client, "coach")
    url = f"/trainer/cohorts/{cohort.id}/import"
    token = csrf_from(client, f"/trainer/cohorts/{cohort.id}")
    bad_csv = "username,备注\nnew1,ok\nghost,\ncoach2,\nforeigner,\nnew1,again\n".encode("utf-8-sig")
    response = client.post(
        url,
        data={"csrf_token": token, "import-file": (io.BytesIO(bad_csv), "class.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert [int(n) for n in re.findall(r'data-row="(\d+)"', page)] == [3, 4, 5, 6]
    before = db.session.scalar(select(func.count()).select_from(CohortMembership))
    assert before == 4
    good = _xlsx([["username"], ["new1"], ["new2"], ["t_low"], [None]])
    response = client.post(
        url,
        data={"csrf_token": token, "import-file": (io.BytesIO(good), "class.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(CohortMembership)) == 6
    assert (
        db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "cohort.import"))["added"] == 2
    )
    broken = client.post(
        url,
        data={"csrf_token": token, "import-file": (io.BytesIO(b"PK\x03\x04garbage"), "x.xlsx")},
        content_type="multipart/form-data",
    )
    assert broken.status_code == 400
    no_column = client.post(
        url,
        data={"csrf_token": token, "import-file": (io.BytesIO(b"name\nnew1\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert no_column.status_code == 400
    huge = ("username\n" + "new1\n" * 2001).encode()
    too_many = client.post(
        url,
        data={"csrf_token": token, "import-file": (io.BytesIO(huge), "x.csv")},
        content_type="multipart/form-data",
    )
    assert too_many.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(CohortMembership)) == 6


def test_foreign_trainer_reaches_nothing(client, setup, make_user, other_institution):
    _trainer, _people, cohort, assessment, assignment = setup
    make_user("trainer", "outsider", inst=other_institution)
    login(client, "outsider")
    token = csrf_from(client, "/home")
    base = f"/trainer/cohorts/{cohort.id}"
    for url in (base, f"{base}/assignments/{assignment.id}", f"{base}/export?what=members"):
        assert client.get(url).status_code == 404, url
    posts = {
        f"{base}/assign": {
            "assign-assessment_id": assessment.id,
            "assign-opens_on": "2026-12-01",
            "assign-closes_on": "2026-12-10",
        },
        f"{base}/layers": {"layer-assignment_id": assignment.id, "layer-basis": "overall"},
        f"{base}/import": {"import-file": (io.BytesIO(b"username\nt_low\n"), "a.csv")},
    }
    for url, data in posts.items():
        assert (
            client.post(
                url, data={"csrf_token": token, **data}, content_type="multipart/form-data"
            ).status_code
            == 404
        ), url
    assert db.session.scalar(select(func.count()).select_from(CohortAssignment)) == 1
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0


def test_institution_dashboard(client, setup, make_user):
    _trainer, people, *_ = setup
    people["t_low"].department = "公共基础部"
    people["t_low"].teacher_category = "public_course"
    people["t_mid"].department = "信息工程学院"
    db.session.commit()
    make_user("institution_admin", "ia")
    login(client, "ia")
    page = client.get("/trainer/institution").get_data(as_text=True)
    assert '<dd data-count="teachers">4</dd>' in page and '<dd data-count="assessed">3</dd>' in page
    assert re.search(
        r'id="dash-department-table".*?data-key="公共基础部">.*?<td data-level="L1">1</td>', page, re.S
    )
    assert page.count('role="img"') == 3


def _options(page: str, select_id: str) -> list[str]:
    block = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return re.findall(r'<option[^>]*value="([^"]*)"', block)


def test_templates_and_assessments_offered_fit_the_cohort(client, setup, make_user, institution):
    """A teacher cohort is offered teacher paths and the teacher assessment; a big-data student cohort
    the general student paths and the big-data job path, never the industrial-robot one."""
    from competency.models import Assessment
    from competency.services import cohort_fit

    _trainer, _people, cohort, assessment, assignment = setup
    job = make_assessment(
        "JOB-BD", scale="job", kind="job_skill", role_code="J-BD-01", dimensions=["J-BD-01"]
    )
    robot = make_assessment(
        "JOB-IM", scale="job", kind="job_skill", role_code="J-IM-01", dimensions=["J-IM-01"]
    )
    login(client, "coach")
    layering.layer_cohort(cohort, assignment, "overall", _trainer)
    page = client.get(f"/trainer/cohorts/{cohort.id}").get_data(as_text=True)
    assert _options(page, "path-template") == ["PT-T-L12", "PT-T-L34", "PT-T-L56"]
    assert _options(page, "assign-assessment_id") == [str(assessment.id)]
    assert re.search(
        rf'<option selected value="{assessment.id}"|<option value="{assessment.id}" selected', page
    )
    # Names, not codes: the layer and template choices read as titles.
    assert "教师数字素养中级路径" in page and ">PT-T-L34<" not in page

    students = Cohort(name="大数据2401", institution_id=institution.id)
    db.session.add(students)
    db.session.flush()
    for name in ("bd1", "bd2"):
        user = make_user("student", name, target_role="J-BD-01")
        db.session.add(CohortMembership(cohort_id=students.id, user_id=user.id, layer="PT-S-J2"))
    db.session.commit()
    who = cohort_fit.profile(students)
    assert who.kind == "student" and who.roles == {"J-BD-01"}
    page = client.get(f"/trainer/cohorts/{students.id}").get_data(as_text=True)
    offered = _options(page, "path-template")
    assert sorted(offered) == ["PT-S-J-BD-01", "PT-S-J01", "PT-S-J2", "PT-S-J3"]
    assert _options(page, "assign-assessment_id") == [str(job.id)]
    assert db.session.get(Assessment, robot.id) is not None
    # Submitting a path that does not fit says so by name and changes nothing.
    token = csrf_from(client, f"/trainer/cohorts/{students.id}")
    refused = client.post(
        f"/trainer/cohorts/{students.id}/layers/path",
        data={"csrf_token": token, "path-layer": "PT-S-J2", "path-template": "PT-S-J-IM-01"},
    )
    assert refused.status_code == 400
    with pytest.raises(layering.ServiceError) as err:
        layering.change_layer_template(students, "PT-S-J2", "PT-S-J-IM-01", _trainer)
    assert err.value.code == "template_does_not_fit" and "industrial-robot" in err.value.message
    assert {m.layer for m in students.memberships} == {"PT-S-J2"}
