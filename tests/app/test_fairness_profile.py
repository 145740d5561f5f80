"""The optional, consented fairness-profile answers: the person's own form, never shown to others."""

from __future__ import annotations

from sqlalchemy import select

from competency.extensions import db
from competency.models import AuditEvent, FairnessProfile
from tests.app.conftest import csrf_from, login

ANSWERS = {
    "gender": "female",
    "institution_type": "technician_college",
    "region": "southwest",
    "major_category": "electronics_it",
}


def _post(client, **data):
    token = csrf_from(client, "/account")
    return client.post(
        "/account/fairness", data={"csrf_token": token, **{f"fair-{k}": v for k, v in data.items()}}
    )


def test_answers_are_kept_only_with_consent(app, client, make_user):
    user = make_user("teacher", "fair_t")
    login(client, "fair_t")
    page = client.get("/account").get_data(as_text=True)
    assert 'id="fairness"' in page and 'name="fair-consent"' in page and "专业大类" in page
    assert _post(client, consent="y", **ANSWERS).status_code == 302
    row = db.session.get(FairnessProfile, user.id)
    assert row.consent and row.consented_at is not None
    assert {k: getattr(row, k) for k in ANSWERS} == ANSWERS
    again = client.get("/account").get_data(as_text=True)
    assert 'selected value="southwest"' in again  # the person sees their own answers
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.fairness_profile")).first()
    assert event.detail == {"consent": True}  # the audit says that, never what

    assert _post(client, **ANSWERS).status_code == 302  # consent withdrawn: everything deleted
    assert db.session.get(FairnessProfile, user.id) is None


def test_every_answer_is_optional_and_bad_input_changes_nothing(app, client, make_user):
    user = make_user("student", "fair_s")
    login(client, "fair_s")
    blank = {k: "" for k in ANSWERS}  # a browser sends every select, "" for "prefer not to say"
    assert _post(client, consent="y", **blank).status_code == 302
    row = db.session.get(FairnessProfile, user.id)
    assert row.consent and row.gender is None and row.major_category is None
    bad = _post(client, consent="y", **(blank | {"region": "atlantis"}))
    assert bad.status_code == 400 and db.session.get(FairnessProfile, user.id).region is None
    no_token = client.post("/account/fairness", data={"fair-consent": "y", "fair-gender": "female"})
    assert no_token.status_code == 400 and db.session.get(FairnessProfile, user.id).gender is None


def test_nobody_else_sees_the_answers(app, client, make_user):
    user = make_user("teacher", "fair_x")
    db.session.add(FairnessProfile(user_id=user.id, consent=True, region="northwest", gender="other"))
    db.session.commit()
    make_user("platform_admin", "fair_admin")
    login(client, "fair_admin")
    html = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert client.get(f"/admin/users/{user.id}").status_code == 200
    assert "northwest" not in html and "Northwest" not in html and "西北" not in html


def test_english_labels(app, client, make_user):
    make_user("teacher", "fair_en", locale="en")
    login(client, "fair_en")
    page = client.get("/account?lang=en").get_data(as_text=True)
    assert "Fairness of the questions (optional)" in page and "Prefer not to say" in page
