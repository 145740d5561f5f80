"""Taking the five-dimension teacher assessment in the browser pages, and the results page."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from competency.extensions import db
from competency.models import Attempt, Response
from tests.app.conftest import csrf_from, login

FIELD_RE = re.compile(r'name="(position|item_id)" value="([^"]+)"')
OPTION_RE = re.compile(r'<input type="(radio|checkbox)" name="answer"\s+id="opt-\d+" value="([^"]+)"')
ORDER_RE = re.compile(r'<select name="(order-[A-F])"')


def _form_fields(html: str) -> dict:
    fields = dict(FIELD_RE.findall(html))
    options = OPTION_RE.findall(html)
    orders = ORDER_RE.findall(html)
    return {
        **fields,
        "kind": options[0][0] if options else "sequence",
        "values": [v for _k, v in options],
        "orders": orders,
    }


def _take_to_end(client, url):
    answered = 0
    while True:
        page = client.get(url)
        if page.status_code == 302:
            return answered, page.headers["Location"]
        html = page.get_data(as_text=True)
        fields = _form_fields(html)
        token = csrf_from(client, url)
        data = {"csrf_token": token, "position": fields["position"], "item_id": fields["item_id"]}
        if fields["kind"] == "sequence":
            data.update({name: str(i + 1) for i, name in enumerate(fields["orders"])})
        else:
            data["answer"] = fields["values"][:2] if fields["kind"] == "checkbox" else fields["values"][0]
        response = client.post(url, data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        answered += 1


def test_teacher_takes_the_graded_assessment(client, make_user, teacher_assessment):
    make_user("teacher", "wang", teacher_category="specialty_course", career_stage="proficient")
    login(client, "wang")
    home = client.get("/home").get_data(as_text=True)
    assert teacher_assessment.title_zh in home
    overview = client.get(f"/assessments/{teacher_assessment.id}").get_data(as_text=True)
    assert "开始" in overview or "Start" in overview
    token = csrf_from(client, f"/assessments/{teacher_assessment.id}")
    started = client.post(f"/assessments/{teacher_assessment.id}/start", data={"csrf_token": token})
    take_url = started.headers["Location"]

    page = client.get(take_url).get_data(as_text=True)
    assert "<fieldset>" in page and '<legend class="stem">' in page
    assert '<progress max="7" value="0"' in page
    assert 'id="timer"' in page and 'aria-live="polite"' in page
    assert "explanation" not in page

    answered, result_url = _take_to_end(client, take_url)
    assert 6 <= answered <= 7
    result = client.get(result_url).get_data(as_text=True)
    assert "<svg" in result and 'role="img"' in result
    for code in ("T1", "T2", "T3", "T4", "T5"):
        assert f'<th scope="row">{code} ' in result
    attempt = db.session.scalar(select(Attempt))
    assert attempt.status == "graded" and len(attempt.result["dimensions"]) == 5
    assert attempt.overall_level in {"L1", "L2", "L3", "L4", "L5", "L6"}


def test_resume_after_closing_the_browser(app, make_user, teacher_assessment):
    make_user("teacher", "wang")
    first = app.test_client()
    login(first, "wang")
    token = csrf_from(first, f"/assessments/{teacher_assessment.id}")
    take_url = first.post(f"/assessments/{teacher_assessment.id}/start", data={"csrf_token": token}).headers[
        "Location"
    ]
    pending = _form_fields(first.get(take_url).get_data(as_text=True))["item_id"]
    second = app.test_client()  # a new browser session
    login(second, "wang")
    token = csrf_from(second, f"/assessments/{teacher_assessment.id}")
    again = second.post(f"/assessments/{teacher_assessment.id}/start", data={"csrf_token": token})
    assert again.headers["Location"] == take_url
    assert _form_fields(second.get(take_url).get_data(as_text=True))["item_id"] == pending


def test_no_answer_chosen_is_refused_with_a_message(client, make_user, teacher_assessment):
    make_user("teacher", "wang")
    login(client, "wang")
    token = csrf_from(client, f"/assessments/{teacher_assessment.id}")
    take_url = client.post(f"/assessments/{teacher_assessment.id}/start", data={"csrf_token": token}).headers[
        "Location"
    ]
    fields = _form_fields(client.get(take_url).get_data(as_text=True))
    response = client.post(
        take_url, data={"csrf_token": token, "position": fields["position"], "item_id": fields["item_id"]}
    )
    assert response.status_code == 400
    assert 'role="alert"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_answer_without_csrf_is_refused(client, make_user, teacher_assessment):
    make_user("teacher", "wang")
    login(client, "wang")
    token = csrf_from(client, f"/assessments/{teacher_assessment.id}")
    take_url = client.post(f"/assessments/{teacher_assessment.id}/start", data={"csrf_token": token}).headers[
        "Location"
    ]
    fields = _form_fields(client.get(take_url).get_data(as_text=True))
    response = client.post(
        take_url,
        data={"position": fields["position"], "item_id": fields["item_id"], "answer": fields["values"][0]},
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_someone_elses_attempt_page_is_404(app, make_user, teacher_assessment):
    make_user("teacher", "wang")
    make_user("teacher", "zhang")
    owner, other = app.test_client(), app.test_client()
    login(owner, "wang")
    login(other, "zhang")
    token = csrf_from(owner, f"/assessments/{teacher_assessment.id}")
    take_url = owner.post(f"/assessments/{teacher_assessment.id}/start", data={"csrf_token": token}).headers[
        "Location"
    ]
    assert other.get(take_url).status_code == 404
    assert other.get(take_url + "/result").status_code == 404


def test_sequence_answer_from_positions(app):
    from competency.web.assess import _sequence_from_form

    options = [{"key": "A", "text": "a"}, {"key": "B", "text": "b"}, {"key": "C", "text": "c"}]
    with app.test_request_context("/", method="POST", data={"order-A": "2", "order-B": "3", "order-C": "1"}):
        assert _sequence_from_form(options) == ["C", "A", "B"]
    with app.test_request_context("/", method="POST", data={"order-A": "1", "order-B": "1", "order-C": "2"}):
        assert _sequence_from_form(options) is None  # a position used twice
    with app.test_request_context("/", method="POST", data={"order-A": "1", "order-B": "2"}):
        assert _sequence_from_form(options) is None  # one left out


def _started_in_page(client, assessment_id: int) -> tuple[str, str, dict]:
    token = csrf_from(client, f"/assessments/{assessment_id}")
    take_url = client.post(f"/assessments/{assessment_id}/start", data={"csrf_token": token}).headers["Location"]
    fields = _form_fields(client.get(take_url).get_data(as_text=True))
    data = {"csrf_token": token, "position": fields["position"], "item_id": fields["item_id"]}
    if fields["kind"] == "sequence":
        data.update({name: str(i + 1) for i, name in enumerate(fields["orders"])})
    else:
        data["answer"] = fields["values"][0]
    return take_url, token, data


def test_posting_to_someone_elses_attempt_is_404(app, make_user, teacher_assessment):
    make_user("teacher", "wang")
    make_user("teacher", "zhang")
    owner, other = app.test_client(), app.test_client()
    login(owner, "wang")
    login(other, "zhang")
    take_url, _token, data = _started_in_page(owner, teacher_assessment.id)
    data["csrf_token"] = csrf_from(other, "/home")
    assert other.post(take_url, data=data).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_a_stale_position_is_refused_on_the_page(client, make_user, teacher_assessment):
    make_user("teacher", "wang")
    login(client, "wang")
    take_url, _token, data = _started_in_page(client, teacher_assessment.id)
    response = client.post(take_url, data={**data, "position": "2"})
    assert response.status_code == 409
    assert 'role="alert"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
    assert client.post(take_url, data=data).status_code == 302  # the right position is taken
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_an_answer_after_the_deadline_shows_the_result(client, make_user, teacher_assessment):
    from datetime import timedelta

    make_user("teacher", "wang")
    login(client, "wang")
    take_url, _token, data = _started_in_page(client, teacher_assessment.id)
    attempt = db.session.scalar(select(Attempt))
    attempt.deadline_at = attempt.started_at - timedelta(seconds=1)
    db.session.commit()
    response = client.post(take_url, data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith(take_url + "/result")
    db.session.expire_all()
    assert db.session.scalar(select(Attempt)).status in ("timed_out", "graded", "insufficient")
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_the_page_and_the_api_answer_through_one_service(client, make_user, teacher_assessment, monkeypatch):
    from competency.services import answering
    from tests.app.conftest import api_token, pending_answer, post_answer, start_attempt

    calls = []
    original = answering.answer

    def spy(taker, attempt_id, read):
        calls.append(taker.token is None)
        return original(taker, attempt_id, read)

    monkeypatch.setattr(answering, "answer", spy)
    make_user("teacher", "wang")
    login(client, "wang")
    take_url, _token, data = _started_in_page(client, teacher_assessment.id)
    assert client.post(take_url, data=data).status_code == 302
    make_user("teacher", "zhang")
    token = api_token(client, "zhang")
    body = start_attempt(client, token, teacher_assessment.id)
    assert post_answer(client, token, body["id"], pending_answer(body["item"])).status_code == 200
    assert calls == [True, False]  # the page (logged in), then the API (a bearer token)
