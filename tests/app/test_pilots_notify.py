"""Notifications: the message centre, the development outbox the admin reads, and the pluggable sender."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from competency.extensions import db
from competency.models import Message, OutboxMail
from competency.services import notify, pilot_applications, pilot_attachments, pilot_screening
from competency.services.errors import ServiceError
from tests.app.conftest import csrf_from, login
from tests.app.pilot_factory import PDF_BYTES, make_call

SENT: list[tuple[str, str]] = []


class RecordingSender:
    def deliver(self, to: str, subject: str, body: str) -> None:
        SENT.append((to, subject))


recorder = RecordingSender()


@pytest.fixture
def submitted(app, make_user):
    applicant = make_user("institution_admin", "applicant")
    call = make_call()
    application = pilot_applications.start(call, applicant)
    pilot_attachments.add_attachment(application, "stamped_scan", "scan.pdf", PDF_BYTES, applicant)
    form = {
        "unit_name": "测试职业技术学院",
        "unit_address": "地址",
        "legal_representative": "张",
        "institution_type": "higher_vocational",
        "industries": ["AI"],
        "development_plan": "规划",
        "base_site": "场地",
        "base_equipment": "设备",
        "base_textbooks": "教材",
        "base_videos": "视频",
        "base_courses": "课程",
        "projects": [{"partner": "甲", "period": "乙", "outcomes": "丙"}],
        "guarantee_management": "体制",
        "guarantee_operation": "机制",
        "contact_name": "李",
        "contact_phone": "1",
        "contact_email": "li@example.edu.cn",
    }
    pilot_applications.submit(application, applicant, form)
    return applicant, application


def test_rejection_reaches_the_applicant_in_the_message_centre_and_the_outbox(app, submitted, make_user):
    applicant, application = submitted
    officer = make_user("programme_officer", "off", inst=None)
    with pytest.raises(ServiceError) as refused:
        pilot_screening.screen(application, "reject", {}, "", None, officer)
    assert refused.value.field == "reasons"
    pilot_screening.screen(application, "reject", {}, "申报领域不符", None, officer)
    assert application.status == "rejected"
    assert not pilot_applications.editable(application)
    message = db.session.scalar(
        select(Message).where(Message.user_id == applicant.id).order_by(Message.id.desc())
    )
    assert "未通过初筛" in message.subject and "申报领域不符" in message.body
    mail = db.session.scalar(select(OutboxMail).order_by(OutboxMail.id.desc()))
    assert mail.to_address == "li@example.edu.cn" and "申报领域不符" in mail.body

    client = app.test_client()
    login(client, "applicant")
    assert "申报领域不符" in client.get("/messages").get_data(as_text=True)
    token = csrf_from(client, "/messages")
    response = client.post(f"/messages/{message.id}/read", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/pilots/applications/{application.id}"
    )
    db.session.refresh(message)
    assert message.read_at is not None
    # Someone else's message is not theirs to open.
    make_user("institution_admin", "nosy")
    other = app.test_client()
    login(other, "nosy")
    assert (
        other.post(
            f"/messages/{message.id}/read", data={"csrf_token": csrf_from(other, "/messages")}
        ).status_code
        == 404
    )

    make_user("platform_admin", "root")
    admin = app.test_client()
    login(admin, "root")
    assert "li@example.edu.cn" in admin.get("/admin/outbox").get_data(as_text=True)


def test_a_configured_sender_replaces_the_outbox(app, submitted):
    _applicant, application = submitted
    app.config["MAIL_SENDER"] = "tests.app.test_pilots_notify:recorder"
    SENT.clear()
    try:
        pilot_applications.withdraw(application, _applicant)
    finally:
        app.config["MAIL_SENDER"] = "outbox"
    assert SENT and SENT[0][0] == "li@example.edu.cn"


def test_smtp_mail_leaves_only_after_commit(app, monkeypatch):
    delivered = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            self.host = host

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, mail):
            delivered.append(mail["To"])

    monkeypatch.setattr(notify.smtplib, "SMTP", FakeSMTP)
    app.config["MAIL_SENDER"] = "smtp"
    try:
        notify.notify([], "主题", "正文", emails=["a@example.com"])
        db.session.rollback()
        assert delivered == []
        notify.notify([], "主题", "正文", emails=["b@example.com"])
        db.session.commit()
    finally:
        app.config["MAIL_SENDER"] = "outbox"
    assert delivered == ["b@example.com"]
