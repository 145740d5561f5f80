"""Admins and trainers define, publish (with a simulation), archive and duplicate assessments."""

from __future__ import annotations

import re

from sqlalchemy import select

from competency.extensions import db
from competency.models import Assessment
from tests.app.conftest import csrf_from, login


def _form(**changes):
    data = {
        "code": "TR-JOB-SW",
        "title_zh": "软件测试员岗位能力评价（班级版）",
        "title_en": "Software tester readiness (class edition)",
        "kind": "job_skill",
        "role_code": "J-SW-01",
        "selector": "mfi",
        "estimator": "eap",
        "se_target": "0.4",
        "min_items": "10",
        "max_items": "25",
        "randomesque": "1",
        "cuts": "-1, 0, 1",
        "grade_rule": "composite",
        "max_attempts": "2",
        "wait_hours": "0",
        "audience_roles": ["student"],
        "certificate": "y",
        "certificate_min": "",
        "validity_years": "2",
    }
    data.update(changes)
    return data


def test_trainer_creates_and_publishes(client, make_user, bank):
    make_user("trainer", "zhou")
    login(client, "zhou")
    token = csrf_from(client, "/manage/assessments/new")
    response = client.post("/manage/assessments/new", data={**_form(), "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assessment = db.session.scalar(select(Assessment).where(Assessment.code == "TR-JOB-SW"))
    assert assessment.status == "draft" and assessment.institution_id is not None
    assert assessment.dimensions == ["J-SW-01"] and "S6.7" in assessment.nodes
    published = client.post(f"/manage/assessments/{assessment.id}/publish", data={"csrf_token": token})
    assert published.status_code == 302
    db.session.refresh(assessment)
    assert assessment.status == "published" and assessment.simulation["examinees"] > 0
    page = client.get(f"/manage/assessments/{assessment.id}").get_data(as_text=True)
    assert "<svg" in page and "<table>" in page  # the precision chart with its table
    edit = client.get(f"/manage/assessments/{assessment.id}/edit")
    assert edit.status_code == 302  # a published definition is frozen


def test_bad_form_names_the_fields(client, make_user, bank):
    make_user("trainer", "zhou")
    login(client, "zhou")
    token = csrf_from(client, "/manage/assessments/new")
    response = client.post(
        "/manage/assessments/new",
        data={**_form(cuts="1, 0", min_items="9", max_items="3"), "csrf_token": token},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="cuts-error"' in page and 'id="max_items-error"' in page
    assert db.session.scalar(select(Assessment)) is None


def test_publish_refuses_unreachable_constraints(client, make_user, bank):
    make_user("platform_admin", "root")
    login(client, "root")
    token = csrf_from(client, "/manage/assessments/new")
    data = _form(
        code="T-HUGE",
        kind="teacher_graded",
        role_code="",
        dimensions=["T1", "T2"],
        cuts="-1.5, -0.75, 0, 0.75, 1.5",
        per_dimension_min="40",
        max_items="100",
        audience_roles=["teacher"],
    )
    assert client.post("/manage/assessments/new", data={**data, "csrf_token": token}).status_code == 302
    assessment = db.session.scalar(select(Assessment).where(Assessment.code == "T-HUGE"))
    client.post(f"/manage/assessments/{assessment.id}/publish", data={"csrf_token": token})
    db.session.refresh(assessment)
    assert assessment.status == "draft"
    page = client.get(f"/manage/assessments/{assessment.id}").get_data(as_text=True)
    assert "engine.content_min.T1" in page


def test_other_institution_cannot_manage(app, make_user, bank, other_institution):
    owner = make_user("trainer", "zhou")
    make_user("trainer", "outsider", inst=other_institution)
    client = app.test_client()
    login(client, owner.username)
    token = csrf_from(client, "/manage/assessments/new")
    client.post("/manage/assessments/new", data={**_form(), "csrf_token": token})
    assessment = db.session.scalar(select(Assessment))
    other = app.test_client()
    login(other, "outsider")
    assert other.get(f"/manage/assessments/{assessment.id}").status_code == 404
    token2 = csrf_from(other, "/manage/assessments/")
    assert (
        other.post(f"/manage/assessments/{assessment.id}/publish", data={"csrf_token": token2}).status_code
        == 404
    )
    db.session.refresh(assessment)
    assert assessment.status == "draft"


def test_duplicate_and_archive(client, make_user, job_assessment):
    make_user("platform_admin", "root")
    login(client, "root")
    token = csrf_from(client, "/manage/assessments/")
    copy = client.post(f"/manage/assessments/{job_assessment.id}/duplicate", data={"csrf_token": token})
    assert copy.status_code == 302
    draft = db.session.scalar(select(Assessment).where(Assessment.code == f"{job_assessment.code}-v2"))
    assert draft.status == "draft" and draft.engine == job_assessment.engine
    client.post(f"/manage/assessments/{job_assessment.id}/archive", data={"csrf_token": token})
    db.session.refresh(job_assessment)
    assert job_assessment.status == "archived"


def test_new_form_explains_every_psychometric_field_and_fills_defaults_per_kind(client, make_user):
    import re

    make_user("trainer", "zhou")
    login(client, "zhou")
    page = client.get("/manage/assessments/new").get_data(as_text=True)
    for name in ("selector", "estimator", "mcat", "prior_correlation", "se_target", "min_items", "max_items",
                 "randomesque", "max_exposure", "cuts", "grade_rule"):  # fmt: skip
        assert f'id="{name}-hint"' in page, name
        assert re.search(rf'id="{name}"[^>]*aria-describedby="{name}-hint', page) or re.search(
            rf'aria-describedby="{name}-hint"[^>]*id="{name}"', page
        ), name
    assert 'value="0.5"' in page and 'value="-1.5, -0.75, 0, 0.75, 1.5"' in page  # teacher defaults
    job = client.get("/manage/assessments/new?kind=job_skill").get_data(as_text=True)
    assert re.search(r'id="se_target"[^>]*value="0.4"', job) and 'value="-1, 0, 1"' in job
    assert re.search(r'<option selected value="job_skill"|<option value="job_skill" selected', job)
    literacy = client.get("/manage/assessments/new?kind=student_literacy").get_data(as_text=True)
    assert re.search(r'id="se_target"[^>]*value="0.6"', literacy)


def test_trainer_duplicate_lands_in_their_institution_in_one_commit(client, make_user, job_assessment):
    """A trainer's copy of a platform-wide assessment is their institution's draft, written and audited in
    one transaction (it used to be committed, then moved to the institution by a second commit)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from competency.models import AuditEvent

    trainer = make_user("trainer", "zhou")
    login(client, "zhou")
    token = csrf_from(client, "/manage/assessments/")
    commits = []

    def count(session):
        commits.append(session)

    event.listen(Session, "after_commit", count)
    try:
        response = client.post(
            f"/manage/assessments/{job_assessment.id}/duplicate", data={"csrf_token": token}
        )
    finally:
        event.remove(Session, "after_commit", count)
    assert response.status_code == 302
    draft = db.session.scalar(select(Assessment).where(Assessment.code == f"{job_assessment.code}-v2"))
    assert draft.status == "draft" and draft.institution_id == trainer.institution_id
    assert job_assessment.institution_id is None and draft.created_by_id == trainer.id
    audited = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assessment.duplicate"))
    assert audited.target_id == str(draft.id) and audited.detail == {"from": job_assessment.id}
    assert len(commits) == 1
    # The copy is the trainer's to edit.
    assert client.get(f"/manage/assessments/{draft.id}/edit").status_code == 200


def test_editing_a_calibrated_draft_keeps_its_correlation_matrix(client, make_user, bank):
    """The form shows a calibrated prior as empty and keeps it; a number typed in replaces it."""
    make_user("trainer", "lin")
    login(client, "lin")
    token = csrf_from(client, "/manage/assessments/new")
    dims = ["T1", "T2", "T3", "T4", "T5"]
    form = _form(
        code="TR-TDL",
        kind="teacher_graded",
        role_code="",
        dimensions=dims,
        mcat="y",
        prior_correlation="0.6",
        cuts="-1.5, -0.75, 0, 0.75, 1.5",
        min_items="20",
        max_items="40",
        audience_roles=["teacher"],
    )
    assert client.post("/manage/assessments/new", data={**form, "csrf_token": token}).status_code == 302
    draft = db.session.scalar(select(Assessment).where(Assessment.code == "TR-TDL"))
    assert draft.engine["prior_correlation"] == 0.6
    matrix = [[1.0 if i == j else 0.55 for j in range(5)] for i in range(5)]
    draft.engine = {**draft.engine, "prior_correlation": matrix}  # as a published calibration writes it
    db.session.commit()
    page = client.get(f"/manage/assessments/{draft.id}/edit").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="prior_correlation"[^>]*>', page)
    assert field is not None and ('value=""' in field.group(0) or "value=" not in field.group(0)), page[:0]
    url = f"/manage/assessments/{draft.id}/edit"
    assert client.post(url, data={**form, "prior_correlation": "", "csrf_token": token}).status_code == 302
    db.session.refresh(draft)
    assert draft.engine["prior_correlation"] == matrix
    assert client.post(url, data={**form, "prior_correlation": "0.5", "csrf_token": token}).status_code == 302
    db.session.refresh(draft)
    assert draft.engine["prior_correlation"] == 0.5
