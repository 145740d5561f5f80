"""Improvement plans: gaps → prerequisite-ordered stages with resources; the API; ticking tasks; bad input."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from competency import graph
from competency.extensions import db
from competency.models import Attempt, PathTemplate, Plan, Resource
from competency.services import plans
from competency.services.resources import CATALOG_DIR, seed_resources
from tests.app.conftest import api_token, csrf_from, login
from tests.app.outcomes_factory import make_assessment, make_attempt

LOW = {"T1": "L2", "T2": "L2", "T3": "L2", "T4": "L2", "T5": "L2"}


@pytest.fixture
def catalog(app):
    seed_resources(lambda _msg: None)
    db.session.commit()


@pytest.fixture
def teacher(make_user):
    return make_user("teacher", "wang", teacher_category="public_course", career_stage="backbone")


@pytest.fixture
def plan(catalog, teacher):
    attempt = make_attempt(teacher, make_assessment(), LOW, {"T3.1.2": "L3", "T1.1.1": "L4"})
    built = plans.build_for_attempt(attempt)
    db.session.commit()
    return built


def test_seed_is_idempotent_and_covers_the_maps(app):
    messages: list[str] = []
    seed_resources(messages.append)
    db.session.commit()
    assert messages == ["resources: 188 added, 0 updated", "path templates: 8 added, 0 updated"]
    seed_resources(messages.append)
    db.session.commit()
    assert messages[-2:] == ["resources: 0 added, 0 updated", "path templates: 0 added, 0 updated"]
    assert db.session.scalar(select(func.count()).select_from(Resource)) >= 150
    assert db.session.scalar(select(func.count()).select_from(PathTemplate)) == 8
    rows = list(db.session.scalars(select(Resource)))
    nodes = {n for r in rows for n in r.nodes}
    assert set(graph.nodes_of_kind(graph.teacher_map(), "indicator")) <= nodes
    assert {p.code for p in graph.job_profiles()} <= {role for r in rows for role in r.roles}
    assert {r.kind for r in rows} == {"micro_lecture", "online_course", "training_project", "teaching_case"}
    source = json.loads((CATALOG_DIR / "resources.json").read_text(encoding="utf-8"))["resources"]
    assert len(source) == len(rows)


def test_teacher_plan_follows_targets_and_prerequisites(plan, teacher):
    targets = graph.teacher_targets("public", "backbone", indicators=True)
    # Measured L4 on T1.1.1 meets its L4 target; T3.1.2 at L3 still misses L4; the rest sit at their dimension's L2.
    codes = [t.nodes[0] for t in plan.tasks]
    assert "T1.1.1" not in codes and "T3.1.2" in codes
    assert plan.targets["T3.1.2"] == targets["T3.1.2"] == "L4" and plan.measured["T3.1.2"] == "L3"
    assert plan.targets["T3.4.1"] == "L5"  # the category's indicator override
    assert len(codes) == 32 and len(set(codes)) == 32
    stage_of = {t.nodes[0]: t.stage for t in plan.tasks}
    pre = graph.prerequisite_graph(graph.teacher_map())
    for a, b in pre.edges():
        if a in stage_of and b in stage_of:
            assert stage_of[a] < stage_of[b], (a, b)
    assert len(plan.stages) == max(stage_of.values()) + 1 >= 2
    catalog = {r.code: r for r in db.session.scalars(select(Resource))}
    codes_in_order = graph.level_scale("teacher").codes
    for task in plan.tasks:
        assert task.resources, task.nodes
        node = task.nodes[0]
        wanted = set(
            codes_in_order[
                codes_in_order.index(plan.measured[node]) + 1 : codes_in_order.index(plan.targets[node]) + 1
            ]
        )
        serving = [c for c in task.resources if wanted & set(catalog[c].levels)]
        # Resources at the levels to reach; a single nearest one only where the catalog has none.
        assert serving == task.resources or len(task.resources) == 1, (node, wanted, task.resources)
        assert all(task.nodes[0] in catalog[c].nodes for c in task.resources)
        assert task.hours == pytest.approx(sum(catalog[c].hours for c in task.resources), abs=0.05)
    assert plans.plan_for_attempt(plan.attempt_id).id == plan.id
    assert plans.build_for_attempt(db.session.get(Attempt, plan.attempt_id)).id == plan.id  # idempotent


def test_job_plan_uses_role_requirements_and_resources(catalog, make_user):
    student = make_user("student", "li")
    assessment = make_assessment(
        "JOB-BD", scale="job", kind="job_skill", role_code="J-BD-01", dimensions=["S1", "S4", "S5", "S6"]
    )
    attempt = make_attempt(
        student,
        assessment,
        {"S1": "J1", "S4": "J1", "S5": "J0", "S6": "J1"},
        {"S6.5": "J1", "S1.3": "J1", "S1.2": "J2"},
        overall="J1",
    )
    plan = plans.build_for_attempt(attempt)
    db.session.commit()
    gaps = {t.nodes[0]: t for t in plan.tasks}
    # S1.2 met, S4.2 met through its area, S3.1 not measured at all: none of them is planned.
    assert set(gaps) == {"S6.5", "S1.3", "S5.3"}
    assert plan.targets == {"S6.5": "J3", "S1.3": "J3", "S5.3": "J2"}
    role_resources = {r.code for r in db.session.scalars(select(Resource)) if "J-BD-01" in r.roles}
    assert set(gaps["S6.5"].resources) & role_resources


def test_targets_in_the_result_override_the_profile(catalog, teacher):
    assessment = make_assessment()
    attempt = make_attempt(teacher, assessment, {c: "L5" for c in LOW}, {"T3.1.2": "L5"})
    attempt.result = {
        **attempt.result,
        "indicators": [{**attempt.result["indicators"][0], "target": "L6", "met": False}],
    }
    db.session.commit()
    plan = plans.build_for_attempt(attempt)
    # backbone targets are at most L5 (all met at L5) except the result's own L6 target.
    assert [t.nodes[0] for t in plan.tasks] == ["T3.1.2"] and plan.targets == {"T3.1.2": "L6"}


def test_no_gaps_no_plan(catalog, make_user):
    teacher = make_user("teacher", "top", teacher_category="public_course", career_stage="novice")
    attempt = make_attempt(teacher, make_assessment(), {c: "L6" for c in LOW})
    assert plans.build_for_attempt(attempt) is None
    assert plans.build_for_attempt(make_attempt(teacher, make_assessment("X2"), status="in_progress")) is None


def test_api_returns_stages_with_tasks_and_resources(client, plan, make_user, other_institution):
    token = api_token(client, "wang")
    body = client.get(f"/api/v1/plans/{plan.id}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert len(body["stages"]) == len(plan.stages)
    first = body["stages"][0]
    assert set(first) >= {"title", "hours", "tasks"}
    assert first["hours"] == pytest.approx(sum(t["hours"] for t in first["tasks"]), abs=0.05)
    task = first["tasks"][0]
    assert set(task) >= {"node", "title", "resources"} and task["resources"][0]["code"].startswith("R-")
    make_user("trainer", "coach")
    coach = api_token(client, "coach")
    assert (
        client.get(f"/api/v1/plans/{plan.id}", headers={"Authorization": f"Bearer {coach}"}).status_code
        == 200
    )
    make_user("teacher", "peer")
    make_user("trainer", "foreign", inst=other_institution)
    for name in ("peer", "foreign"):
        other = api_token(client, name)
        assert (
            client.get(f"/api/v1/plans/{plan.id}", headers={"Authorization": f"Bearer {other}"}).status_code
            == 404
        )


def test_completing_a_stage_suggests_reassessment(client, plan):
    login(client, "wang")
    first_stage = [t for t in plan.tasks if t.stage == 0]
    token = csrf_from(client, f"/plans/{plan.id}")
    for task in first_stage:
        response = client.post(f"/plans/{plan.id}/tasks/{task.id}", data={"csrf_token": token, "done": "1"})
        assert response.status_code == 302
    page = client.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert 'id="reassessment-suggestion"' in page and 'data-stage="0" data-complete="true"' in page
    assert f'href="/assessments/{plan.attempt.assessment_id}"' in page
    assert plans.progress(db.session.get(Plan, plan.id)) == (len(first_stage), len(plan.tasks))
    api = api_token(client, "wang")
    headers = {"Authorization": f"Bearer {api}"}
    body = client.get(f"/api/v1/plans/{plan.id}", headers=headers).get_json()
    assert body["reassessment_suggested"] is True and body["stages"][0]["complete"] is True
    undo = client.post(
        f"/api/v1/plans/{plan.id}/tasks/{first_stage[0].id}", json={"done": False}, headers=headers
    )
    assert undo.get_json()["reassessment_suggested"] is False


def test_only_the_owner_ticks_tasks(client, plan, make_user):
    make_user("trainer", "coach")
    login(client, "coach")
    token = csrf_from(client, f"/plans/{plan.id}")
    task = plan.tasks[0]
    assert (
        client.post(f"/plans/{plan.id}/tasks/{task.id}", data={"csrf_token": token, "done": "1"}).status_code
        == 404
    )
    db.session.refresh(task)
    assert task.done_at is None


def test_plan_for_unfinished_attempt_is_refused(client, catalog, teacher):
    attempt = make_attempt(teacher, make_assessment(), status="in_progress")
    token = api_token(client, "wang")
    response = client.post(
        "/api/v1/plans", json={"attempt_id": attempt.id}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "attempt_not_graded"
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0
    login(client, "wang")
    form = csrf_from(client, "/plans/")
    refused = client.post(f"/plans/from-attempt/{attempt.id}", data={"csrf_token": form})
    assert refused.status_code == 302
    assert 'class="flash flash-error"' in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0


def test_plan_built_on_request_for_a_graded_attempt(client, catalog, teacher):
    attempt = make_attempt(teacher, make_assessment(), LOW)
    token = api_token(client, "wang")
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/plans", json={"attempt_id": attempt.id}, headers=headers)
    assert created.status_code == 201 and created.get_json()["attempt_id"] == attempt.id
    listed = client.get("/api/v1/plans", headers=headers).get_json()["plans"]
    assert [p["id"] for p in listed] == [created.get_json()["id"]]


def test_all_targets_met_is_said_plainly(client, catalog, make_user):
    teacher = make_user("teacher", "top", teacher_category="public_course", career_stage="novice")
    attempt = make_attempt(teacher, make_assessment(), {c: "L6" for c in LOW})
    login(client, "top")
    page = client.get("/plans/").get_data(as_text=True)
    assert f'data-all-met="{attempt.id}"' in page
    assert "所有目标均已达到" in page or "All targets met" in page
    assert "目前无需提升计划" in page or "No plan is needed right now." in page


def test_student_sees_the_current_plan_and_the_trainers(client, catalog, make_user, institution):
    from competency.models import Cohort

    student = make_user("student", "li", target_role="J-BD-01")
    job = make_assessment(
        "JOB-BD", scale="job", kind="job_skill", role_code="J-BD-01", dimensions=["J-BD-01"]
    )
    own = plans.build_for_attempt(make_attempt(student, job, {"J-BD-01": "J1"}, {"S1.3": "J1"}, overall="J1"))
    cohort = Cohort(name="大数据2401", institution_id=institution.id)
    db.session.add(cohort)
    db.session.flush()
    template = db.session.scalar(select(PathTemplate).where(PathTemplate.code == "PT-S-J-BD-01"))
    assigned = plans.from_template(student, template, cohort.id, measured={})
    db.session.commit()
    login(client, "li")
    page = client.get("/plans/").get_data(as_text=True)
    assert f'data-plan="{assigned.id}" data-current="true" data-source="template"' in page
    assert f'data-plan="{own.id}" data-current="false" data-source="attempt"' in page
    assert "大数据2401" in page
