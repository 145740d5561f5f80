"""The pilot programme's rules: the deadline freezes everything, applicants see only their own application
and never an expert's score, bad input is refused with the field named and nothing stored; the PDF
export, the dashboards and exports, aggregation."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from competency.extensions import db
from competency.models import PilotApplication, PilotAttachment, PilotCall, PilotReview, utcnow
from competency.services import pilot_applications, pilot_attachments, pilot_files, pilot_screening
from competency.services.pilot_reviews import trimmed_mean
from tests.app.conftest import csrf_from, login
from tests.app.pilot_factory import PDF_BYTES, complete_form, docx_bytes, make_call


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client


def _stored_files(app) -> list[Path]:
    folder = Path(app.config["INSTANCE_DIR"]) / "pilot_attachments"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def applicant(make_user):
    return make_user("institution_admin", "applicant")


@pytest.fixture
def started(app, applicant):
    """A call open now and the applicant's draft with the stamped scan attached."""
    call = make_call()
    application = pilot_applications.start(call, applicant)
    pilot_attachments.add_attachment(application, "stamped_scan", "scan.pdf", PDF_BYTES, applicant)
    return call, application


def _submit(app, application):
    client = _client(app, "applicant")
    edit = f"/pilots/applications/{application.id}/edit"
    token = csrf_from(client, edit)
    assert client.post(edit, data=complete_form(token, submit_application="1")).status_code == 302
    return client, token


def test_nothing_changes_after_the_deadline(app, started, applicant):
    call, application = started
    client, token = _submit(app, application)
    db.session.refresh(application)
    snapshot = (application.status, dict(application.form), len(application.attachments))
    call.closes_at = utcnow() - timedelta(seconds=1)  # the deadline has just passed
    db.session.commit()
    files_before = _stored_files(app)

    edit = f"/pilots/applications/{application.id}/edit"
    assert client.get(edit).status_code == 302  # the form is not even offered
    client.post(edit, data=complete_form(token, unit_name="改名", save="1"))
    assert (
        client.post(f"/pilots/applications/{application.id}/withdraw", data={"csrf_token": token}).status_code
        == 302
    )
    client.post(
        f"/pilots/applications/{application.id}/attachments",
        data={"csrf_token": token, "kind": "supporting", "file": (io.BytesIO(PDF_BYTES), "late.pdf")},
    )
    attachment = application.attachments[0]
    client.post(
        f"/pilots/applications/{application.id}/attachments/{attachment.id}/delete",
        data={"csrf_token": token},
    )
    db.session.refresh(application)
    assert (application.status, application.form, len(application.attachments)) == snapshot
    assert _stored_files(app) == files_before
    # A draft left unsubmitted cannot be submitted after the deadline either, nor a new one started.
    application.status = "draft"
    db.session.commit()
    with pytest.raises(pilot_applications.Conflict):
        pilot_applications.submit(application, applicant)
    page = client.get(f"/pilots/applications/{application.id}").get_data(as_text=True)
    assert "撤回以修改" not in page and "编辑申报" not in page


def test_applicant_never_sees_another_application_or_an_expert_score(
    app, started, make_user, other_institution
):
    call, application = started
    _submit(app, application)
    rival = make_user("institution_admin", "rival", inst=other_institution)
    rival_app = pilot_applications.start(call, rival)
    rival_client = _client(app, "rival")
    base = f"/pilots/applications/{application.id}"
    attachment = application.attachments[0]
    for url in (base, f"{base}/pdf", f"{base}/attachments/{attachment.id}", f"{base}/edit"):
        assert rival_client.get(url).status_code == 404, url
    token = csrf_from(rival_client, "/pilots/")
    assert rival_client.post(f"{base}/withdraw", data={"csrf_token": token}).status_code == 404
    listing = rival_client.get("/pilots/").get_data(as_text=True)
    assert (
        f"/pilots/applications/{application.id}" not in listing
        and f"/pilots/applications/{rival_app.id}" in listing
    )

    # Reviews done, with distinctive scores and comments: the applicant sees none of it.
    application.status, application.diagnosis_score = "reviewed", 70.0
    for n, total in enumerate((91.5, 47.5, 66.5), start=1):
        expert = make_user("expert", f"ex{n}", inst=None)
        db.session.add(
            PilotReview(
                application_id=application.id,
                expert_id=expert.id,
                submitted_at=utcnow(),
                total=total,
                scores={"plan": total / 5},
                comments={"plan": f"机密评语{n}"},
            )
        )
    application.expert_score, application.spread, application.final_score = 68.5, 44.0, 69.1
    db.session.commit()
    own = _client(app, "applicant")
    for url in (base, "/pilots/", "/messages"):
        page = own.get(url).get_data(as_text=True)
        for secret in ("91.5", "47.5", "66.5", "68.5", "69.1", "机密评语", "ex1", "ex2"):
            assert secret not in page, (url, secret)
    # An expert not assigned to the application cannot open it either.
    make_user("expert", "outsider", inst=None)
    assert _client(app, "outsider").get(base).status_code == 404


