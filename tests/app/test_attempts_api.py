"""The adaptive assessment through the JSON API: start, resume, answer, finish, result; bad input refused."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from competency.extensions import db
from competency.models import Attempt, Certificate, Item, Response, utcnow
from tests.app.conftest import answer_for, api_token, login


def _auth(client, username):
    return {"Authorization": f"Bearer {api_token(client, username)}"}


@pytest.fixture
def student(make_user):
    return make_user("student", "li", programme="大数据技术", year=2, target_role="J-BD-01")


def _start(client, headers, assessment_id):
    return client.post("/api/v1/attempts", json={"assessment_id": assessment_id}, headers=headers)


def _answer(client, headers, attempt_id, item, answer=None):
    payload = {
        "position": item["position"],
        "item_id": item["item_id"],
        "answer": answer_for(item) if answer is None else answer,
    }
    return client.post(f"/api/v1/attempts/{attempt_id}/responses", json=payload, headers=headers)


def _run_to_end(client, headers, attempt_id, item):
    answered = 0
    while True:
        response = _answer(client, headers, attempt_id, item)
        assert response.status_code == 200, response.get_json()
        answered += 1
        body = response.get_json()
        if body["finished"]:
            return answered
        item = body["item"]


def _responses(attempt_id):
    return db.session.scalar(
        select(func.count()).select_from(Response).where(Response.attempt_id == attempt_id)
    )


def test_job_skill_flow(client, student, job_assessment):
    headers = _auth(client, "li")
    listing = client.get("/api/v1/assessments", headers=headers).get_json()
    assert {"id": job_assessment.id, "title": job_assessment.title_zh, "kind": "job_skill"} in listing[
        "assessments"
    ]

    started = _start(client, headers, job_assessment.id)
    assert started.status_code == 201
    body = started.get_json()
    assert body["status"] == "started" and body["item"]["position"] == 1
    assert set(body["item"]) == {"item_id", "position", "type", "stem", "options", "dimension"}

    # Resuming (a closed browser, another device) returns the same attempt and the same pending item.
    again = _start(client, headers, job_assessment.id)
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    assert again.get_json()["item"] == body["item"]
    assert client.get(f"/api/v1/attempts/{body['id']}", headers=headers).get_json()["item"] == body["item"]

    answered = _run_to_end(client, headers, body["id"], body["item"])
    assert 4 <= answered <= 6
    result = client.get(f"/api/v1/attempts/{body['id']}/result", headers=headers)
    assert result.status_code == 200
    data = result.get_json()
    assert data["overall_level"] in ("J0", "J1", "J2", "J3")
    assert data["dimensions"][0]["code"] == "J-BD-01"
    assert {"code", "name", "theta", "se", "level"} <= set(data["dimensions"][0])
    required = {"S6.5", "S1.3", "S1.2", "S5.3", "S3.1", "S4.2"}
    assert {ind["code"] for ind in data["indicators"]} == required
    assert all(ind["target"] for ind in data["indicators"])
    assert "certificate_code" in data and "plan_id" in data

    attempt = db.session.get(Attempt, body["id"])
    assert attempt.status == "graded"
    assert attempt.engine["max_items"] == 6  # the engine settings it was scored with
    assert set(attempt.param_versions) == {entry["code"] for entry in job_assessment.pool}


def test_result_before_finishing_is_409(client, student, job_assessment):
    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    response = client.get(f"/api/v1/attempts/{body['id']}/result", headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "not_graded"


def test_repeated_and_stale_positions_are_409_and_change_nothing(client, student, job_assessment):
    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    first = body["item"]
    next_item = _answer(client, headers, body["id"], first).get_json()["item"]
    repeated = _answer(client, headers, body["id"], first)
    assert repeated.status_code == 409
    assert repeated.get_json()["error"]["code"] == "stale_position"
    ahead = _answer(client, headers, body["id"], {**next_item, "position": next_item["position"] + 1})
    assert ahead.status_code == 409
    wrong_item = _answer(client, headers, body["id"], {**next_item, "item_id": first["item_id"]})
    assert wrong_item.status_code == 409
    assert _responses(body["id"]) == 1
    state = client.get(f"/api/v1/attempts/{body['id']}", headers=headers).get_json()
    assert state["item"] == next_item


@pytest.mark.parametrize(
    ("answer", "field"),
    [("Z", "answer"), (["A", "Z"], "answer"), (3.5, "answer"), ({"x": 1}, "answer"), ("", "answer")],
)
def test_invalid_answers_are_400_naming_the_field(client, student, job_assessment, answer, field):
    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    response = _answer(client, headers, body["id"], body["item"], answer=answer)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == field and error["code"] == "invalid_answer" and error["message"]
    assert _responses(body["id"]) == 0
    assert client.get(f"/api/v1/attempts/{body['id']}", headers=headers).get_json()["item"] == body["item"]


@pytest.mark.parametrize("missing", ["position", "item_id", "answer"])
def test_missing_fields(client, student, job_assessment, missing):
    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    payload = {"position": 1, "item_id": body["item"]["item_id"], "answer": "A"}
    del payload[missing]
    response = client.post(f"/api/v1/attempts/{body['id']}/responses", json=payload, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == missing


def test_bad_assessment_ids(client, student, job_assessment):
    headers = _auth(client, "li")
    for value, status in (("1", 400), (None, 400), (True, 400), (99999, 404)):
        response = client.post("/api/v1/attempts", json={"assessment_id": value}, headers=headers)
        assert response.status_code == status, value
        assert response.get_json()["error"]["field"] == "assessment_id"


def test_no_one_reads_another_persons_attempt(client, make_user, student, job_assessment):
    make_user("student", "mallory")
    owner = _auth(client, "li")
    other = _auth(client, "mallory")
    body = _start(client, owner, job_assessment.id).get_json()
    attempt_id = body["id"]
    assert client.get(f"/api/v1/attempts/{attempt_id}", headers=other).status_code == 404
    assert client.get(f"/api/v1/attempts/{attempt_id}/result", headers=other).status_code == 404
    assert _answer(client, other, attempt_id, body["item"]).status_code == 404
    assert _responses(attempt_id) == 0
    assert client.get("/api/v1/attempts/424242", headers=owner).status_code == 404


def test_audience_is_enforced(client, make_user, job_assessment):
    make_user("teacher", "wang")
    headers = _auth(client, "wang")
    response = _start(client, headers, job_assessment.id)
    assert response.status_code == 404  # a teacher is not in a student evaluation's audience
    assert client.get("/api/v1/assessments", headers=headers).get_json() == {"assessments": []}


def test_deadline_closes_the_attempt_and_grades_what_was_answered(client, student, job_assessment):
    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    item2 = _answer(client, headers, body["id"], body["item"]).get_json()["item"]
    attempt = db.session.get(Attempt, body["id"])
    attempt.deadline_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    late = _answer(client, headers, body["id"], item2)
    assert late.status_code == 409
    assert late.get_json()["error"]["code"] == "attempt_timed_out"
    assert _responses(body["id"]) == 1
    db.session.expire_all()
    attempt = db.session.get(Attempt, body["id"])
    # One answer is below the test's minimum evidence (4): closed with no level and no certificate.
    assert attempt.status == "insufficient" and attempt.result["timed_out"] is True
    assert attempt.result["items_answered"] == 1
    result = client.get(f"/api/v1/attempts/{body['id']}/result", headers=headers)
    assert result.status_code == 200
    data = result.get_json()
    assert data["status"] == "insufficient_evidence"
    assert data["overall_level"] is None and data["certificate_code"] is None and data["plan_id"] is None
    assert "1" in data["message"] and "4" in data["message"]
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_blank_attempt_gets_no_level_and_does_not_use_up_an_attempt(client, student, job_assessment):
    job_assessment.max_attempts = 1
    db.session.commit()
    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    attempt = db.session.get(Attempt, body["id"])
    attempt.deadline_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    again = _start(client, headers, job_assessment.id)  # closes the blank one, then starts anew
    assert again.status_code == 201 and again.get_json()["id"] != body["id"]
    blank = client.get(f"/api/v1/attempts/{body['id']}/result", headers=headers).get_json()
    assert blank["status"] == "insufficient_evidence" and blank["overall_level"] is None
    assert blank["items_answered"] == 0 and blank["certificate_code"] is None
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    login(client, "li")
    page = client.get(f"/attempts/{body['id']}/result").get_data(as_text=True)
    assert "不足以" in page or "Too few answers" in page


def test_a_finished_attempt_reports_its_uncertainty(client, student, job_assessment):
    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    item = body["item"]
    while True:
        response = _answer(client, headers, body["id"], item).get_json()
        if response["finished"]:
            break
        item = response["item"]
    data = client.get(f"/api/v1/attempts/{body['id']}/result", headers=headers).get_json()
    assert data["status"] == "graded" and data["overall_level"] in ("J0", "J1", "J2", "J3")
    low, high = data["overall_range"]
    assert low <= data["overall_level"] <= high
    assert data["overall_class"]["code"] in ("J0–J1", "J2–J3")
    assert data["uncertainty"] and data["certificate_code"]
    for indicator in data["indicators"]:
        if indicator["items"] < 2:  # too little evidence: no level and no verdict
            assert indicator["level"] is None and indicator["met"] is None


def test_resuming_an_expired_attempt_closes_it(client, student, job_assessment):
    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    attempt = db.session.get(Attempt, body["id"])
    attempt.deadline_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    state = client.get(f"/api/v1/attempts/{body['id']}", headers=headers).get_json()
    assert state["status"] == "insufficient" and state["item"] is None  # nothing answered: no level


def test_extra_time_extends_the_deadline(client, make_user, job_assessment):
    make_user("student", "slow", extra_time_percent=50)
    body = _start(client, _auth(client, "slow"), job_assessment.id).get_json()
    attempt = db.session.get(Attempt, body["id"])
    minutes = (attempt.deadline_at - attempt.started_at).total_seconds() / 60
    assert minutes == pytest.approx(job_assessment.time_limit_minutes * 1.5)


def test_attempts_policy(client, student, job_assessment):
    job_assessment.max_attempts = 1
    db.session.commit()
    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    _run_to_end(client, headers, body["id"], body["item"])
    refused = _start(client, headers, job_assessment.id)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "attempts_exhausted"


def test_waiting_time_between_attempts(client, student, job_assessment):
    job_assessment.wait_hours = 24
    db.session.commit()
    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    _run_to_end(client, headers, body["id"], body["item"])
    refused = _start(client, headers, job_assessment.id)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "too_soon"


def test_one_active_attempt_is_a_database_constraint(app, student, job_assessment):
    for _ in range(2):
        db.session.add(
            Attempt(
                assessment_id=job_assessment.id,
                user_id=student.id,
                status="in_progress",
                state={},
                engine={},
                param_versions={},
            )
        )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_answer_key_never_reaches_the_client(client, student, job_assessment):
    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    item = body["item"]
    seen = []
    while True:
        row = db.session.scalar(select(Item).where(Item.code == item["item_id"]))
        text = json.dumps(item, ensure_ascii=False)
        assert set(item) == {"item_id", "position", "type", "stem", "options", "dimension"}
        assert all(set(option) == {"key", "text"} for option in item["options"])
        if row.content.get("explanation"):
            assert row.content["explanation"] not in text
        seen.append(item["item_id"])
        response = _answer(client, headers, body["id"], item).get_json()
        if response["finished"]:
            break
        raw = json.dumps(response, ensure_ascii=False)
        assert "explanation" not in raw and "irt" not in raw
        item = response["item"]
    assert len(seen) >= 4


def test_parameter_versions_stay_with_the_attempt(client, student, job_assessment):
    from competency.models import ItemParams

    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    _answer(client, headers, body["id"], body["item"])
    row = db.session.scalar(select(Item).where(Item.code == body["item"]["item_id"]))
    old = row.current_version
    row.current_version = old + 1
    row.versions.append(ItemParams(version=old + 1, model="2pl", a=2.0, b=0.0, source="expert"))
    db.session.commit()
    stored = db.session.scalar(select(Response).where(Response.attempt_id == body["id"]))
    assert stored.param_version == old
    assert db.session.get(Attempt, body["id"]).param_versions[row.code] == old


def test_sequence_items_are_delivered_and_scored(client, make_user, bank):
    from competency.services.demo_assessments import _job
    from tests.app.conftest import make_assessment

    make_user("student", "sec")
    spec = _job("J-SEC-01")
    spec.update(code="SEQ", nodes=["S6.9"])
    spec["engine"] = {**spec["engine"], "min_items": 5, "max_items": 5, "se_target": 0.05, "randomesque": 1}
    spec["grade_rule"] = {**spec["grade_rule"], "min_evidence": {"total": 5}, "min_accuracy": {"dimensions": 0, "overall": 0}}
    assessment = make_assessment(spec)
    pool = {entry["code"] for entry in assessment.pool}
    assert "J-6.9-09" in pool and len(pool) == 5  # the S6.9 items tagged for J-SEC-01 only
    headers = _auth(client, "sec")
    body = _start(client, headers, assessment.id).get_json()
    item, seen = body["item"], {}
    while True:
        seen[item["item_id"]] = item
        if item["type"] == "sequence":
            bad = _answer(client, headers, body["id"], item, answer=[o["key"] for o in item["options"]][:2])
            assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "answer"
        response = _answer(client, headers, body["id"], item).get_json()
        if response["finished"]:
            break
        item = response["item"]
    assert seen["J-6.9-09"]["type"] == "sequence"
    stored = db.session.scalar(select(Response).where(Response.item_code == "J-6.9-09"))
    assert isinstance(stored.answer["value"], list) and 0 <= stored.score <= 3


def test_exposure_counts_each_item_seen(client, student, job_assessment):
    from competency.services.items import exposure_counts

    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    answered = _run_to_end(client, headers, body["id"], body["item"])
    seen = db.session.scalars(select(Response.item_code).where(Response.attempt_id == body["id"])).all()
    counts = exposure_counts()
    assert len(seen) == answered and {counts[code] for code in seen} == {1}
    assert sum(counts.values()) == answered


def test_plan_is_built_when_the_result_is_first_read(client, student, job_assessment):
    from competency.models import Plan

    headers = _auth(client, "li")
    body = _start(client, headers, job_assessment.id).get_json()
    _run_to_end(client, headers, body["id"], body["item"])
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0  # not on the answer path
    first = client.get(f"/api/v1/attempts/{body['id']}/result", headers=headers).get_json()
    second = client.get(f"/api/v1/attempts/{body['id']}/result", headers=headers).get_json()
    count = db.session.scalar(select(func.count()).select_from(Plan))
    assert first["plan_id"] == second["plan_id"]
    assert count == (1 if first["plan_id"] else 0)
