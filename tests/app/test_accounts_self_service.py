"""Issue 17, Medium 3 and 4, Low 8: sessions end server-side; password change, reset, deactivation, profile;
a password rule worth its name."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from competency.extensions import db
from competency.models import ApiToken, AuditEvent, Certificate, User
from competency.services import accounts, password_policy
from competency.services.errors import ServiceError
from tests.app.conftest import PASSWORD, api_token, csrf_from, login

NEW_PASSWORD = "lantern-orchid-mosaic"


def _copy_cookie(source, target) -> None:
    """The attacker's move: copy the session cookie to another browser."""
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value)


def _me(client, token: str) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_logout_ends_a_copied_cookie_and_every_token(app, client, make_user):
    make_user("teacher", "wang")
    login(client, "wang")
    thief = app.test_client()
    _copy_cookie(client, thief)
    assert thief.get("/home").status_code == 200  # the copy works while the session lives
    token = api_token(app.test_client(), "wang")
    assert _me(app.test_client(), token) == 200
    client.post("/logout", data={"csrf_token": csrf_from(client, "/home")})
    # After logout the copied cookie is refused for pages and for state changes, and so is the token.
    assert thief.get("/home").status_code == 302
    refused = thief.post("/account", data={"display_name": "hijacked"})
    assert refused.status_code in (302, 400)
    assert db.session.scalar(select(User.display_name).where(User.username == "wang")) != "hijacked"
    assert _me(app.test_client(), token) == 401


def test_sign_out_everywhere(app, client, make_user):
    make_user("student", "li")
    login(client, "li")
    laptop = app.test_client()
    login(laptop, "li")
    token = api_token(app.test_client(), "li")
    response = client.post("/account/sign-out-everywhere", data={"csrf_token": csrf_from(client, "/account")})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert laptop.get("/home").status_code == 302
    assert client.get("/home").status_code == 302
    assert _me(app.test_client(), token) == 401
    assert (
        db.session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None)))
        == 0
    )


def test_password_change_needs_the_current_password_and_ends_other_sessions(app, client, make_user):
    make_user("teacher", "wang")
    login(client, "wang")
    other = app.test_client()
    login(other, "wang")
    token = api_token(app.test_client(), "wang")
    csrf = csrf_from(client, "/account/password")

    def change(current, new, repeat=None):
        return client.post(
            "/account/password",
            data={
                "csrf_token": csrf,
                "current_password": current,
                "new_password": new,
                "repeat_password": repeat if repeat is not None else new,
            },
        )

    assert change("wrong-current-pw", NEW_PASSWORD).status_code == 400
    assert change(PASSWORD, NEW_PASSWORD, "different-phrase-x").status_code == 400
    weak = change(PASSWORD, "1234567890")
    assert weak.status_code == 400 and "常用" in weak.get_data(as_text=True)
    assert change(PASSWORD, NEW_PASSWORD).status_code == 302
    assert client.get("/home").status_code == 200  # this device stays signed in
    assert other.get("/home").status_code == 302  # every other session ended
    assert _me(app.test_client(), token) == 401
    fresh = app.test_client()
    assert login(fresh, "wang").status_code == 401
    assert login(fresh, "wang", NEW_PASSWORD).status_code == 302
    assert "user.password_change" in set(db.session.scalars(select(AuditEvent.action)))


def test_admin_reset_forces_a_change_at_next_login(app, client, make_user):
    make_user("institution_admin", "boss")
    person = make_user("teacher", "wang")
    victim = app.test_client()
    login(victim, "wang")
    login(client, "boss")
    page = client.post(
        f"/admin/users/{person.id}/reset-password",
        data={"csrf_token": csrf_from(client, f"/admin/users/{person.id}")},
    )
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    temporary = page.get_data(as_text=True).split('id="temporary-password">')[1].split("<")[0]
    assert victim.get("/home").status_code == 302  # the person's sessions ended
    assert login(victim, "wang").status_code == 401  # the old password is gone
    assert login(victim, "wang", temporary).status_code == 302
    # Until a new password is chosen, every page leads to the change form; the API gives no token.
    forced = victim.get("/home")
    assert forced.status_code == 302 and forced.headers["Location"].endswith("/account/password")
    no_token = app.test_client().post("/api/v1/auth/token", json={"username": "wang", "password": temporary})
    assert no_token.status_code == 403 and no_token.get_json()["error"]["code"] == "password_change_required"
    victim.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(victim, "/account/password"),
            "current_password": temporary,
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD,
        },
    )
    assert victim.get("/home").status_code == 200
    assert not db.session.get(User, person.id).must_change_password


