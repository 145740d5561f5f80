"""Cohorts: create, add and remove members within the institution."""

from __future__ import annotations

from sqlalchemy import select

from competency.extensions import db
from competency.models import AuditEvent, CohortMembership
from tests.app.conftest import csrf_from, login


def test_trainer_builds_a_cohort(client, make_user, other_institution):
    make_user("trainer", "zhou")
    make_user("teacher", "wang")
    make_user("teacher", "outsider", inst=other_institution)
    login(client, "zhou")
    token = csrf_from(client, "/cohorts/")
    created = client.post("/cohorts/", data={"name": "提升班", "csrf_token": token})
    detail_url = created.headers["Location"]
    assert client.post(detail_url, data={"username": "wang", "csrf_token": token}).status_code == 302
    page = client.post(detail_url, data={"username": "outsider", "csrf_token": token})
    assert "本院校没有用户 outsider" in page.get_data(as_text=True)
    again = client.post(detail_url, data={"username": "wang", "csrf_token": token})
    assert "wang 已经是成员" in again.get_data(as_text=True)
    assert db.session.scalars(select(CohortMembership)).all().__len__() == 1
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"cohort.create", "cohort.add_member"} <= actions


def test_duplicate_cohort_name_is_refused(client, make_user):
    make_user("trainer", "zhou")
    login(client, "zhou")
    token = csrf_from(client, "/cohorts/")
    client.post("/cohorts/", data={"name": "提升班", "csrf_token": token})
    response = client.post("/cohorts/", data={"name": "提升班", "csrf_token": token})
    assert response.status_code == 200
    assert "本院校已有名为 提升班 的班级" in response.get_data(as_text=True)
