"""Chinese first, English on request, remembered per user; every string has its translation."""

from __future__ import annotations

from competency.extensions import db
from competency.i18n_cli import missing_translations
from tests.app.conftest import csrf_from, login


def test_chinese_by_default(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "登录" in page


def test_switch_to_english_in_session(client):
    token = csrf_from(client, "/")
    client.post("/language", data={"lang": "en", "csrf_token": token, "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Log in" in page


def test_unknown_language_is_ignored(client):
    token = csrf_from(client, "/")
    client.post("/language", data={"lang": "fr", "csrf_token": token})
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


def test_choice_is_remembered_on_the_account(app, make_user):
    user = make_user("teacher", "wang")
    first = app.test_client()
    login(first, "wang")
    token = csrf_from(first, "/home")
    first.post("/language", data={"lang": "en", "csrf_token": token, "next": "/home"})
    db.session.refresh(user)
    assert user.locale == "en"
    second = app.test_client()  # another browser: no session language
    login(second, "wang")
    assert "Teacher home" in second.get("/home").get_data(as_text=True)


def test_language_next_is_safe(client):
    token = csrf_from(client, "/")
    response = client.post(
        "/language", data={"lang": "en", "csrf_token": token, "next": "https://evil.example"}
    )
    assert response.headers["Location"] in ("/", "http://localhost/")


def test_every_string_has_a_chinese_translation():
    assert missing_translations("zh_Hans_CN") == []


def test_catalog_is_compiled():
    from pathlib import Path

    import competency

    mo = Path(competency.__file__).parent / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.mo"
    assert mo.exists(), "run `flask --app competency translate compile` (make does it)"


def test_language_chosen_before_login_survives_login(app, make_user):
    from competency.extensions import db
    from tests.app.conftest import login

    user = make_user("student", "li")
    client = app.test_client()
    token = csrf_from(client, "/login")
    client.post("/language", data={"lang": "en", "csrf_token": token, "next": "/login"})
    login(client, "li")
    assert "Student home" in client.get("/home").get_data(as_text=True)
    db.session.refresh(user)
    assert user.locale == "en"
