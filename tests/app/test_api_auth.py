"""POST /api/v1/auth/token and bearer-token authentication."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from competency.extensions import db
from competency.models import ApiToken, utcnow
from tests.app.conftest import PASSWORD, api_token


def test_token_roundtrip(client, make_user):
    make_user("student", "li")
    response = client.post("/api/v1/auth/token", json={"username": "li", "password": PASSWORD})
    body = response.get_json()
    assert response.status_code == 200
    assert set(body) == {"token", "expires_at"}
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json()["username"] == "li"


def test_token_is_stored_hashed(client, make_user):
    make_user("student", "li")
    token = api_token(client, "li")
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored
    assert len(stored) == 1 and len(stored[0]) == 64


def test_wrong_password_is_401_with_error_body(client, make_user):
    make_user("student", "li")
    response = client.post("/api/v1/auth/token", json={"username": "li", "password": "nope-nope-nope"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_credentials"
    unknown = client.post("/api/v1/auth/token", json={"username": "ghost", "password": "nope-nope-nope"})
    assert unknown.get_json() == response.get_json()


def test_missing_field_names_the_field(client):
    response = client.post("/api/v1/auth/token", json={"username": "li"})
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "password"
    bad = client.post("/api/v1/auth/token", data="not json", content_type="application/json")
    assert bad.status_code == 400
    assert bad.get_json()["error"]["code"] == "invalid_json"


def test_api_rate_limited(app, client, make_user):
    make_user("student", "li")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/api/v1/auth/token", json={"username": "li", "password": "wrong-wrong-1"})
    response = client.post("/api/v1/auth/token", json={"username": "li", "password": PASSWORD})
    assert response.status_code == 429


def test_expired_and_revoked_tokens_are_refused(client, make_user):
    make_user("student", "li")
    token = api_token(client, "li")
    headers = {"Authorization": f"Bearer {token}"}
    row = db.session.scalar(select(ApiToken))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401

    token2 = api_token(client, "li")
    headers2 = {"Authorization": f"Bearer {token2}"}
    assert client.delete("/api/v1/auth/token", headers=headers2).status_code == 204
    assert client.get("/api/v1/me", headers=headers2).status_code == 401


def test_no_or_malformed_header_is_401_json(client):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_cookie_session_does_not_authorise_the_api(client, make_user):
    from tests.app.conftest import login

    make_user("student", "li")
    login(client, "li")
    assert client.get("/api/v1/me").status_code == 401


def test_api_requests_neither_read_nor_set_the_cookie_session(client, make_user):
    """A browser's session cookie does nothing under /api/, and API responses set no cookie."""
    from tests.app.conftest import login

    make_user("student", "li", locale="en")
    login(client, "li")  # the browser session now says: logged in, English
    refused = client.get("/api/v1/me")
    assert refused.status_code == 401 and "Set-Cookie" not in refused.headers
    # The message is in the default language, not in the English the cookie session chose.
    assert refused.get_json()["error"]["message"] != "You need to log in to see this."
    token = api_token(client, "li")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and "Set-Cookie" not in me.headers
    assert client.get("/certificates/").status_code == 200  # pages still use the cookie session