def test_attachment_checked_by_content_size_and_kind(app, started, applicant):
    _call, application = started
    client = _client(app, "applicant")
    upload = f"/pilots/applications/{application.id}/attachments"
    token = csrf_from(client, f"/pilots/applications/{application.id}/edit")
    before_rows = db.session.scalar(select(func.count()).select_from(PilotAttachment))
    before_files = _stored_files(app)
    app.config["PILOT_ATTACHMENT_MAX_BYTES"] = 2000
    cases = [
        ("supporting", b"MZ\x90\x00 an executable renamed", "报告.pdf", "既不是 PDF 也不是 Word"),
        ("stamped_scan", docx_bytes(), "盖章.pdf", "盖章申报表必须是 PDF 扫描件"),
        ("supporting", PDF_BYTES + b"0" * 3000, "大文件.pdf", "文件超过"),
        (
            "supporting",
            docx_bytes(extra_entries=pilot_files.MAX_ZIP_ENTRIES + 1),
            "炸弹.docx",
            "既不是 PDF 也不是 Word",
        ),
        ("supporting", b"PK\x03\x04 not really a zip", "坏.docx", "既不是 PDF 也不是 Word"),
        ("supporting", b"", "空.pdf", "文件为空"),
    ]
    app.config["PILOT_ATTACHMENT_MAX_BYTES"] = 10 * 1024 * 1024
    for kind, data, name, message in cases:
        if "大文件" in name:
            app.config["PILOT_ATTACHMENT_MAX_BYTES"] = 2000
        response = client.post(
            upload, data={"csrf_token": token, "kind": kind, "file": (io.BytesIO(data), name)}
        )
        app.config["PILOT_ATTACHMENT_MAX_BYTES"] = 10 * 1024 * 1024
        assert response.status_code == 303
        page = client.get(f"/pilots/applications/{application.id}/edit").get_data(as_text=True)
        assert "文件：" in page and message in page, (name, message)
    assert db.session.scalar(select(func.count()).select_from(PilotAttachment)) == before_rows
    assert _stored_files(app) == before_files


def test_zip_bomb_is_refused_from_its_directory(app):
    """A DOCX whose entries claim more than the uncompressed bound is refused without expanding it."""
    buf = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w/>")
        archive.writestr("word/big.bin", b"\0" * (pilot_files.MAX_ZIP_UNCOMPRESSED + 1))
    assert pilot_files.detect_type(buf.getvalue()) is None
    assert pilot_files.detect_type(docx_bytes()) == "docx"
    assert pilot_files.detect_type(PDF_BYTES) == "pdf"


