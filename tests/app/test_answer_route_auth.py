"""The answer route reads the token and the attempt in one query; it must refuse exactly what others do.

Every case leaves the attempt as it was: no response stored, the position unchanged.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from competency.extensions import db
from competency.models import ApiToken, Attempt, Response, User, utcnow
from tests.app.conftest import api_token, pending_answer, post_answer, start_attempt


def _answer(client, token, body):
    return post_answer(client, token, body["id"], pending_answer(body["item"]))


def _unchanged(attempt_id: int) -> None:
    stored = db.session.scalar(
        select(func.count()).select_from(Response).where(Response.attempt_id == attempt_id)
    )
    assert stored == 0
    assert db.session.get(Attempt, attempt_id).position == 1


def test_expired_token(client, started):
    token, body = started
    for row in db.session.scalars(select(ApiToken)):
        row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = _answer(client, token, body)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    _unchanged(body["id"])


def test_revoked_token(client, started):
    token, body = started
    assert (
        client.delete("/api/v1/auth/token", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    )
    assert _answer(client, token, body).status_code == 401
    _unchanged(body["id"])


def test_deactivated_account(client, started):
    token, body = started
    db.session.scalar(select(User).where(User.username == "li")).active = False
    db.session.commit()
    assert _answer(client, token, body).status_code == 401
    _unchanged(body["id"])


def test_unknown_token(client, started):
    _token, body = started
    assert _answer(client, "not-a-token", body).status_code == 401
    _unchanged(body["id"])


def test_someone_elses_attempt_is_missing(client, make_user, started):
    _token, body = started
    make_user("student", "zhang")
    other = api_token(client, "zhang")
    response = _answer(client, other, body)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "attempt_not_found"
    _unchanged(body["id"])


def test_staff_may_not_answer(client, make_user, started):
    _token, body = started
    make_user("trainer", "zhao")
    assert _answer(client, api_token(client, "zhao"), body).status_code == 403
    _unchanged(body["id"])


def test_the_owner_answers_and_moves_on(client, started):
    token, body = started
    response = _answer(client, token, body)
    assert response.status_code == 200
    reply = response.get_json()
    assert reply["finished"] is False and reply["position"] == 2 and reply["item"]["position"] == 2
    assert db.session.get(Attempt, body["id"]).position == 2


def test_refusals_speak_the_token_users_language(client, make_user, job_assessment, started):
    token, body = started  # "li" keeps the default language
    make_user("student", "wang", locale="en")
    english = api_token(client, "wang")
    missing = _answer(client, english, body)  # li's attempt: missing for wang, said in English
    assert missing.status_code == 404 and missing.get_json()["error"]["message"] == "attempt not found"
    own = start_attempt(client, english, job_assessment.id)
    stale = post_answer(client, english, own["id"], pending_answer(own["item"], position=2))
    assert stale.status_code == 409
    assert stale.get_json()["error"]["message"] == "position 2 is not the pending position 1"
    chinese = post_answer(client, token, body["id"], pending_answer(body["item"], position=2))
    assert chinese.status_code == 409
    assert chinese.get_json()["error"]["message"] != "position 2 is not the pending position 1"
