"""Concurrent answers to the same position: exactly one is stored, the other is refused."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from competency.extensions import db
from competency.models import Attempt, Response
from tests.app.conftest import answer_for, api_token


def test_concurrent_submissions_store_exactly_one(app, make_user, job_assessment):
    make_user("student", "li")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_token(client, 'li')}"}
    body = client.post(
        "/api/v1/attempts", json={"assessment_id": job_assessment.id}, headers=headers
    ).get_json()
    item = body["item"]
    payload = {"position": item["position"], "item_id": item["item_id"], "answer": answer_for(item)}
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def submit() -> None:
        with app.app_context():
            own = app.test_client()
            barrier.wait()
            response = own.post(f"/api/v1/attempts/{body['id']}/responses", json=payload, headers=headers)
            statuses.append(response.status_code)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 409, 409, 409], statuses
    assert (
        db.session.scalar(select(func.count()).select_from(Response).where(Response.attempt_id == body["id"]))
        == 1
    )
    assert db.session.get(Attempt, body["id"]).position == 2