def test_deactivation_ends_access_and_keeps_history(app, client, make_user):
    from competency.services import certificates
    from tests.app.outcomes_factory import make_assessment, make_attempt

    make_user("institution_admin", "boss")
    person = make_user("teacher", "wang")
    attempt = make_attempt(
        person, make_assessment(), {"T1": "L3", "T2": "L3", "T3": "L3", "T4": "L3", "T5": "L3"}
    )
    cert = certificates.issue_for_attempt(attempt)
    db.session.commit()
    victim = app.test_client()
    login(victim, "wang")
    token = api_token(app.test_client(), "wang")
    login(client, "boss")
    csrf = csrf_from(client, f"/admin/users/{person.id}")
    assert client.post(f"/admin/users/{person.id}/active", data={"csrf_token": csrf}).status_code == 302
    assert victim.get("/home").status_code == 302
    assert _me(app.test_client(), token) == 401
    assert login(app.test_client(), "wang").status_code == 401
    db.session.expire_all()
    assert db.session.get(User, person.id).deactivated_at is not None
    assert db.session.get(Certificate, cert.id) is not None  # history and certificates stay
    assert "data-inactive" in client.get("/admin/users").get_data(as_text=True)
    assert app.test_client().get(f"/api/v1/certificates/{cert.code}").status_code == 200
    assert client.post(f"/admin/users/{person.id}/active", data={"csrf_token": csrf}).status_code == 302
    assert login(app.test_client(), "wang").status_code == 302


def test_admins_contain_only_their_own_people(app, client, make_user, other_institution):
    make_user("institution_admin", "boss")
    stranger = make_user("teacher", "far", inst=other_institution)
    expert = make_user("expert", "reviewer")
    login(client, "boss")
    csrf = csrf_from(client, "/account")
    assert client.post(f"/admin/users/{stranger.id}/active", data={"csrf_token": csrf}).status_code == 404
    assert client.post(f"/admin/users/{expert.id}/reset-password", data={"csrf_token": csrf}).status_code in (
        403,
        404,
    )
    db.session.expire_all()
    assert db.session.get(User, stranger.id).active


def test_profile_edit_and_target_job_from_the_profiles(client, make_user):
    make_user("student", "li")
    login(client, "li")
    page = client.get("/account").get_data(as_text=True)
    assert "大数据" in page and 'value="J-BD-01"' in page  # names shown, codes only as values
    csrf = csrf_from(client, "/account")
    bad = client.post(
        "/account", data={"csrf_token": csrf, "display_name": "李", "locale": "", "target_role": "NOPE"}
    )
    assert bad.status_code == 400
    ok = client.post(
        "/account",
        data={"csrf_token": csrf, "display_name": "李同学", "locale": "en", "target_role": "J-BD-01"},
    )
    assert ok.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "li"))
    assert (user.display_name, user.locale, user.target_role) == ("李同学", "en", "J-BD-01")


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaa",
        "1234567890",
        "abcdefghij",
        "ababababab",
        " " * 10,
        "\u200b" * 10,
        "\u200b" * 6 + "abcd",
        "password123!",
        "ＰＡＳＳＷＯＲＤ１２３",  # full-width: the same password after NFKC
        "wang-the-teacher",
        "my-测试职业技术学院-pw",
        "competency-2026",
        "short",
    ],
)
def test_password_rule_refuses(app, institution, password):
    context = accounts.password_context("wang", "王老师", institution)
    with pytest.raises(ServiceError) as refused:
        password_policy.check(password, context)
    assert refused.value.field == "password"


def test_password_rule_accepts_a_phrase_and_normalises(app, institution):
    password_policy.check("lantern orchid mosaic", ("wang",))
    user = accounts.create_user("zhang", "ｌａｎｔｅｒｎ-ｏｒｃｈｉｄ", "teacher", institution=institution)
    assert accounts.password_matches(user.password_hash, "lantern-orchid")  # stored in NFKC form


def test_the_cli_and_admin_form_apply_the_rule(client, make_user):
    make_user("platform_admin", "root")
    login(client, "root")
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_from(client, "/admin/users"),
            "username": "newbie",
            "display_name": "New",
            "password": "newbie-newbie",
            "role": "platform_admin",
            "institution_id": "0",
        },
    )
    assert (
        response.status_code == 200
        and db.session.scalar(select(User).where(User.username == "newbie")) is None
    )
