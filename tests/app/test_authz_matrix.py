"""Every URL of the app × every role: who may call it, enforced, and declared on the view.

The route list comes from the app itself, so a new view without a role declaration fails here.
"""

from __future__ import annotations

import pytest

from competency.extensions import db
from competency.models import Cohort, Resource, Role
from competency.web.authz import ALL_ROLES
from tests.app.conftest import api_token, csrf_from, login
from tests.app.outcomes_factory import outcome_params
from tests.app.pilot_factory import pilot_params

ROLES = list(ALL_ROLES)
SKIP_ENDPOINTS = {"static"}


def _view(app, endpoint):
    return app.view_functions[endpoint]


def test_every_view_declares_its_roles(app):
    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in SKIP_ENDPOINTS
        and not getattr(_view(app, rule.endpoint), "public", False)
        and not getattr(_view(app, rule.endpoint), "required_roles", None)
    ]
    assert undeclared == []


@pytest.fixture
def world(app, make_user, institution):
    """One person per role in the same institution, and objects for every URL parameter."""
    people = {role: make_user(role, f"m_{role}") for role in ROLES}
    cohort = Cohort(name="矩阵班", institution_id=institution.id, owner_id=people["trainer"].id)
    db.session.add(cohort)
    resource = Resource(
        code="R-MATRIX", kind="micro_lecture", title_zh="矩阵资源", title_en="Matrix resource",
        nodes=["T1.1.1"], levels=["L1"], institution_id=institution.id,
    )  # fmt: skip
    db.session.add(resource)
    db.session.commit()
    params = {
        "cohort_id": cohort.id,
        "user_id": people["teacher"].id,
        "fmt": "json",
        "name": "csv",
        "role_code": "J-BD-01",
        "resource_id": resource.id,
    }
    params.update(outcome_params(people, cohort))
    params.update(_assessment_params(people))
    params.update(_maturity_params(people, institution, cohort))
    params.update(pilot_params(people))
    params["job_id"] = _job_param(people)
    params["run_id"] = _calibration_run(params["assessment_id"])
    return people, params


def _calibration_run(assessment_id: int) -> int:
    """A calibration run waiting for review (platform admins only)."""
    from competency.models import CalibrationRun

    run = CalibrationRun(assessment_id=assessment_id, status="review", settings={}, decisions={}, findings={})
    db.session.add(run)
    db.session.commit()
    return run.id


def _job_param(people) -> int:
    """A finished background job of the trainer's (everyone else gets 404 on it)."""
    from competency.models import Job

    job = Job(kind="results_export", owner_id=people["trainer"].id, payload={}, status="done")
    db.session.add(job)
    db.session.commit()
    return job.id


def _maturity_params(people, institution, cohort) -> dict:
    """An open diagnosis round of the institution with the matrix expert assigned, a cohort invitation
    (the teacher holds a ticket), a proof-less evidence row and an action."""
    from datetime import date

    from competency.models import (
        CohortMembership,
        MaturityAction,
        MaturityEvidence,
        MaturityExpertAssignment,
        MaturityInvitation,
        MaturityRound,
        MaturityTicket,
    )

    rnd = MaturityRound(
        institution_id=institution.id,
        title="矩阵诊断",
        status="open",
        model_version="1.0.0",
        institution_type=institution.type,
        scenarios=["virtual_training", "shared_centre", "remote_training"],
        weights={"questionnaire": 0.3, "objective": 0.3, "expert": 0.4},
    )
    db.session.add(rnd)
    db.session.flush()
    db.session.add(MaturityExpertAssignment(round_id=rnd.id, expert_id=people["expert"].id))
    if db.session.get(CohortMembership, {"cohort_id": cohort.id, "user_id": people["teacher"].id}) is None:
        db.session.add(CohortMembership(cohort_id=cohort.id, user_id=people["teacher"].id))
    invitation = MaturityInvitation(
        round_id=rnd.id, respondent_group="teacher", kind="cohort", cohort_id=cohort.id, expected=1
    )
    db.session.add(invitation)
    db.session.flush()
    db.session.add(MaturityTicket(invitation_id=invitation.id, user_id=people["teacher"].id))
    evidence = MaturityEvidence(round_id=rnd.id, indicator="RP.2.1", value=50.0, raw="50")
    action = MaturityAction(
        institution_id=institution.id, round_id=rnd.id, indicator="RP.2.1", target_level=3,
        title="矩阵行动", owner="某人", due_on=date(2027, 1, 1),
    )
    db.session.add_all([evidence, action])
    db.session.commit()
    return {"round_id": rnd.id, "evidence_id": evidence.id, "action_id": action.id, "invitation_id": invitation.id}


def _assessment_params(people) -> dict:
    """A published assessment open to everyone and an attempt of the teacher's (others get 404, not 403)."""
    from competency.models import Assessment, Attempt

    assessment = Assessment(
        code="MATRIX",
        title_zh="矩阵",
        title_en="Matrix",
        kind="job_skill",
        role_code="J-BD-01",
        scale="job",
        dimensions=["J-BD-01"],
        nodes=["S6.5"],
        engine={},
        cut_scores={"*": [-1.0, 0.0, 1.0]},
        grade_rule={},
        status="published",
        audience={},
    )
    db.session.add(assessment)
    db.session.flush()
    attempt = Attempt(
        assessment_id=assessment.id,
        user_id=people["teacher"].id,
        status="graded",
        state={},
        engine={},
        param_versions={},
        result=None,
    )
    db.session.add(attempt)
    db.session.commit()
    return {"assessment_id": assessment.id, "attempt_id": attempt.id}


