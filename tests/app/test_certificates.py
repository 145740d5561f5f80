"""Certificates: issue on a graded attempt, the PDF with an embedded CJK font, public verification, revocation."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from competency.extensions import db
from competency.models import AuditEvent, Certificate
from competency.pdf import render_certificate
from competency.services import certificates
from tests.app.conftest import csrf_from, login
from tests.app.outcomes_factory import make_assessment, make_attempt

DIMS = {"T1": "L3", "T2": "L4", "T3": "L3", "T4": "L5", "T5": "L2"}


@pytest.fixture
def teacher(make_user):
    return make_user("teacher", "wang", display_name="王芳")


@pytest.fixture
def cert(app, teacher):
    attempt = make_attempt(teacher, make_assessment(), DIMS, overall="L3")
    issued = certificates.issue_for_attempt(attempt)
    db.session.commit()
    return issued


def test_graded_attempt_yields_one_certificate(app, teacher):
    attempt = make_attempt(teacher, make_assessment(), DIMS, overall="L3")
    first = certificates.issue_for_attempt(attempt)
    db.session.commit()
    assert re.fullmatch(f"[{certificates.ALPHABET}]{{20}}", first.code)
    assert not set(first.code) & set("01ILO")
    assert first.overall_level == "L3" and first.holder_name == "王芳"
    assert [d["level"] for d in first.levels] == list(DIMS.values())
    # Two years' validity by default, counted from the attempt's end.
    assert first.expires_at.year - first.issued_at.year == 2
    assert first.issued_at == attempt.finished_at
    assert certificates.issue_for_attempt(attempt).id == first.id  # idempotent
    assert certificates.certificate_for_attempt(attempt.id).id == first.id
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.target_type == "certificate")) == (
        "certificate.issue"
    )


def test_rule_and_status_gate_issuing(app, teacher):
    assert (
        certificates.issue_for_attempt(make_attempt(teacher, make_assessment("A1"), status="in_progress"))
        is None
    )
    strict = make_assessment("A2", certificate_rule={"min_overall": "L4", "validity_years": 3})
    assert certificates.issue_for_attempt(make_attempt(teacher, strict, DIMS, overall="L3")) is None
    passed = certificates.issue_for_attempt(make_attempt(teacher, strict, DIMS, overall="L4"))
    assert passed is not None and passed.expires_at.year - passed.issued_at.year == 3
    off = make_assessment("A3", certificate_rule={"enabled": False})
    assert certificates.issue_for_attempt(make_attempt(teacher, off, DIMS)) is None


def test_codes_are_unique_and_random():
    codes = {certificates.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert certificates.normalise_code("abcd-efgh ") == "ABCDEFGH"


def test_pdf_embeds_the_cjk_font_and_shows_the_text(app, cert, tmp_path):
    body = render_certificate(cert, f"http://localhost/verify/{cert.code}")
    assert body.startswith(b"%PDF")
    # The subset TrueType font is embedded (FontFile2), under ReportLab's subset name prefix.
    assert b"/FontFile2" in body and re.search(rb"/BaseFont /[A-Z]{6}\+DroidSansFallback", body)
    path = tmp_path / "c.pdf"
    path.write_bytes(body)
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils not installed")
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"DroidSansFallback\s+(CID )?TrueType.*\byes\s+yes", fonts)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "数字素养等级证书" in text and "王芳" in text and "教师数字素养分等级评价" in text
    assert certificates.format_code(cert.code) in text
    # Render the page and look at the title band: Chinese glyphs must put ink on the page.
    subprocess.run(
        ["pdftoppm", "-r", "40", "-gray", "-singlefile", str(path), str(tmp_path / "p")], check=True
    )
    data = (tmp_path / "p.pgm").read_bytes()
    _magic, width, height, _maxval, pixels = data.split(maxsplit=4)
    width, height = int(width), int(height)
    title_band = pixels[int(height * 0.14) * width : int(height * 0.17) * width]
    margin_band = pixels[int(height * 0.005) * width : int(height * 0.012) * width]
    assert sum(1 for p in title_band if p < 128) > 50
    assert sum(1 for p in margin_band if p < 128) == 0


def test_public_verification_json(client, cert):
    body = client.get(f"/api/v1/certificates/{cert.code}").get_json()
    assert body["status"] == "valid"
    assert body["holder"] == "王芳"
    assert body["levels"]["overall"] == "L3"
    assert [d["level"] for d in body["levels"]["dimensions"]] == list(DIMS.values())
    assert body["issued_at"].startswith(str(cert.issued_at.year))
    assert "wang" not in str(body)  # no user name, e-mail or id leaks
    grouped = certificates.format_code(cert.code).lower()
    assert client.get(f"/api/v1/certificates/{grouped}").get_json()["status"] == "valid"
    missing = client.get("/api/v1/certificates/AAAABBBBCCCCDDDDEEEE")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "certificate_not_found"


def test_expired_and_revoked_status(app, client, cert, make_user):
    cert.expires_at = cert.issued_at - timedelta(days=1)
    db.session.commit()
    assert client.get(f"/api/v1/certificates/{cert.code}").get_json()["status"] == "expired"
    admin = make_user("institution_admin", "ia")
    certificates.revoke(cert, "证书信息有误", admin, "issued_in_error")
    body = client.get(f"/api/v1/certificates/{cert.code}").get_json()
    assert body["status"] == "revoked" and body["revocation"]["category"] == "issued_in_error"
    # Issue 17, Low 11: the free-text reason is not public; an enumerated category is.
    assert "证书信息有误" not in str(body) and "revoked_reason" not in body
    assert body["revocation"]["label"] == "误发"


def test_public_verification_page_needs_no_login(client, cert):
    page = client.get(f"/verify/{cert.code}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-status="valid"' in html and "王芳" in html
    assert (
        client.get(f"/verify?code={cert.code.lower()}").headers["Location"].endswith(f"/verify/{cert.code}")
    )
    unknown = client.get("/verify/NOPE-NOPE")
    assert unknown.status_code == 404 and 'data-status="unknown"' in unknown.get_data(as_text=True)


def test_admin_revokes_with_reason(client, cert, make_user):
    make_user("institution_admin", "ia")
    login(client, "ia")
    url = f"/certificates/{cert.code}/revoke"
    token = csrf_from(client, url)
    blank = client.post(url, data={"csrf_token": token, "reason": "  "})
    assert blank.status_code == 200 and 'aria-invalid="true"' in blank.get_data(as_text=True)
    db.session.refresh(cert)
    assert cert.revoked_at is None
    bad_category = client.post(
        url, data={"csrf_token": token, "reason": "考试作弊", "category": "gossip", "confirm": "y"}
    )
    assert bad_category.status_code == 200 and 'aria-invalid="true"' in bad_category.get_data(as_text=True)
    unconfirmed = client.post(url, data={"csrf_token": token, "reason": "考试作弊", "category": "misconduct"})
    assert (
        unconfirmed.status_code == 200
        and "Tick the box" in unconfirmed.get_data(as_text=True)
        or ("勾选" in unconfirmed.get_data(as_text=True))
    )
    db.session.refresh(cert)
    assert cert.revoked_at is None  # nothing happens without the confirmation
    done = client.post(
        url, data={"csrf_token": token, "reason": "考试作弊", "category": "misconduct", "confirm": "y"}
    )
    assert done.status_code == 302
    db.session.refresh(cert)
    assert cert.revoked_reason == "考试作弊" and cert.revoked_by_id is not None
    assert cert.revoked_category == "misconduct"
    page = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert 'data-status="revoked"' in page and 'data-category="misconduct"' in page
    assert "考试作弊" not in page  # the internal reason stays internal
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert "certificate.revoke" in actions


def test_revocation_refused_outside_the_institution(client, cert, make_user, other_institution):
    make_user("institution_admin", "outsider", inst=other_institution)
    login(client, "outsider")
    token = csrf_from(client, "/home")
    response = client.post(f"/certificates/{cert.code}/revoke", data={"csrf_token": token, "reason": "x"})
    assert response.status_code == 404
    assert client.get(f"/certificates/{cert.code}.pdf").status_code == 404
    db.session.refresh(cert)
    assert cert.revoked_at is None
    assert cert.code not in client.get("/certificates/manage").get_data(as_text=True)


def test_holder_lists_and_downloads_own_certificates(client, cert, make_user):
    login(client, "wang")
    assert f'data-code="{cert.code}"' in client.get("/certificates/").get_data(as_text=True)
    pdf = client.get(f"/certificates/{cert.code}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    make_user("teacher", "li")
    other = client.application.test_client()
    login(other, "li")
    assert other.get(f"/certificates/{cert.code}.pdf").status_code == 404
    assert cert.code not in other.get("/certificates/").get_data(as_text=True)


def test_real_attempt_flow_issues_certificate_and_plan(client, make_user, job_assessment):
    """Through the lead's adaptive API: grading runs the hooks, the result names the certificate and the plan."""
    from competency.services.resources import seed_resources
    from tests.app.conftest import answer_for, api_token

    seed_resources(lambda _m: None)
    db.session.commit()
    make_user("student", "li", display_name="李同学", target_role="J-BD-01")
    headers = {"Authorization": f"Bearer {api_token(client, 'li')}"}
    body = client.post(
        "/api/v1/attempts", json={"assessment_id": job_assessment.id}, headers=headers
    ).get_json()
    item, attempt_id = body["item"], body["id"]
    while True:
        payload = {"position": item["position"], "item_id": item["item_id"], "answer": answer_for(item)}
        step = client.post(
            f"/api/v1/attempts/{attempt_id}/responses", json=payload, headers=headers
        ).get_json()
        if step["finished"]:
            break
        item = step["item"]
    result = client.get(f"/api/v1/attempts/{attempt_id}/result", headers=headers).get_json()
    code = result["certificate_code"]
    verified = client.get(f"/api/v1/certificates/{code}").get_json()
    assert verified["status"] == "valid" and verified["holder"] == "李同学"
    assert verified["levels"]["overall"] == result["overall_level"]
    # Measured indicators below target are planned; unmeasured ones are judged by the role dimension's level.
    scale = ("J0", "J1", "J2", "J3")
    dimension = result["dimensions"][0]["level"]
    expected = {
        i["code"]
        for i in result["indicators"]
        if scale.index(i["level"] or dimension) < scale.index(i["target"])
    }
    assert {i["code"] for i in result["indicators"] if i["met"] is False} <= expected
    if result["plan_id"] is None:
        assert expected == set()
    else:
        plan = client.get(f"/api/v1/plans/{result['plan_id']}", headers=headers).get_json()
        assert {t["node"] for s in plan["stages"] for t in s["tasks"]} == expected
