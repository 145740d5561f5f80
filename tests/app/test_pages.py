"""Page structure: landmarks, language, no external assets; error pages in HTML and JSON."""

from __future__ import annotations

import re

from competency.web.authz import public
from tests.app.conftest import login


def test_landmarks_and_skip_link(client):
    page = client.get("/").get_data(as_text=True)
    for marker in (
        "<header",
        "<nav aria-label=",
        '<main id="main"',
        "<footer",
        'class="skip-link" href="#main"',
    ):
        assert marker in page


def test_no_external_assets(client, make_user):
    make_user("platform_admin", "root")
    login(client, "root")
    for url in ("/", "/login", "/home", "/admin/institutions", "/admin/users"):
        page = client.get(url).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', page), url


def test_inputs_have_labels(client):
    page = client.get("/login").get_data(as_text=True)
    for field in ("username", "password"):
        assert f'<label for="{field}"' in page
        assert f'id="{field}"' in page


def test_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "未找到" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"


def test_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_security_headers(app, client):
    @app.route("/framed")
    @public
    def framed():
        return "", 200, {"x-frame-options": "SAMEORIGIN"}  # a response's own header is kept, in any case

    for path in ("/", "/api/v1/no-such-thing"):
        response = client.get(path)
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Frame-Options"] == "DENY"
    response = client.get("/framed")
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_500_is_handled_without_leaking(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    boom.public = True
    response = client.get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.get_data(as_text=True)


def test_healthz(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["database"]["ok"] is True


def test_error_pages_are_translated(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert "<h1>页面不存在</h1>" in text and "Page not found" not in text


def test_started_attempt_says_no_answer_yet(client, make_user):
    from tests.app.outcomes_factory import make_assessment, make_attempt

    make_user("teacher", "wang")
    from competency.extensions import db
    from competency.models import User

    teacher = db.session.query(User).filter_by(username="wang").one()
    make_attempt(teacher, make_assessment(), status="started")
    from tests.app.conftest import login

    login(client, "wang")
    page = client.get("/assessments/").get_data(as_text=True)
    assert "已开始，尚未作答" in page


def test_user_page_title_is_plain_text(client, make_user):
    import re

    from tests.app.conftest import login

    make_user("institution_admin", "boss_t")
    person = make_user("teacher", "titled")
    login(client, "boss_t")
    page = client.get(f"/admin/users/{person.id}").get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "<" not in title and person.display_name in title
    assert page.count('id="account-actions"') == 1