def _protected_rules(app):
    # Logging out, signing out everywhere and revoking the token end what the other calls rely on
    # (the session and the token), so they go last, in this order (logging out revokes tokens too).
    last = ("api.revoke_token", "account.sign_out_everywhere", "auth.logout")
    rules = sorted(
        app.url_map.iter_rules(), key=lambda r: last.index(r.endpoint) + 1 if r.endpoint in last else 0
    )
    for rule in rules:
        view = _view(app, rule.endpoint)
        if rule.endpoint in SKIP_ENDPOINTS or getattr(view, "public", False):
            continue
        yield rule, view.required_roles


def _url(rule, params):
    missing = [arg for arg in rule.arguments if arg not in params]
    assert not missing, f"add a value for {missing} of {rule.rule} to the matrix fixture"
    url = rule.rule
    for arg in rule.arguments:
        url = url.replace(f"<int:{arg}>", str(params[arg])).replace(f"<{arg}>", str(params[arg]))
    return url


def _call(client, rule, url, headers=None, data=None):
    method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
    return client.open(url, method=method, headers=headers or {}, data=data)


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, world, role):
    people, params = world
    client = app.test_client()
    is_api = {}
    login(client, people[role].username)
    token = api_token(app.test_client(), people[role].username)
    form_token = csrf_from(client, "/home")
    failures = []
    for rule, allowed in _protected_rules(app):
        url = _url(rule, params)
        is_api[url] = url.startswith("/api/")
        if is_api[url]:
            response = _call(app.test_client(), rule, url, headers={"Authorization": f"Bearer {token}"})
        else:
            data = None
            if "GET" not in rule.methods:
                data = {"csrf_token": form_token}
            response = _call(client, rule, url, data=data)
        if role in allowed and response.status_code in (401, 403):
            failures.append(f"{role} refused {response.status_code} on {rule.rule}")
        if role not in allowed and response.status_code != 403:
            failures.append(f"{role} got {response.status_code} (not 403) on {rule.rule}")
        if response.status_code >= 500:
            failures.append(f"{role} caused {response.status_code} on {rule.rule}")
    assert failures == []


def test_anonymous_is_sent_to_login_or_gets_401(app, world):
    _, params = world
    client = app.test_client()
    failures = []
    for rule, _allowed in _protected_rules(app):
        url = _url(rule, params)
        response = _call(client, rule, url)
        if url.startswith("/api/"):
            ok = response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
        elif "GET" in rule.methods:
            ok = response.status_code == 302 and "/login" in response.headers["Location"]
        else:
            # A POST without a session fails CSRF (400) before reaching the view, or is redirected to log in.
            ok = response.status_code in (302, 400)
        if not ok:
            failures.append(f"anonymous got {response.status_code} on {rule.rule}")
    assert failures == []


def test_trainer_cannot_reach_another_institutions_cohort(app, make_user, other_institution):
    trainer = make_user("trainer", "t1")
    foreign = Cohort(name="外校班级", institution_id=other_institution.id)
    db.session.add(foreign)
    db.session.commit()
    client = app.test_client()
    login(client, trainer.username)
    assert client.get(f"/cohorts/{foreign.id}").status_code == 404
    token = csrf_from(client, "/home")
    response = client.post(f"/cohorts/{foreign.id}", data={"csrf_token": token, "username": "x"})
    assert response.status_code == 404
    assert "外校班级" not in client.get("/cohorts/").get_data(as_text=True)


def test_institution_admin_sees_only_own_people(app, make_user, other_institution):
    admin = make_user("institution_admin", "ia")
    make_user("teacher", "own_teacher")
    outsider = make_user("teacher", "foreign_teacher", inst=other_institution)
    client = app.test_client()
    login(client, admin.username)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "own_teacher" in page and "foreign_teacher" not in page
    assert client.get(f"/admin/users/{outsider.id}").status_code == 404


def test_institution_admin_cannot_create_platform_admin(app, make_user):
    admin = make_user("institution_admin", "ia")
    client = app.test_client()
    login(client, admin.username)
    token = csrf_from(client, "/admin/users")
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "sneaky",
            "display_name": "x",
            "password": "long-enough-password",
            "role": Role.PLATFORM_ADMIN.value,
            "institution_id": admin.institution_id,
        },
    )
    assert response.status_code == 200  # the form is shown again with the error
    from sqlalchemy import select

    from competency.models import User

    assert db.session.scalar(select(User).where(User.username == "sneaky")) is None


def test_admin_sets_extra_time_and_trainer_cannot(app, make_user):
    admin = make_user("institution_admin", "ia")
    trainer = make_user("trainer", "tr")
    person = make_user("student", "needs_time")
    client = app.test_client()
    login(client, trainer.username)
    token = csrf_from(client, "/home")
    refused = client.post(f"/admin/users/{person.id}", data={"csrf_token": token, "extra_time_percent": "50"})
    assert refused.status_code == 403
    client = app.test_client()
    login(client, admin.username)
    token = csrf_from(client, "/home")
    bad = client.post(f"/admin/users/{person.id}", data={"csrf_token": token, "extra_time_percent": "500"})
    assert bad.status_code == 400
    ok = client.post(f"/admin/users/{person.id}", data={"csrf_token": token, "extra_time_percent": "50"})
    assert ok.status_code == 302
    db.session.refresh(person)
    assert person.extra_time_percent == 50
