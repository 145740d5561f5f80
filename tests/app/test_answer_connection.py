"""An answer runs in one transaction of the request's own ORM session, on one connection.

Whatever the request ends with (stored, refused, graded, closed after its deadline), that connection
goes back to the pool, and its lock with it; no answer holds two connections, and none sends a
ROLLBACK (psycopg drops every statement it prepared on a connection at each ROLLBACK).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from competency.extensions import db
from competency.models import Attempt, AuditEvent, Response
from competency.services import caches, exposure
from tests.app.conftest import api_token, pending_answer, post_answer, start_attempt


@pytest.fixture
def sessions_begun():
    """Counts ORM session transactions begun (any session) while the test runs."""
    begun = []

    def count(session, transaction, connection):
        begun.append(session)

    event.listen(Session, "after_begin", count)
    yield begun
    event.remove(Session, "after_begin", count)


def _nothing_checked_out() -> None:
    db.session.close()  # the test's own session gives its connection back first
    assert db.engine.pool.checkedout() == 0


def _stored(attempt_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Response).where(Response.attempt_id == attempt_id)
    )


def test_plain_answers_run_in_one_session_transaction_and_return_the_connection(
    client, started, sessions_begun, rollbacks, checked_out
):
    token, body = started
    # The first answer to a published assessment in a process reads it once, for the engine cache
    # (a server warms that cache at start-up); the answers after it read nothing else.
    first = post_answer(client, token, body["id"], pending_answer(body["item"])).get_json()
    _nothing_checked_out()
    sessions_begun.clear()
    rollbacks.clear()
    checked_out.reset()
    response = post_answer(client, token, body["id"], pending_answer(first["item"]))
    assert response.status_code == 200 and response.get_json()["finished"] is False
    assert len(sessions_begun) == 1  # the request's own session, one transaction, committed
    assert rollbacks == [] and checked_out.most == 1
    _nothing_checked_out()
    assert _stored(body["id"]) == 2
    assert db.session.get(Attempt, body["id"]).position == 3


@pytest.mark.parametrize(
    "change, status",
    [
        ({"position": 2}, 409),  # not the pending position
        ({"item_id": "NOT-THE-ITEM"}, 409),
        ({"answer": {"no": "such answer"}}, 400),
        ({"position": "one"}, 400),
    ],
)
def test_refused_answers_release_the_lock(client, started, rollbacks, change, status):
    token, body = started
    rollbacks.clear()
    refused = post_answer(client, token, body["id"], pending_answer(body["item"], **change))
    assert refused.status_code == status, refused.get_json()
    assert rollbacks == []  # it only read: ended by COMMIT
    _nothing_checked_out()
    assert _stored(body["id"]) == 0
    # Had the refused request kept its connection, and with it the row lock, this one would wait.
    assert post_answer(client, token, body["id"], pending_answer(body["item"])).status_code == 200
    _nothing_checked_out()


def test_unknown_attempt_and_bad_token_return_the_connection(client, started):
    token, body = started
    assert post_answer(client, token, body["id"] + 1000, pending_answer(body["item"])).status_code == 404
    _nothing_checked_out()
    assert post_answer(client, "not-a-token", body["id"], pending_answer(body["item"])).status_code == 401
    _nothing_checked_out()
    assert _stored(body["id"]) == 0


@pytest.fixture
def rollbacks(app):
    """Counts ROLLBACKs on the app's engine while the test runs."""
    seen = []

    def count(connection):
        seen.append(connection)

    event.listen(db.engine, "rollback", count)
    yield seen
    event.remove(db.engine, "rollback", count)


class CheckedOut:
    """The most connections checked out of the pool at once since `reset`."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.now = self.most = db.engine.pool.checkedout()

    def out(self, *_args) -> None:
        self.now += 1
        self.most = max(self.most, self.now)

    def back(self, *_args) -> None:
        self.now -= 1


@pytest.fixture
def checked_out(app):
    counter = CheckedOut()
    event.listen(db.engine, "checkout", counter.out)
    event.listen(db.engine, "checkin", counter.back)
    yield counter
    event.remove(db.engine, "checkout", counter.out)
    event.remove(db.engine, "checkin", counter.back)


def test_the_last_answer_is_graded_in_the_same_transaction(
    client, started, sessions_begun, rollbacks, checked_out
):
    token, body = started
    item, attempt_id = body["item"], body["id"]
    answers = 0
    while True:
        _nothing_checked_out()
        sessions_begun.clear()
        rollbacks.clear()
        checked_out.reset()
        response = post_answer(client, token, attempt_id, pending_answer(item))
        assert response.status_code == 200, response.get_json()
        answers += 1
        if answers > 1:  # the first one fills the engine cache, with a read of its own
            assert rollbacks == [] and len(sessions_begun) == 1
        # Grading and the certificate run on the answer's own connection: never a second one.
        assert checked_out.most == 1
        _nothing_checked_out()
        if response.get_json()["finished"]:
            break
        item = response.get_json()["item"]
    assert answers > 1
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.status == "graded" and attempt.result["items_answered"] == answers == _stored(attempt_id)
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"attempt.start", "certificate.issue"} <= actions


def test_an_answer_after_the_deadline_closes_the_attempt(client, started):
    token, body = started
    attempt = db.session.get(Attempt, body["id"])
    attempt.deadline_at = attempt.started_at - timedelta(seconds=1)
    db.session.commit()
    response = post_answer(client, token, body["id"], pending_answer(body["item"]))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "attempt_timed_out"
    _nothing_checked_out()
    db.session.expire_all()
    closed = db.session.get(Attempt, body["id"])
    assert closed.status == "insufficient" and closed.result["timed_out"] is True  # nothing answered: no level
    assert _stored(body["id"]) == 0


def test_exposure_rates_are_read_on_the_answering_connection(
    client, make_user, teacher_assessment, sessions_begun, checked_out, monkeypatch
):
    monkeypatch.setattr(exposure, "SETTLE_SECONDS", -1)  # count the rows stored a moment ago

    make_user("teacher", "zhang")
    token = api_token(client, "zhang")
    body = start_attempt(client, token, teacher_assessment.id)
    first = post_answer(
        client, token, body["id"], pending_answer(body["item"])
    ).get_json()  # fills the engine cache
    caches.RATES.clear()  # the teacher test limits exposure: the next answer counts
    _nothing_checked_out()
    sessions_begun.clear()
    checked_out.reset()
    response = post_answer(client, token, body["id"], pending_answer(first["item"]))
    assert response.status_code == 200, response.get_json()
    assert len(sessions_begun) == 1 and checked_out.most == 1
    [(_when, rates)] = [value for _key, value in caches.RATES.items()]
    assert rates == {body["item"]["item_id"]: 1.0}  # one attempt, which has answered its first item
