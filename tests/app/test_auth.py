"""Logging in and out, generic failure message, rate limit, safe `next`, session cookie flags."""

from __future__ import annotations

import pytest

from competency import create_app
from competency.models import LoginAttempt
from tests.app.conftest import PASSWORD, csrf_from, login


def test_login_lands_on_role_home(client, make_user):
    make_user("teacher", "wang")
    response = login(client, "wang")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/home")
    page = client.get("/home").get_data(as_text=True)
    assert "教师首页" in page


@pytest.mark.parametrize(
    ("role", "heading"),
    [
        ("platform_admin", "平台管理员首页"),
        ("institution_admin", "院校管理员首页"),
        ("trainer", "培训师首页"),
        ("teacher", "教师首页"),
        ("student", "学生首页"),
    ],
)
def test_each_role_has_its_home(client, make_user, role, heading):
    make_user(role, "person")
    login(client, "person")
    assert heading in client.get("/home").get_data(as_text=True)


def test_wrong_password_and_unknown_user_get_the_same_message(client, make_user):
    make_user("teacher", "wang")
    wrong_pw = login(client, "wang", "not-the-password")
    unknown = login(client, "nobody", "not-the-password")
    assert wrong_pw.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong_pw.get_data(as_text=True)
    assert "用户名或密码错误" in unknown.get_data(as_text=True)


def test_rate_limit_blocks_even_the_right_password(app, client, make_user):
    make_user("teacher", "wang")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, "wang", "bad-password-x").status_code == 401
    blocked = login(client, "wang", PASSWORD)
    assert blocked.status_code == 429
    assert client.get("/home").status_code == 302  # still not logged in


def test_failed_logins_are_recorded_in_the_database(app, client, make_user):
    from sqlalchemy import func, select

    from competency.extensions import db

    make_user("teacher", "wang")
    login(client, "wang", "bad-password-x")
    assert (
        db.session.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.success.is_(False))
        )
        == 1
    )


def test_inactive_user_cannot_log_in(client, make_user):
    from competency.extensions import db

    user = make_user("teacher", "gone")
    user.active = False
    db.session.commit()
    assert login(client, "gone").status_code == 401


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "http:/evil"],
)
def test_next_only_redirects_within_the_site(client, make_user, target):
    make_user("teacher", "wang")
    token = csrf_from(client, "/login")
    response = client.post(
        "/login", data={"username": "wang", "password": PASSWORD, "csrf_token": token, "next": target}
    )
    assert response.status_code == 302
    assert response.headers["Location"] in ("/home", "http://localhost/home")


def test_next_within_the_site_is_followed(client, make_user):
    make_user("trainer", "zhou")
    token = csrf_from(client, "/login?next=/cohorts/")
    response = client.post(
        "/login", data={"username": "zhou", "password": PASSWORD, "csrf_token": token, "next": "/cohorts/"}
    )
    assert response.headers["Location"].endswith("/cohorts/")


def test_protected_page_redirects_to_login_with_next(client):
    response = client.get("/cohorts/")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_logout_requires_post_with_csrf(client, make_user):
    make_user("teacher", "wang")
    login(client, "wang")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/home").status_code == 200
    token = csrf_from(client, "/home")
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/home").status_code == 302


def test_production_cookies_are_secure(app_config, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    prod = create_app({**app_config, "ENV": "production", "TESTING": False})
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["SESSION_COOKIE_HTTPONLY"] is True
    assert prod.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert prod.config["REMEMBER_COOKIE_SECURE"] is True


def test_passwords_are_hashed(app, make_user):
    user = make_user("teacher", "wang")
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith("pbkdf2:")


def test_default_hash_is_scrypt(app_config):
    from werkzeug.security import check_password_hash

    from competency.services.accounts import _hash_method

    config = {k: v for k, v in app_config.items() if k != "PASSWORD_HASH_METHOD"}
    with create_app(config).app_context():
        assert _hash_method() == "scrypt"
    assert not check_password_hash("scrypt:32768:8:1$x$y", "anything")
