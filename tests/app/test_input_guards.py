"""Issue 17, Low 9 and High 2: hostile input is a clear 4xx and changes nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from competency.extensions import db
from competency.models import Cohort, CohortMembership, User
from tests.app.conftest import api_token, csrf_from, login
from tests.tests_bank.test_safe_archive import xlsx_bomb

HUGE = 2**63


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_ids_beyond_64_bits_in_paths_are_404(client, make_user, institution):
    make_user("trainer", "coach")
    make_user("student", "li")
    token = api_token(client, "li")
    for url in (f"/api/v1/attempts/{HUGE}", f"/api/v1/plans/{HUGE * 10}", f"/api/v1/attempts/{HUGE}/result"):
        response = client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 404, url
        assert response.get_json()["error"]["code"]
    login(client, "coach")
    for url in (f"/trainer/cohorts/{HUGE}", f"/cohorts/{HUGE}", f"/admin/users/{HUGE}"):
        assert client.get(url).status_code == 404, url


def test_ids_beyond_64_bits_in_json_bodies_are_400(client, make_user):
    make_user("student", "li")
    token = api_token(client, "li")
    headers = {"Authorization": f"Bearer {token}"}
    for body in ({"assessment_id": HUGE}, {"assessment_id": -HUGE - 1}):
        response = client.post("/api/v1/attempts", json=body, headers=headers)
        assert response.status_code == 400
        assert response.get_json()["error"] == {
            "code": "out_of_range",
            "message": response.get_json()["error"]["message"],
            "field": "assessment_id",
        }
    response = client.post(
        f"/api/v1/attempts/{HUGE - 1}/responses",
        json={"position": HUGE, "item_id": "x", "answer": "A"},
        headers=headers,
    )
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "position"


def test_json_nested_100k_deep_is_400(client, make_user):
    make_user("student", "li")
    token = api_token(client, "li")
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post(
        "/api/v1/attempts",
        data=deep,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (400, 413)
    moderately = '{"assessment_id": ' + "[" * 50 + "]" * 50 + "}"
    response = client.post(
        "/api/v1/attempts",
        data=moderately,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "json_too_deep"


def test_too_large_json_body_is_413(client):
    response = client.post("/api/v1/auth/token", json={"username": "x" * 100_000, "password": "y"})
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "body_too_large"


def test_nul_in_a_user_name_is_refused_and_nothing_is_written(client, make_user):
    make_user("platform_admin", "root")
    login(client, "root")
    before = _count(User)
    token = csrf_from(client, "/admin/users")
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "evil\x00name",
            "display_name": "Evil",
            "password": "a-long-and-fine-password",
            "role": "teacher",
        },
    )
    assert response.status_code == 400
    assert "username" in response.get_data(as_text=True)
    assert _count(User) == before
    # The API refuses control characters in any string too, naming the field.
    api = client.post("/api/v1/auth/token", json={"username": "li\x00", "password": "x"})
    assert api.status_code == 400 and api.get_json()["error"]["field"] == "username"
    tab_is_text = client.post("/api/v1/auth/token", json={"username": "li\tx", "password": "x"})
    assert tab_is_text.status_code == 401  # tabs are text, not a refusal


def test_xlsx_bomb_upload_to_people_import_is_refused(client, make_user, institution):
    trainer = make_user("trainer", "coach")
    cohort = Cohort(name="班", institution_id=institution.id, owner_id=trainer.id)
    db.session.add(cohort)
    db.session.commit()
    login(client, "coach")
    token = csrf_from(client, f"/trainer/cohorts/{cohort.id}")
    response = client.post(
        f"/trainer/cohorts/{cohort.id}/import",
        data={"csrf_token": token, "import-file": (io.BytesIO(xlsx_bomb(40)), "class.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "文件被拒绝" in page or "refused" in page
    assert _count(CohortMembership) == 0


def test_out_of_range_numbers_in_query_strings_and_forms_are_400(client, make_user, institution):
    trainer = make_user("trainer", "coach")
    cohort = Cohort(name="班", institution_id=institution.id, owner_id=trainer.id)
    db.session.add(cohort)
    db.session.commit()
    login(client, "coach")
    response = client.get(f"/trainer/cohorts/{cohort.id}/export?what=results&assignment={HUGE * 10}")
    assert response.status_code == 400 and "assignment" in response.get_data(as_text=True)
    # A certificate code is text even when it is all digits; it is looked up, not refused.
    assert client.get("/verify?code=" + "2" * 20).status_code in (302, 404)