def test_submit_names_every_missing_field_and_stores_nothing(app, applicant):
    call = make_call()
    application = pilot_applications.start(call, applicant)  # no attachment yet
    client = _client(app, "applicant")
    edit = f"/pilots/applications/{application.id}/edit"
    token = csrf_from(client, edit)
    data = complete_form(token, development_plan="", contact_phone="", submit_application="1")
    data.pop("projects-0-outcomes")
    response = client.post(edit, data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for label in ("发展定位与建设规划", "联系电话", "产教融合 / 校企合作项目", "盖章申报表（扫描件，PDF）"):
        assert label in page, label
    db.session.refresh(application)
    assert application.status == "draft" and application.form.get("contact_phone") in (None, "")
    bad_email = client.post(edit, data=complete_form(token, contact_email="not-an-address", save="1"))
    assert bad_email.status_code == 400 and "请输入有效的电子邮箱" in bad_email.get_data(as_text=True)
    db.session.refresh(application)
    assert application.form.get("contact_email") in (None, "")


def test_call_with_dates_out_of_order_is_refused(app, make_user):
    make_user("programme_officer", "off", inst=None)
    client = _client(app, "off")
    token = csrf_from(client, "/pilots/office/calls/new")
    base = {
        "csrf_token": token,
        "title": "错误批次",
        "eligible_types": ["enterprise"],
        "industries": ["AI"],
        "quota": "3",
        "weight_diagnosis": "40",
        "spread_threshold": "20",
        "rubric": "a | 方案 | 100",
        "required_fields": ["unit_name"],
    }
    cases = [
        ({"opens_at": "2027-05-01T09:00", "closes_at": "2027-04-01T09:00"}, "截止时间必须晚于开始时间"),
        (
            {"opens_at": "2027-04-01T09:00", "closes_at": "2027-05-01T09:00", "rubric": "a | 方案 | 90"},
            "合计须为 100",
        ),
        (
            {"opens_at": "2027-04-01T09:00", "closes_at": "2027-05-01T09:00", "weight_diagnosis": "140"},
            "诊断权重",
        ),
        ({"opens_at": "2027-04-01T09:00", "closes_at": "2027-05-01T09:00", "quota": "0"}, "名额须为"),
        (
            {"opens_at": "2027-04-01T09:00", "closes_at": "2027-05-01T09:00", "required_fields": []},
            "必须填写的字段",
        ),
    ]
    for changes, message in cases:
        response = client.post("/pilots/office/calls/new", data={**base, **changes})
        assert response.status_code == 400 and message in response.get_data(as_text=True), message
    assert db.session.scalar(select(func.count()).select_from(PilotCall)) == 0


def test_application_pdf_embeds_the_cjk_font(app, started, tmp_path):
    _call, application = started
    _submit(app, application)
    client = _client(app, "applicant")
    response = client.get(f"/pilots/applications/{application.id}/pdf")
    body = response.data
    assert response.status_code == 200 and body.startswith(b"%PDF")
    assert b"/FontFile2" in body and re.search(rb"/BaseFont /[A-Z]{6}\+DroidSansFallback", body)
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils not installed")
    path = tmp_path / "a.pdf"
    path.write_bytes(body)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ("试点单位申报表", "测试职业技术学院", "数智科技公司", "附件清单", "scan.pdf"):
        assert expected in text, expected


def test_dashboard_counts_and_exports(app, started, make_user):
    call, application = started
    _submit(app, application)
    make_user("programme_officer", "off", inst=None)
    client = _client(app, "off")
    page = client.get(f"/pilots/office/dashboard?call={call.id}").get_data(as_text=True)
    assert 'id="funnel"' in page and "<svg" in page and "广东" in page
    csv = client.get(f"/pilots/office/dashboard/export?format=csv&call={call.id}")
    assert csv.status_code == 200  # streamed by the view; the test client buffers it (IsolatedClient)
    lines = csv.data.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("application_id,call") and len(lines) == 2 and "submitted" in lines[1]
    xlsx = client.get(f"/pilots/office/dashboard/export?format=xlsx&call={call.id}")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.cell(2, 3).value == "测试职业技术学院"
    assert client.get("/pilots/office/dashboard/export?format=pdf").status_code == 400


def test_trimmed_mean_rule():
    assert trimmed_mean([80, 70, 90]) == 80
    assert trimmed_mean([10, 80, 82, 84, 100]) == 82  # highest and lowest dropped from five or more
    assert trimmed_mean([60, 70, 80, 90]) == 75


def test_load_imbalance_warning(app, make_user, institution, other_institution):
    from competency.services import pilot_reviews

    officer = make_user("programme_officer", "off", inst=None)
    experts = [make_user("expert", f"e{n}", inst=None) for n in range(5)]
    call = make_call()
    warnings = []
    for inst_no in range(3):
        inst = institution if inst_no == 0 else other_institution if inst_no == 1 else None
        if inst is None:
            from competency.models import Institution

            inst = Institution(name="第三所", type="enterprise", region="上海市", industries=[])
            db.session.add(inst)
            db.session.commit()
        application = PilotApplication(call_id=call.id, institution_id=inst.id, status="diagnosed", form={})
        db.session.add(application)
        db.session.commit()
        warnings.append(pilot_reviews.assign(application, [e.id for e in experts[:3]], officer))
    assert warnings[0] is None and warnings[-1] is not None and "3" in warnings[-1]


def test_returned_application_not_completed_in_time_may_be_rejected(app, started, make_user):
    _call, application = started
    officer = make_user("programme_officer", "off", inst=None)
    _submit(app, application)
    db.session.refresh(application)
    pilot_screening.screen(application, "return", {}, "补充材料", utcnow() + timedelta(days=1), officer)
    assert not pilot_screening.screenable(application)
    with pytest.raises(pilot_applications.Conflict):
        pilot_screening.screen(application, "reject", {}, "逾期", None, officer)
    application.fix_by = utcnow() - timedelta(seconds=1)  # the date passed without completion
    db.session.commit()
    assert not pilot_applications.editable(application)
    pilot_screening.screen(application, "reject", {}, "逾期未补充", None, officer)
    assert application.status == "rejected"
    assert [h["decision"] for h in application.screening["history"]] == ["return", "reject"]


@pytest.mark.postgres
def test_last_two_experts_submitting_at_once_aggregate_once(app, started, make_user):
    """Without the row lock each would see the other's review as pending and nobody would aggregate."""
    import threading

    from competency.models import User
    from competency.services import pilot_reviews

    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks need PostgreSQL (TEST_DATABASE_URL)")
    _call, application = started
    experts = [make_user("expert", f"c{n}", inst=None) for n in range(3)]
    application.status = "in_review"
    reviews = [PilotReview(application_id=application.id, expert_id=e.id) for e in experts]
    db.session.add_all(reviews)
    db.session.commit()
    points = {"plan": 15, "base": 20, "projects": 20, "guarantee": 10, "demonstration": 10}
    comments = dict.fromkeys(points, "意见")
    pilot_reviews.submit_review(reviews[0], points, comments, experts[0])
    ids = [(reviews[i].id, experts[i].id) for i in (1, 2)]
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def submit(review_id: int, expert_id: int) -> None:
        with app.app_context():
            try:
                review = db.session.get(PilotReview, review_id)
                expert = db.session.get(User, expert_id)
                assert review.application.call is not None  # loaded before the race
                barrier.wait()
                pilot_reviews.submit_review(review, points, comments, expert)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=pair) for pair in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    db.session.expire_all()
    application = db.session.get(PilotApplication, application.id)
    assert application.status == "reviewed" and application.expert_score == 75.0


def test_every_status_is_labelled_staged_and_allowed_by_the_schema():
    from competency.models import PilotApplication as Model
    from competency.services.pilot_applications import STAGE, STATUS_LABELS

    check = next(c for c in Model.__table__.constraints if str(c.name).endswith("status_valid"))
    allowed = set(re.findall(r"'([a-z_]+)'", str(check.sqltext)))
    assert allowed == set(STATUS_LABELS) == set(STAGE)


def test_the_ranking_opens_with_the_saved_selection_else_the_top_up_to_the_quota():
    from types import SimpleNamespace

    from competency.services.pilot_selection import Ranked, preselected

    ranked = [Ranked(SimpleNamespace(id=i, status="reviewed"), i, 90.0 - i, True) for i in (1, 2, 3)]
    assert preselected(ranked, 2) == {1, 2}
    ranked[2].application.status = "selected"
    assert preselected(ranked, 2) == {3}
