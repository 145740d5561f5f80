"""Every state-changing HTML request needs the CSRF token."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from competency.extensions import db
from competency.models import Cohort, Institution
from tests.app.conftest import PASSWORD, csrf_from, login


def test_login_without_token_is_refused(client, make_user):
    make_user("teacher", "wang")
    response = client.post("/login", data={"username": "wang", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/home").status_code == 302


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_forms_refuse_missing_or_forged_token(app, client, make_user, token):
    make_user("platform_admin", "root")
    login(client, "root")
    data = {"name": "新院校", "type": "enterprise"}
    if token:
        data["csrf_token"] = token
    response = client.post("/admin/institutions", data=data)
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Institution)) == 1  # only the fixture's


def test_token_from_another_session_is_refused(app, make_user):
    make_user("trainer", "zhou")
    alice, mallory = app.test_client(), app.test_client()
    login(alice, "zhou")
    stolen = csrf_from(mallory, "/")
    response = alice.post("/cohorts/", data={"name": "X", "csrf_token": stolen})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Cohort)) == 0


def test_with_token_the_form_works(client, make_user):
    make_user("trainer", "zhou")
    login(client, "zhou")
    token = csrf_from(client, "/cohorts/")
    response = client.post("/cohorts/", data={"name": "数字素养一班", "csrf_token": token})
    assert response.status_code == 302
    assert db.session.scalar(select(Cohort.name)) == "数字素养一班"


def test_language_switch_requires_token(client):
    assert client.post("/language", data={"lang": "en"}).status_code == 400
